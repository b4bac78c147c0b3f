// proxy/http/filters: Envoy's jwt_authn filter — find tokens (headers / query / cookies), verify them with the
// provider's inline JWKS (jose), check issuer / audiences / subjects / lifetime on the injected wall clock, evaluate
// the matching rule's requirement, and on success write the payload to dynamic metadata and edit headers.
// Verified tokens are cached per provider by token string until they expire (the hot path then stays synchronous).
import type { JWTPayload } from 'jose';
import type { JwtAuthnConfig, JwtLocation, JwtProviderConfig, JwtRequirement } from '../../config/authz-types.ts';
import type { RouteMatch } from '../../config/types.ts';
import { compileHeaderMatcher, compileQueryMatcher, compileStringMatch, fullMatchRegex, parseQuery } from '../../router/match.ts';

/** jose is loaded on the first token to verify: most proxies never see a jwt_authn filter (~10 MB RSS, ~30 ms). */
let jose: typeof import('jose') | undefined;
let joseLoading: Promise<typeof import('jose')> | undefined;
function loadJose(): Promise<typeof import('jose')> {
  joseLoading ??= import('jose').then((m) => (jose = m));
  return joseLoading;
}

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
type Result = { token: string; v?: Verified; error?: string };

class Provider {
  private keys: ReturnType<typeof import('jose').createLocalJWKSet> | undefined;
  private badJwks = false;
  private readonly cache = new Map<string, Verified | string>();
  private readonly subjects?: (s: string) => boolean;
  constructor(readonly cfg: JwtProviderConfig) {
    if (cfg.subjects) this.subjects = compileStringMatch(cfg.subjects);
  }

  /** The first token in this provider's locations, with where it was found. */
  extract(req: JwtRequest, query: () => Map<string, string>): { token: string; loc: JwtLocation } | undefined {
    for (const loc of this.cfg.locations) {
      let t: string | undefined;
      if (loc.kind === 'header') {
        const v = req.get(loc.name);
        if (v === undefined) continue;
        if (!loc.prefix) t = v.trim();
        else if (v.startsWith(loc.prefix) || v.toLowerCase().startsWith(loc.prefix.toLowerCase())) t = v.slice(loc.prefix.length).trim();
      } else if (loc.kind === 'param') t = query().get(loc.name);
      else t = cookie(req.get('cookie'), loc.name);
      if (t) return { token: t, loc };
    }
    return undefined;
  }

