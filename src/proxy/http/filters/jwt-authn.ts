// proxy/http/filters: Envoy's jwt_authn filter — find every token (headers / query / cookies), verify each with the
// provider's inline JWKS (jose), check issuer / audiences / subjects / lifetime on the injected wall clock, evaluate
// the matching rule's requirement tree (every extracted token must verify), and on success write the payload to
// dynamic metadata and edit headers.
// Verified tokens are cached per provider by token string until they expire (the hot path then stays synchronous).
import type { JWTPayload } from 'jose';
import type { JwtAuthnConfig, JwtLocation, JwtProviderConfig, JwtRequirement } from '../../config/authz-types.ts';
import type { RouteMatch } from '../../config/types.ts';
import { removeHeader } from '../header-edits.ts';
import { Extractor, claimValue, peekIssuer, unsafeHeaderValue, type Found } from './jwt-extract.ts';
import { compileHeaderMatcher, compilePathMatch, compileQueryMatcher, compileStringMatch, parseQuery } from '../../router/match.ts';

type Jose = typeof import('jose');

/**
 * Where a filter gets jose: loaded (dynamic import) when the first filter with a JWKS is built, not at start: most
 * proxies never see a jwt_authn filter (+2.2 MB RSS, ~30 ms). `get` is the module once loaded; `load` starts or joins
 * the load. Tests pass their own to hold or fail it.
 */
export interface JoseSource { get(): Jose | undefined; load(): Promise<Jose> }

let joseModule: Jose | undefined;
let joseLoading: Promise<Jose> | undefined;
const processJose: JoseSource = {
  get: () => joseModule,
  load: () => (joseLoading ??= import('jose').then((m) => (joseModule = m))),
};

export const JWT_METADATA_NAMESPACE = 'envoy.filters.http.jwt_authn';
const CACHE_LIMIT = 1000;

/** Envoy's status messages (the 401 body and the response code details). */
export const JwtStatus = {
  missing: 'Jwt is missing',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  badIssuer: 'Jwt issuer is not configured',
  badAudience: 'Audiences in Jwt are not allowed',
  badSubject: 'Jwt subject is not allowed',
  noExp: 'Jwt has no exp claim',
  lifetime: 'Jwt lifetime exceeds the allowed maximum',
  badForm: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  noKey: "Jwks doesn't have key to match kid or alg from Jwt",
  badJwks: 'Jwks is invalid',
  failed: 'Jwt verification fails',
} as const;

export interface JwtRequest {
  method: string;
  /** Path with query. */
  path: string;
  authority: string;
  scheme: string;
  /** Flat [name, value, ...] lower-cased request headers; edited in place (forward, claim_to_headers). */
  headers: string[];
  get(name: string): string | undefined;
}

export type JwtOutcome =
  | { ok: true; metadata?: Record<string, unknown> }
  | { ok: false; status: 401 | 403; message: string; body: string; missing: boolean; headers: string[]; metadata?: Record<string, unknown> };

interface Verified { payload: JWTPayload; header: Record<string, unknown>; expMs?: number; payloadSegment: string }

class Provider {
  private keys: ReturnType<Jose['createLocalJWKSet']> | undefined;
  private badJwks = false;
  private readonly cache = new Map<string, Verified | string>();
  private readonly subjects?: (s: string) => boolean;
  constructor(readonly cfg: JwtProviderConfig, private readonly jose: JoseSource) {
    if (cfg.subjects) this.subjects = compileStringMatch(cfg.subjects);
  }

  /** The cached outcome for a token (a verified one still needs the time check). */
  cached(token: string): Verified | string | undefined {
    return this.cache.get(token);
  }

  /** Signature (and exp / nbf) via jose; synchronous when the token is cached. */
  verify(token: string, nowMs: number): Verified | string | Promise<Verified | string> {
    const hit = this.cache.get(token);
    if (hit !== undefined) return typeof hit === 'string' ? hit : this.timeCheck(hit, nowMs) ?? hit;
    if (token.split('.').length !== 3) return JwtStatus.badForm;
    // A token arriving while jose loads waits for it (never passes unverified); jose failing to load fails closed.
    const j = this.jose.get();
    return j ? this.signature(j, token, nowMs) : this.jose.load().then((m) => this.signature(m, token, nowMs), () => JwtStatus.failed);
  }

