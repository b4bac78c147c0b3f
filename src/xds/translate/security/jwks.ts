// xds/translate/security: the JWKS a jwtRule verifies with — inline `jwks` as written, a fetched jwksUri from the
// snapshot, or (fetch failed, pending or impossible) a JWKS whose key nobody holds, so every token fails
// verification: fail closed, as Istio does. Pure: fetching is jwks-resolver.ts's job, outside translation.
import type { JWTRule } from '../../../config/types/security.ts';
import type { PushSnapshot } from '../../../model/types.ts';

/**
 * An RSA public key generated once for Rigging whose private half was discarded: no token can verify against
 * it. (Not a secret; not Istio's key.)
 */
export const FAKE_JWKS = JSON.stringify({
  keys: [{
    kty: 'RSA', kid: 'rigging-unverifiable', alg: 'RS256', e: 'AQAB',
    n: 'vRveHQnt1lf9fizVRxAROy49EdjVvy1z6gv9MhStpJRr1aZkdlbhfmBRkN_G0P8gz2XjnPURLUoUkhfq16DXZl-IC2XtxuFGUsvwKXtVp_S-CSxJ-fvVSN4IwQ8Y2uvOKhRSBo0nB_BMOKF1sq1wdjrO29KtcDKZZZ6uOlJsySldMh-1cfRXR0tiu4Q4va_HzRdANbfPk4huRdnvGfFqPTnBcaKR9O_h4U4CCjRRAD8owm9SLg_TXZXf-d9JqTF56zVcOYTIG4h6dk_GofPFO9ZjCHxCBd2brGwwpvLs5Hu8R-gn6H3SmPvw_GdZeg8J1U83_ZcEOYgmp6l7EViDJQ',
  }],
});

/** A JWKS document must be a JSON object with a `keys` array; returns why not, or undefined. */
export function jwksProblem(text: string): string | undefined {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { return `not JSON: ${e instanceof Error ? e.message : String(e)}`; }
  if (!v || typeof v !== 'object' || !Array.isArray((v as { keys?: unknown }).keys)) return 'not a JWKS (no "keys" array)';
  return undefined;
}

/** The URI to fetch for a rule: jwksUri (or its older spelling), else undefined. */
function jwksUriOf(rule: JWTRule): string | undefined {
  const u = typeof rule.jwksUri === 'string' && rule.jwksUri ? rule.jwksUri : typeof rule.jwks_uri === 'string' && rule.jwks_uri ? rule.jwks_uri : undefined;
  return u;
}

/**
 * Where the JWKS of a rule without inline jwks comes from: its jwksUri, else (Istio's behaviour) the issuer's
 * OpenID discovery document, keyed "oidc:<issuer>" so the resolver knows to read jwks_uri from it first.
 */
export function jwksSourceOf(rule: JWTRule): string | undefined {
  if (typeof rule.jwks === 'string' && rule.jwks) return undefined;
  const uri = jwksUriOf(rule);
  if (uri) return uri;
  return typeof rule.issuer === 'string' && rule.issuer ? `oidc:${rule.issuer}` : undefined;
}

export interface JwksChoice { jwks: string; source: 'inline' | 'fetched' | 'unavailable'; uri?: string; error?: string }

export function jwksFor(s: Pick<PushSnapshot, 'jwks'>, rule: JWTRule): JwksChoice {
  if (typeof rule.jwks === 'string' && rule.jwks) {
    // a proxy rejects the whole listener over a JWKS it cannot parse: fail closed for this issuer only
    const problem = jwksProblem(rule.jwks);
    return problem ? { jwks: FAKE_JWKS, source: 'unavailable', error: `inline jwks: ${problem}` } : { jwks: rule.jwks, source: 'inline' };
  }
  const uri = jwksSourceOf(rule);
  if (!uri) return { jwks: FAKE_JWKS, source: 'unavailable', error: 'the rule has neither jwks, jwksUri nor issuer' };
  const r = s.jwks?.get(uri);
  if (r?.jwks) return { jwks: r.jwks, source: 'fetched', uri };
  return { jwks: FAKE_JWKS, source: 'unavailable', uri, error: r?.error ?? 'not fetched yet' };
}
