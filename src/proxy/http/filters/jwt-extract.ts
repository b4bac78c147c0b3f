// proxy/http/filters: jwt_authn token extraction as Envoy's Extractor does it (every location of one provider, or of
// all providers merged), plus the small token / claim helpers the filter needs. Pure string work, no crypto.
import type { JwtLocation, JwtProviderConfig } from '../../config/authz-types.ts';
import { safeDecode } from '../../router/match.ts';
import { joinedHeader } from '../header-edits.ts';

// ---- extraction (Envoy's Extractor): every token in every configured location, with the issuers allowed there

/** The issuers of the providers that configured a location (Envoy: a token from another issuer is "unknown issuer"). */
export class Issuers {
  private any = false;
  private readonly set = new Set<string>();
  add(issuer: string): void { if (issuer) this.set.add(issuer); else this.any = true; }
  allows(iss: unknown): boolean { return this.any || (typeof iss === 'string' && this.set.has(iss)); }
}

export interface Found { token: string; loc: JwtLocation; issuers: Issuers }

/** JWT characters (base64url + '.'), as Envoy reads a token out of a header value after its prefix. */
function isJwtChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46;
}

/**
 * The token after `at`: leading non-token characters skipped, up to the first non-token character. When no token
 * character follows, the rest of the value as is (Envoy; it then fails as malformed).
 */
function tokenAt(v: string, at: number): string {
  let s = at;
  while (s < v.length && !isJwtChar(v.charCodeAt(s))) s++;
  if (s === v.length) return v.slice(at);
  let e = s;
  while (e < v.length && isJwtChar(v.charCodeAt(e))) e++;
  return v.slice(s, e);
}

/**
 * One provider's locations, or all providers' merged (allow_missing / allow_missing_or_failed). Envoy reads every
 * location: repeated headers joined with ',', the value prefix searched anywhere in the value. Stricter than Envoy
 * (so a second, unverified token can never ride along to the app): every occurrence of the prefix, every value of
 * a repeated query parameter and every matching cookie is a token that must verify. The prefix is matched ignoring
 * case (lower-casing keeps latin1 indices; were one to shift, the cut token fails verification).
 */
export class Extractor {
  private readonly headers = new Map<string, { name: string; prefix: string; lowerPrefix: string; issuers: Issuers }>();
  private readonly params = new Map<string, Issuers>();
  private readonly cookies = new Map<string, Issuers>();
  /** Headers the providers write (forward_payload_header, claim_to_headers): a client's own copies are removed first. */
  readonly sanitize: string[] = [];

  constructor(providers: readonly JwtProviderConfig[]) {
    for (const p of providers) {
      for (const loc of p.locations) {
        if (loc.kind === 'header') {
          const key = `${loc.name}\n${loc.prefix}`;
          let e = this.headers.get(key);
          if (!e) this.headers.set(key, e = { name: loc.name, prefix: loc.prefix, lowerPrefix: loc.prefix.toLowerCase(), issuers: new Issuers() });
          e.issuers.add(p.issuer);
        } else {
          const m = loc.kind === 'param' ? this.params : this.cookies;
          let e = m.get(loc.name);
          if (!e) m.set(loc.name, e = new Issuers());
          e.add(p.issuer);
        }
      }
      if (p.forwardPayloadHeader) this.sanitize.push(p.forwardPayloadHeader);
      for (const c of p.claimToHeaders) this.sanitize.push(c.header);
    }
  }

  /** `headers`: the flat [name, value, ...] lower-cased request headers; `path` with its query. */
  extract(req: { path: string; headers: readonly string[] }): Found[] {
    const out: Found[] = [];
    const h = req.headers;
    for (const e of this.headers.values()) {
      const v = joinedHeader(h, e.name);
      if (v === undefined) continue;
      const loc: JwtLocation = { kind: 'header', name: e.name, prefix: e.prefix };
      if (!e.prefix) { out.push({ token: v.trim(), loc, issuers: e.issuers }); continue; }
      // Case-insensitively, every occurrence: "Bearer good, bearer forged" must not forward the second unverified.
      const hay = v.toLowerCase();
      let at = hay.indexOf(e.lowerPrefix);
      while (at >= 0) {
        out.push({ token: tokenAt(v, at + e.prefix.length), loc, issuers: e.issuers });
        at = hay.indexOf(e.lowerPrefix, at + e.prefix.length);
      }
    }
    if (this.params.size) {
      const q = req.path.indexOf('?');
      if (q >= 0) {
        for (const part of req.path.slice(q + 1).split('&')) {
          const eq = part.indexOf('=');
          const issuers = this.params.get(safeDecode(eq < 0 ? part : part.slice(0, eq)));
          if (issuers) out.push({ token: eq < 0 ? '' : safeDecode(part.slice(eq + 1)), loc: PARAM, issuers });
        }
      }
    }
    if (this.cookies.size) {
      for (let i = 0; i < h.length; i += 2) {
        if (h[i] !== 'cookie') continue;
        for (const c of h[i + 1].split(';')) {
          const eq = c.indexOf('=');
          if (eq <= 0) continue;
          const name = c.slice(0, eq).trim();
          const issuers = this.cookies.get(name);
          if (issuers) out.push({ token: c.slice(eq + 1).trim(), loc: { kind: 'cookie', name }, issuers });
        }
      }
    }
    return out;
  }
}

const PARAM: JwtLocation = { kind: 'param', name: '' };

/** The `iss` claim of a token before verification (undefined: none); null when it is not a JWT at all (Envoy parses first). */
export function peekIssuer(token: string): string | undefined | null {
  const a = token.indexOf('.');
  const b = token.indexOf('.', a + 1);
  if (a < 0 || b < 0 || token.indexOf('.', b + 1) >= 0) return null;
  try {
    const p = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString('utf8')) as { iss?: unknown } | null;
    if (p === null || typeof p !== 'object') return null;
    return typeof p.iss === 'string' ? p.iss : undefined;
  } catch { return null; }
}

/** A header value Envoy's header map would refuse: CR, LF or NUL (header injection / request smuggling upstream). */
export function unsafeHeaderValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return true;
  }
  return false;
}

/** Envoy's claim_to_headers rendering: strings as is, integers without a fraction, lists and objects as base64 JSON. */
export function claimValue(val: unknown): string | undefined {
  if (typeof val === 'string') return val;
  if (typeof val === 'boolean') return val ? 'true' : 'false';
  if (typeof val === 'number') return Number.isInteger(val) && val >= 0 ? String(val) : val.toFixed(6);
  if (val !== null && typeof val === 'object') return Buffer.from(JSON.stringify(val)).toString('base64');
  return undefined;
}
