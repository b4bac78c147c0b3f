// xds/translate/security: the RequestAuthentications applying to a proxy -> one envoy.filters.http.jwt_authn
// filter. Each jwtRule is a provider "origins-<i>"; one route rule for "/" accepts any provider or no token at
// all (allow_missing), so a request without a token passes on (AuthorizationPolicy decides) while a token that
// fails verification is refused with 401. A verified payload lands in dynamic metadata
// "envoy.filters.http.jwt_authn" key "payload", where RBAC's requestPrincipals / request.auth.* matchers read it.
import type { JWTRule } from '../../../config/types/security.ts';
import type { PushSnapshot } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { JWT_FILTER, JWT_PAYLOAD_KEY } from './matchers.ts';
import { jwksFor } from './jwks.ts';
import type { RequestAuthn } from './select.ts';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

function jwtRulesOf(policies: readonly RequestAuthn[]): JWTRule[] {
  return policies.flatMap((p) => (Array.isArray(p.spec.jwtRules) ? p.spec.jwtRules : []).filter((r) => r && typeof r === 'object'));
}

function jwtProvider(s: PushSnapshot, rule: JWTRule): EnvoyResource {
  const p: EnvoyResource = {};
  if (typeof rule.issuer === 'string' && rule.issuer) p.issuer = rule.issuer;
  const aud = strings(rule.audiences);
  if (aud.length) p.audiences = aud;
  p.local_jwks = { inline_string: jwksFor(s, rule).jwks };
  const headers = (Array.isArray(rule.fromHeaders) ? rule.fromHeaders : []).filter((h) => h && typeof h.name === 'string' && h.name);
  const params = strings(rule.fromParams);
  const cookies = strings(rule.fromCookies);
  if (headers.length || params.length || cookies.length) {
    if (headers.length) p.from_headers = headers.map((h) => (h.prefix ? { name: h.name, value_prefix: h.prefix } : { name: h.name }));
    if (params.length) p.from_params = params;
    if (cookies.length) p.from_cookies = cookies;
  } else {
    // Envoy's documented default locations, written out so every proxy reads the same
    p.from_headers = [{ name: 'Authorization', value_prefix: 'Bearer ' }];
    p.from_params = ['access_token'];
  }
  if (rule.forwardOriginalToken === true) p.forward = true;
  if (typeof rule.outputPayloadToHeader === 'string' && rule.outputPayloadToHeader) p.forward_payload_header = rule.outputPayloadToHeader;
  p.payload_in_metadata = JWT_PAYLOAD_KEY;
  const claims = (Array.isArray(rule.outputClaimToHeaders) ? rule.outputClaimToHeaders : [])
    .filter((c) => c && typeof c.header === 'string' && c.header && typeof c.claim === 'string' && c.claim);
  if (claims.length) p.claim_to_headers = claims.map((c) => ({ header_name: c.header, claim_name: c.claim }));
  const spaced = strings(rule.spaceDelimitedClaims);
  if (spaced.length) p.normalize_payload_in_metadata = { space_delimited_claims: spaced };
  return p;
}

/** The jwt_authn filter for these policies; undefined when they carry no jwtRules. */
export function jwtAuthnFilter(s: PushSnapshot, policies: readonly RequestAuthn[]): EnvoyResource | undefined {
  const rules = jwtRulesOf(policies);
  if (!rules.length) return undefined;
  const providers: Record<string, EnvoyResource> = {};
  rules.forEach((r, i) => { providers[`origins-${i}`] = jwtProvider(s, r); });
  const requirements = [...Object.keys(providers).map((provider_name) => ({ provider_name })), { allow_missing: {} }];
  return {
    name: JWT_FILTER,
    typed_config: {
      '@type': TypeUrl.JwtAuthn,
      providers,
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements } } }],
      // CORS preflights carry no token and must not be refused (Istio sets this too)
      bypass_cors_preflight: true,
    },
  };
}