  private signature(j: Jose, token: string, nowMs: number): string | Promise<Verified | string> {
    if (!this.keys && !this.badJwks) {
      try { this.keys = j.createLocalJWKSet(JSON.parse(this.cfg.jwks)); } catch { this.badJwks = true; }
    }
    if (this.badJwks || !this.keys) return JwtStatus.badJwks;
    return j.jwtVerify(token, this.keys, { currentDate: new Date(nowMs), clockTolerance: this.cfg.clockSkewSeconds }).then(
      (r) => {
        const v: Verified = { payload: r.payload, header: r.protectedHeader as Record<string, unknown>, expMs: typeof r.payload.exp === 'number' ? r.payload.exp * 1000 : undefined, payloadSegment: token.split('.')[1] };
        this.remember(token, v);
        return v;
      },
      (e: { code?: string; claim?: string }) => {
        const msg = e.code === 'ERR_JWT_EXPIRED' ? JwtStatus.expired
          : e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'nbf' ? JwtStatus.notYetValid
          : e.code === 'ERR_JWKS_NO_MATCHING_KEY' ? JwtStatus.noKey
          : e.code === 'ERR_JWS_INVALID' || e.code === 'ERR_JWT_INVALID' ? JwtStatus.badForm
          : JwtStatus.failed;
        // Time-dependent failures may change; the rest are properties of the token and these keys.
        if (msg !== JwtStatus.notYetValid) this.remember(token, msg);
        return msg;
      },
    );
  }

  private remember(token: string, v: Verified | string): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, v);
  }

  private timeCheck(v: Verified, nowMs: number): string | undefined {
    const skew = this.cfg.clockSkewSeconds * 1000;
    if (v.expMs !== undefined && nowMs > v.expMs + skew) return JwtStatus.expired;
    const nbf = v.payload.nbf;
    if (typeof nbf === 'number' && nowMs + skew < nbf * 1000) return JwtStatus.notYetValid;
    return undefined;
  }

  /** Claim checks Envoy makes after the signature: issuer, audiences (provider's or the requirement's), subject, lifetime. */
  claims(v: Verified, audiences: readonly string[], nowMs: number): string | undefined {
    const c = this.cfg;
    const p = v.payload;
    if (c.issuer && p.iss !== c.issuer) return JwtStatus.badIssuer;
    if (audiences.length) {
      const aud = Array.isArray(p.aud) ? p.aud : typeof p.aud === 'string' ? [p.aud] : [];
      if (!aud.some((a) => audiences.includes(a) || audiences.includes(stripScheme(a)))) return JwtStatus.badAudience;
    }
    if (this.subjects && !(typeof p.sub === 'string' && this.subjects(p.sub))) return JwtStatus.badSubject;
    if (c.requireExpiration && typeof p.exp !== 'number') return JwtStatus.noExp;
    if (c.maxLifetimeMs !== undefined && typeof p.exp === 'number') {
      const start = typeof p.iat === 'number' ? p.iat * 1000 : typeof p.nbf === 'number' ? p.nbf * 1000 : nowMs;
      if (p.exp * 1000 - start > c.maxLifetimeMs) return JwtStatus.lifetime;
    }
    return undefined;
  }
}

