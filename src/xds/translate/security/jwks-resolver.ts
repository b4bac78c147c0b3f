// xds/translate/security (serving side, not called by translation): fetches the JWKS behind RequestAuthentication
// jwksUri values (or an issuer's OpenID discovery document when a rule names neither jwks nor jwksUri), with a
// timeout, a cache and a periodic refresh, and hands translation a plain map (PushSnapshot.jwks). Translation
// stays pure: a URI not fetched yet or failing is inlined as an unverifiable JWKS (fail closed, as Istio does);
// when a result arrives or changes, onChange asks the control plane to rebuild and push. Failures are logged
// naming the URI and the policies using it.
import type { Clock, TimerHandle } from '../../../common/clock.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { ConfigObject } from '../../../config/types.ts';
import type { RequestAuthenticationSpec } from '../../../config/types/security.ts';
import type { JwksResult } from '../../../model/types.ts';
import { jwksProblem, jwksSourceOf } from './jwks.ts';

export { jwksProblem } from './jwks.ts';

/** GET `uri` and return the body; reject on a non-2xx answer, a network error or after `timeoutMs`. */
export type JwksFetch = (uri: string, timeoutMs: number) => Promise<string>;

export interface JwksResolverOptions {
  clock: Clock;
  fetch?: JwksFetch;
  /** Per-request timeout (ms); default 5000. */
  timeoutMs?: number;
  /** How often a fetched JWKS is fetched again (ms); default 20 min (keys rotate). */
  refreshMs?: number;
  /** How soon a failed fetch is retried (ms); default 60 s. */
  retryMs?: number;
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** A result appeared or changed: rebuild the snapshot so proxies get it. */
  onChange?: () => void;
}

const OIDC = 'oidc:';

/** The jwks sources referenced by RequestAuthentications, with the "namespace/name" of each policy using them. */
export function jwksSources(objects: readonly ConfigObject[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of objects) {
    if (o?.kind !== 'RequestAuthentication' || !o.spec || typeof o.spec !== 'object') continue;
    const rules = (o.spec as RequestAuthenticationSpec).jwtRules;
    for (const r of Array.isArray(rules) ? rules : []) {
      const src = r && typeof r === 'object' ? jwksSourceOf(r) : undefined;
      if (!src) continue;
      const names = out.get(src) ?? [];
      const n = `${o.metadata.namespace}/${o.metadata.name}`;
      if (!names.includes(n)) names.push(n);
      out.set(src, names);
    }
  }
  return out;
}

/** Largest JWKS document accepted from a jwksUri (a key set is a few KB). */
export const MAX_JWKS_BYTES = 256 * 1024;

/** Node's fetch with an abort after timeoutMs (real time: the network is real). */
export const httpJwksFetch: JwksFetch = async (uri, timeoutMs) => {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(uri, { signal: ac.signal, headers: { accept: 'application/json' } });
    if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
    // the JWKS is inlined into every selected proxy's listeners: refuse an oversized answer instead of pushing it
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_JWKS_BYTES) throw new Error(`JWKS of ${declared} bytes is over the ${MAX_JWKS_BYTES}-byte limit`);
    // a streamed (undeclared) body is counted as it arrives: an endless answer stops at the limit, not in memory
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const c of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      size += c.byteLength;
      if (size > MAX_JWKS_BYTES) { ac.abort(new Error(`JWKS over the ${MAX_JWKS_BYTES}-byte limit`)); break; }
      chunks.push(c);
    }
    if (size > MAX_JWKS_BYTES) throw ac.signal.reason;
    return new TextDecoder().decode(Buffer.concat(chunks)); // as res.text() decodes (UTF-8, BOM dropped)
  } catch (e) {
    throw ac.signal.aborted ? ac.signal.reason : e;
  } finally {
    clearTimeout(t);
  }
};

interface Entry { result?: JwksResult; inflight?: Promise<void>; timer?: TimerHandle; policies: string[] }