  /** Signature (and exp / nbf) via jose; synchronous when the token is cached. */
  verify(token: string, nowMs: number): Verified | string | Promise<Verified | string> {
    const hit = this.cache.get(token);
    if (hit !== undefined) return typeof hit === 'string' ? hit : this.timeCheck(hit, nowMs) ?? hit;
    if (token.split('.').length !== 3) return JwtStatus.badForm;
    const j = jose;
    if (!j) return loadJose().then(() => this.verify(token, nowMs));
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

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function compileRuleMatch(m: RouteMatch): (req: JwtRequest, query: () => Map<string, string>) => boolean {
  const cs = m.caseSensitive;
  const norm = (s: string): string => (cs ? s : s.toLowerCase());
  const p = m.path;
  let pathTest: (path: string) => boolean;
  switch (p.kind) {
    case 'prefix': { const v = norm(p.value); pathTest = (x) => norm(x).startsWith(v); break; }
    case 'path': { const v = norm(p.value); pathTest = (x) => norm(x) === v; break; }
    case 'pathSeparatedPrefix': {
      const v = norm(p.value);
      pathTest = (x) => { const n = norm(x); return n === v || (n.startsWith(v) && n[v.length] === '/'); };
      break;
    }
    case 'regex': { const re = fullMatchRegex(p.regex); pathTest = (x) => re.test(x); break; }
  }
  const headers = m.headers.map((h) => compileHeaderMatcher(h));
  const qs = m.queryParams.map(compileQueryMatcher);
  return (req, query) => {
    const q = req.path.indexOf('?');
    const path = q < 0 ? req.path : req.path.slice(0, q);
    if (!pathTest(path)) return false;
    for (const h of headers) if (!h(req)) return false;
    if (qs.length) { const params = query(); for (const t of qs) if (!t(params)) return false; }
    return true;
  };
}

function providersOf(r: JwtRequirement, out: Set<string>): Set<string> {
  if (r.kind === 'provider') out.add(r.provider);
  else if (r.kind === 'any' || r.kind === 'all') for (const c of r.requirements) providersOf(c, out);
  return out;
}

function needsAll(r: JwtRequirement): boolean {
  if (r.kind === 'allow_missing' || r.kind === 'allow_missing_or_failed') return true;
  return (r.kind === 'any' || r.kind === 'all') && r.requirements.some(needsAll);
}

/** A compiled jwt_authn filter; one per decoded config object. */
export class JwtAuthnFilter {
  private readonly providers = new Map<string, Provider>();
  private readonly rules: Array<{ test: ReturnType<typeof compileRuleMatch>; requires?: JwtRequirement; providers: string[] }>;
  constructor(readonly name: string, private readonly cfg: JwtAuthnConfig) {
    for (const [n, p] of Object.entries(cfg.providers)) this.providers.set(n, new Provider(p));
    const all = [...this.providers.keys()];
    this.rules = cfg.rules.map((r) => ({
      test: compileRuleMatch(r.match), requires: r.requires,
      // allow_missing* look at every provider's locations (a token anywhere is "not missing").
      providers: r.requires ? (needsAll(r.requires) ? all : [...providersOf(r.requires, new Set())]) : [],
    }));
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
    if (!rule || !rule.requires) return { ok: true };
    const found = new Map<string, { token: string; loc: JwtLocation }>();
    for (const n of rule.providers) {
      const t = this.providers.get(n)?.extract(req, query);
      if (t) found.set(n, t);
    }
    const results = new Map<string, Verified | string>();
    const pending: Promise<void>[] = [];
    for (const [n, t] of found) {
      const r = this.providers.get(n)!.verify(t.token, nowMs);
      if (r instanceof Promise) pending.push(r.then((x) => { results.set(n, x); }));
      else results.set(n, r);
    }
    const finish = (): JwtOutcome => this.decide(req, rule.requires!, found, results, nowMs);
    return pending.length ? Promise.all(pending).then(finish) : finish();
  }

  private decide(req: JwtRequest, requires: JwtRequirement, found: Map<string, { token: string; loc: JwtLocation }>, results: Map<string, Verified | string>, nowMs: number): JwtOutcome {
    const okProviders = new Set<string>();
    const evalReq = (r: JwtRequirement): string | undefined => {
      switch (r.kind) {
        case 'provider': {
          const res = results.get(r.provider);
          if (res === undefined) return JwtStatus.missing;
          if (typeof res === 'string') return res;
          const p = this.providers.get(r.provider)!;
          const err = p.claims(res, r.audiences ?? p.cfg.audiences, nowMs);
          if (!err) okProviders.add(r.provider);
          return err;
        }
        case 'any': {
          let worst: string | undefined;
          for (const c of r.requirements) {
            const e = evalReq(c);
            if (e === undefined) return undefined;
            if (worst === undefined || worst === JwtStatus.missing) worst = e;
          }
          return worst;
        }
        case 'all': {
          for (const c of r.requirements) { const e = evalReq(c); if (e !== undefined) return e; }
          return undefined;
        }
        case 'allow_missing':
          // Passes only when no token was presented at all; a present token must verify through a provider.
          return found.size === 0 ? undefined : JwtStatus.missing;
        case 'allow_missing_or_failed':
          for (const n of found.keys()) evalReq({ kind: 'provider', provider: n });
          return undefined;
      }
    };
    const error = evalReq(requires);
    const meta: Record<string, unknown> = {};
    for (const n of okProviders) this.onVerified(req, this.providers.get(n)!, results.get(n) as Verified, found.get(n)!.loc, meta);
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
    if (!c.forward && loc.kind === 'header') removeAll(h, loc.name);
    if (c.forwardPayloadHeader) {
      let seg = v.payloadSegment;
      if (c.padForwardPayloadHeader) while (seg.length % 4) seg += '=';
      setOne(h, c.forwardPayloadHeader, seg);
    }
    for (const { header, claim } of c.claimToHeaders) {
      let val: unknown = v.payload;
      for (const k of claim.split('.')) val = val !== null && typeof val === 'object' ? (val as Record<string, unknown>)[k] : undefined;
      if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') setOne(h, header, String(val));
      else if (Array.isArray(val)) setOne(h, header, val.map(String).join(','));
    }
  }
}

function removeAll(h: string[], name: string): void {
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i] === name) h.splice(i, 2);
}
function setOne(h: string[], name: string, value: string): void {
  removeAll(h, name);
  h.push(name, value);
}