/** Envoy accepts an audience with or without its http(s):// scheme and trailing slash. */
function stripScheme(a: string): string {
  return a.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

function compileRuleMatch(m: RouteMatch): (req: JwtRequest, query: () => Map<string, string>) => boolean {
  // The same path test as the router's (Envoy's jwt_authn rules are route matches).
  const pathTest = compilePathMatch(m);
  const headers = m.headers.map((h) => compileHeaderMatcher(h));
  const qs = m.queryParams.map(compileQueryMatcher);
  return (req, query) => {
    const q = req.path.indexOf('?');
    const path = q < 0 ? req.path : req.path.slice(0, q);
    if (pathTest(path, req.path) < 0) return false;
    for (const h of headers) if (!h(req)) return false;
    if (qs.length) { const params = query(); for (const t of qs) if (!t(params)) return false; }
    return true;
  };
}


/** A rule's requirement compiled into Envoy's verifier tree. */
type Node =
  | { kind: 'provider'; p: Provider; audiences?: readonly string[]; ex: Extractor }
  | { kind: 'any'; children: Node[]; allowMissing: boolean; allowFailed: boolean }
  | { kind: 'all'; children: Node[] }
  | { kind: 'allow_missing' | 'allow_missing_or_failed'; ex: Extractor };

/** A token that verified, with the provider that verified it and where it was found (for the header edits). */
interface Ok { p: Provider; v: Verified; loc: JwtLocation }
interface Eval { err?: string; ok: Ok[] }

/** One request's extraction and verification results (each extractor runs once, each (provider, token) verifies once). */
interface RunState {
  req: JwtRequest;
  nowMs: number;
  extracted: Map<Extractor, Found[]>;
  results: Map<Provider, Map<string, Verified | string>>;
  pending: Promise<void>[];
}

/** A compiled jwt_authn filter; one per decoded config object. */
export class JwtAuthnFilter {
  private readonly providers = new Map<string, Provider>();
  private readonly extractors = new Map<string, Extractor>();
  private allExtractor: Extractor | undefined;
  private readonly rules: Array<{ test: ReturnType<typeof compileRuleMatch>; node?: Node; sanitize: string[] }>;
  constructor(readonly name: string, private readonly cfg: JwtAuthnConfig, jose: JoseSource = processJose) {
    for (const [n, p] of Object.entries(cfg.providers)) this.providers.set(n, new Provider(p, jose));
    // Load jose with the config that needs it, so the first token does not wait for it (a failure shows per request).
    if (!jose.get() && Object.values(cfg.providers).some((p) => p.jwks)) jose.load().catch(() => { /* answered per request */ });
    this.rules = cfg.rules.map((r) => {
      const node = r.requires ? this.compile(r.requires) : undefined;
      const sanitize = new Set<string>();
      if (node) this.extractorsOf(node, (ex) => { for (const h of ex.sanitize) sanitize.add(h); });
      return { test: compileRuleMatch(r.match), node, sanitize: [...sanitize] };
    });
  }

  private compile(r: JwtRequirement): Node | undefined {
    switch (r.kind) {
      case 'provider': {
        const p = this.providers.get(r.provider);
        if (!p) return undefined; // the decoder NACKs unknown providers
        let ex = this.extractors.get(r.provider);
        if (!ex) this.extractors.set(r.provider, ex = new Extractor([p.cfg]));
        return { kind: 'provider', p, audiences: r.audiences, ex };
      }
      case 'any': {
        const children: Node[] = [];
        let allowMissing = false;
        let allowFailed = false;
        for (const c of r.requirements) {
          if (c.kind === 'allow_missing') allowMissing = true;
          else if (c.kind === 'allow_missing_or_failed') allowFailed = true;
          else { const n = this.compile(c); if (n) children.push(n); }
        }
        // Envoy: allow_missing* inside requires_any are flags on the group, unless they are all it holds.
        if (!children.length && (allowMissing || allowFailed)) return { kind: allowFailed ? 'allow_missing_or_failed' : 'allow_missing', ex: this.all() };
        return { kind: 'any', children, allowMissing, allowFailed };
      }
      case 'all':
        return { kind: 'all', children: r.requirements.map((c) => this.compile(c)).filter((n): n is Node => !!n) };
      case 'allow_missing':
      case 'allow_missing_or_failed':
        return { kind: r.kind, ex: this.all() };
    }
  }

  private all(): Extractor {
    return this.allExtractor ??= new Extractor([...this.providers.values()].map((p) => p.cfg));
  }

  private extractorsOf(n: Node, f: (ex: Extractor) => void): void {
    if (n.kind === 'any' || n.kind === 'all') for (const c of n.children) this.extractorsOf(c, f);
    else f(n.ex);
  }

  /** allow_missing*: the provider for a token is the first whose issuer is the token's, else the first without an issuer. */
  private byIssuer(iss: string | undefined): Provider | undefined {
    let fallback: Provider | undefined;
    for (const p of this.providers.values()) {
      if (p.cfg.issuer && p.cfg.issuer === iss) return p;
      if (!p.cfg.issuer) fallback ??= p;
    }
    return fallback;
  }

  /** Synchronous when every token found is already cached; otherwise a promise. `nowMs`: wall clock (epoch ms). */
  run(req: JwtRequest, nowMs: number): JwtOutcome | Promise<JwtOutcome> {
    if (this.cfg.bypassCorsPreflight && req.method === 'OPTIONS' && req.get('origin') !== undefined && req.get('access-control-request-method') !== undefined) return { ok: true };
    let params: Map<string, string> | undefined;
    const query = (): Map<string, string> => {
      if (!params) { const q = req.path.indexOf('?'); params = parseQuery(q < 0 ? '' : req.path.slice(q + 1)); }
      return params;
    };
    const rule = this.rules.find((r) => r.test(req, query));
    if (!rule || !rule.node) return { ok: true };
    // Headers this filter writes are never taken from the client (Envoy sanitizes them before extracting).
    for (const h of rule.sanitize) removeHeader(req.headers, h);
    const st: RunState = { req, nowMs, extracted: new Map(), results: new Map(), pending: [] };
    this.collect(rule.node, st);
    const node = rule.node;
    const finish = (): JwtOutcome => this.decide(req, this.evaluate(node, st));
    return st.pending.length ? Promise.all(st.pending).then(finish) : finish();
  }

  private found(ex: Extractor, st: RunState): Found[] {
    let f = st.extracted.get(ex);
    if (!f) st.extracted.set(ex, f = ex.extract(st.req));
    return f;
  }

  /**
   * What Envoy checks before the signature: the token parses, and its issuer configured this location (a token of
   * another provider is "unknown issuer" here, not a bad signature). Returns the error, or undefined: verify it.
   */
  private precheck(p: Provider | undefined, f: Found): string | undefined {
    if (!p) return JwtStatus.badIssuer;
    const hit = p.cached(f.token);
    const iss = hit !== undefined && typeof hit !== 'string' ? hit.payload.iss : peekIssuer(f.token);
    if (iss === null) return JwtStatus.badForm;
    return f.issuers.allows(iss) ? undefined : JwtStatus.badIssuer;
  }

  private standaloneProvider(f: Found): Provider | undefined {
    const iss = peekIssuer(f.token);
    return this.byIssuer(typeof iss === 'string' ? iss : undefined);
  }

  /** Start every verification the tree may need (all of them: the decision is then synchronous). */
  private collect(n: Node, st: RunState): void {
    if (n.kind === 'any' || n.kind === 'all') { for (const c of n.children) this.collect(c, st); return; }
    for (const f of this.found(n.ex, st)) {
      const p = n.kind === 'provider' ? n.p : this.standaloneProvider(f);
      if (p && this.precheck(p, f) === undefined) this.verify(p, f.token, st);
    }
  }

  private verify(p: Provider, token: string, st: RunState): void {
    let m = st.results.get(p);
    if (!m) st.results.set(p, m = new Map());
    if (m.has(token)) return;
    const r = p.verify(token, st.nowMs);
    if (r instanceof Promise) { m.set(token, JwtStatus.failed); st.pending.push(r.then((x) => { m.set(token, x); })); }
    else m.set(token, r);
  }

  /** One token against one provider: the precheck, the signature / lifetime result, then the claims. */
  private check(p: Provider | undefined, f: Found, audiences: readonly string[] | undefined, st: RunState): string | Ok {
    const pre = this.precheck(p, f);
    if (pre !== undefined || !p) return pre ?? JwtStatus.badIssuer;
    const res = st.results.get(p)?.get(f.token) ?? JwtStatus.failed;
    if (typeof res === 'string') return res;
    return p.claims(res, audiences ?? p.cfg.audiences, st.nowMs) ?? { p, v: res, loc: f.loc };
  }

  /** Envoy's verifier tree. Every token a verifier extracts must verify (a valid token cannot carry a forged one along). */
  private evaluate(n: Node, st: RunState): Eval {
    switch (n.kind) {
      case 'provider': {
        const found = this.found(n.ex, st);
        if (!found.length) return { err: JwtStatus.missing, ok: [] };
        const ok: Ok[] = [];
        for (const f of found) {
          const r = this.check(n.p, f, n.audiences, st);
          if (typeof r === 'string') return { err: r, ok: [] };
          ok.push(r);
        }
        return { ok };
      }
      case 'any': {
        // The first child that passes wins; otherwise the most telling error (not "missing", not "unknown issuer").
        let final: string = JwtStatus.missing;
        for (const c of n.children) {
          const r = this.evaluate(c, st);
          if (r.err === undefined) return r;
          if ((r.err !== JwtStatus.missing && r.err !== JwtStatus.badIssuer) || final === JwtStatus.missing) final = r.err;
        }
        if (n.allowFailed || (n.allowMissing && final === JwtStatus.missing)) return { ok: [] };
        return { err: final, ok: [] };
      }
      case 'all': {
        const ok: Ok[] = [];
        for (const c of n.children) {
          const r = this.evaluate(c, st);
          if (r.err !== undefined) return r;
          ok.push(...r.ok);
        }
        return { ok };
      }
      case 'allow_missing':
      case 'allow_missing_or_failed': {
        // allow_missing: no token passes, a present token must verify (Envoy's documented semantics); _or_failed: always passes.
        const ok: Ok[] = [];
        for (const f of this.found(n.ex, st)) {
          const r = this.check(this.standaloneProvider(f), f, undefined, st);
          if (typeof r !== 'string') ok.push(r);
          else if (n.kind === 'allow_missing') return { err: r, ok: [] };
        }
        return { ok };
      }
    }
  }

  private decide(req: JwtRequest, r: Eval): JwtOutcome {
    const error = r.err;
    const meta: Record<string, unknown> = {};
    if (error === undefined) for (const o of r.ok) this.onVerified(req, o.p, o.v, o.loc, meta);
    if (error === undefined) return { ok: true, metadata: Object.keys(meta).length ? meta : undefined };
    for (const p of this.providers.values()) if (p.cfg.failedStatusInMetadata) meta[p.cfg.failedStatusInMetadata] = { code: 16, message: error };
    const missing = error === JwtStatus.missing;
    const realm = `Bearer realm="${req.scheme || 'http'}://${req.authority}${req.path.split('?')[0]}"`;
    return {
      ok: false, status: error === JwtStatus.badAudience ? 403 : 401, missing,
      message: error, body: this.cfg.stripFailureResponse ? '' : error,
      headers: this.cfg.stripFailureResponse ? [] : ['www-authenticate', missing ? realm : `${realm}, error="invalid_token"`],
      metadata: Object.keys(meta).length ? meta : undefined,
    };
  }

  private onVerified(req: JwtRequest, p: Provider, v: Verified, loc: JwtLocation, meta: Record<string, unknown>): void {
    const c = p.cfg;
    if (c.payloadInMetadata) {
      let payload: Record<string, unknown> = v.payload as Record<string, unknown>;
      if (c.spaceDelimitedClaims.length) {
        payload = { ...payload };
        for (const k of c.spaceDelimitedClaims) if (typeof payload[k] === 'string') payload[k] = (payload[k] as string).split(' ').filter(Boolean);
      }
      meta[c.payloadInMetadata] = payload;
    }
    if (c.headerInMetadata) meta[c.headerInMetadata] = v.header;
    const h = req.headers;
    if (!c.forward && loc.kind === 'header') removeHeader(h, loc.name);
    if (c.forwardPayloadHeader) {
      let seg = v.payloadSegment;
      if (c.padForwardPayloadHeader) while (seg.length % 4) seg += '=';
      if (!unsafeHeaderValue(seg)) setOne(h, c.forwardPayloadHeader, seg);
    }
    // A claim is attacker-influenced text (a user-editable profile field ends up signed): a value holding CR, LF or
    // NUL is skipped, as Envoy's header map refuses it, so it can never split the request forwarded upstream.
    for (const { header, claim } of c.claimToHeaders) {
      let val: unknown = v.payload;
      for (const k of claim.split('.')) val = val !== null && typeof val === 'object' && !Array.isArray(val) ? (val as Record<string, unknown>)[k] : undefined;
      const s = claimValue(val);
      if (s !== undefined && s !== '' && !unsafeHeaderValue(s)) setOne(h, header, s);
    }
  }
}

function setOne(h: string[], name: string, value: string): void {
  removeHeader(h, name);
  h.push(name, value);
}