export class JwksResolver {
  private readonly o: Required<Omit<JwksResolverOptions, 'logger' | 'onChange'>> & Pick<JwksResolverOptions, 'logger' | 'onChange'>;
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(o: JwksResolverOptions) {
    this.o = { fetch: httpJwksFetch, timeoutMs: 5000, refreshMs: 20 * 60_000, retryMs: 60_000, ...o };
  }

  /**
   * The results for every source the objects reference (fetched or failed; pending ones absent), starting
   * fetches for new sources. Sources no longer referenced are forgotten (and their refresh stopped).
   */
  resolve(objects: readonly ConfigObject[]): ReadonlyMap<string, JwksResult> {
    const sources = jwksSources(objects);
    for (const [uri, e] of this.entries) {
      if (!sources.has(uri)) { this.o.clock.clearTimeout(e.timer); this.entries.delete(uri); }
    }
    const out = new Map<string, JwksResult>();
    for (const [uri, policies] of sources) {
      let e = this.entries.get(uri);
      if (!e) {
        e = { policies };
        this.entries.set(uri, e);
        this.start(uri, e);
      }
      e.policies = policies;
      if (e.result) out.set(uri, e.result);
    }
    return out;
  }

  /** Every source in use with its state, for the debug API: the policies using it and the last error, if any. */
  status(): { uri: string; policies: string[]; state: 'fetched' | 'failed' | 'pending'; error?: string }[] {
    return [...this.entries].map(([uri, e]) => ({
      uri, policies: e.policies,
      state: e.result?.jwks ? 'fetched' as const : e.result?.error ? 'failed' as const : 'pending' as const,
      ...(e.result?.error ? { error: e.result.error } : {}),
    }));
  }

  /** Resolves once no fetch is in flight (tests). */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const busy = [...this.entries.values()].map((e) => e.inflight).filter(Boolean);
      if (!busy.length) return;
      await Promise.all(busy);
    }
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) this.o.clock.clearTimeout(e.timer);
    this.entries.clear();
  }

  private start(uri: string, e: Entry): void {
    if (e.inflight || this.closed) return;
    e.inflight = this.fetchJwks(uri).then(
      (jwks) => ({ jwks }),
      (err: unknown) => ({ error: errorMessage(err) }),
    ).then((r: JwksResult) => {
      e.inflight = undefined;
      if (this.closed || this.entries.get(uri) !== e) return;
      const prev = e.result;
      // a refresh that fails keeps serving the keys we had (a blip at the issuer must not lock everyone out)
      const next = r.error && prev?.jwks ? prev : r;
      if (r.error) this.o.logger?.warn({ uri, policies: e.policies, err: r.error }, `JWKS fetch failed for ${e.policies.join(', ')} (${uri}): ${r.error}${prev?.jwks ? '; keeping the keys fetched before' : '; tokens of this issuer fail verification until it succeeds'}`);
      else if (prev?.error || !prev) this.o.logger?.info({ uri, policies: e.policies }, `JWKS fetched from ${uri}`);
      e.result = next;
      e.timer = this.o.clock.setTimeout(() => { e.timer = undefined; this.start(uri, e); }, r.error ? this.o.retryMs : this.o.refreshMs);
      if (prev?.jwks !== next.jwks || prev?.error !== next.error) this.o.onChange?.();
    });
  }

  private async fetchJwks(src: string): Promise<string> {
    let uri = src;
    if (src.startsWith(OIDC)) {
      // OpenID discovery: <issuer>/.well-known/openid-configuration names the jwks_uri
      const issuer = src.slice(OIDC.length).replace(/\/+$/, '');
      const doc = await this.o.fetch(`${issuer}/.well-known/openid-configuration`, this.o.timeoutMs);
      let parsed: unknown;
      try { parsed = JSON.parse(doc); } catch { throw new Error(`${issuer}: OpenID discovery document is not JSON`); }
      const j = (parsed as { jwks_uri?: unknown })?.jwks_uri;
      if (typeof j !== 'string' || !j) throw new Error(`${issuer}: OpenID discovery document has no jwks_uri`);
      uri = j;
    }
    const body = await this.o.fetch(uri, this.o.timeoutMs);
    const problem = jwksProblem(body);
    if (problem) throw new Error(`${uri}: ${problem}`);
    return body;
  }
}
