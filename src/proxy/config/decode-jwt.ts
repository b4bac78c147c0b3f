// proxy/config: decodes Envoy's jwt_authn filter config (providers with inline JWKS, rules, requirements); every
// field we do not implement is rejected at its path (an ignored requirement would let unauthenticated traffic in).
import { type Ctx, type Obj, arr, durationMs, headerMatchers, isObj, num, obj, queryParamMatchers, regexSource, str, stringMatch } from './decode-common.ts';
import type { JwtAuthnConfig, JwtLocation, JwtProviderConfig, JwtRequirement, JwtRuleConfig } from './authz-types.ts';
import type { PathMatch, RouteMatch } from './types.ts';

/** Envoy's defaults when a provider names no location: `Authorization: Bearer <token>`, then `?access_token=`. */
export const DEFAULT_JWT_LOCATIONS: readonly JwtLocation[] = [
  { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
  { kind: 'param', name: 'access_token' },
];

function provider(name: string, v: Obj, ctx: Ctx, field: string): JwtProviderConfig {
  if (v.remote_jwks !== undefined) ctx.err(`${field}.remote_jwks`, 'remote_jwks is not supported: the control plane must inline the JWKS (local_jwks)');
  let jwks = '';
  const lj = obj(v.local_jwks);
  if (lj) {
    if (typeof lj.inline_string === 'string') jwks = lj.inline_string;
    else if (typeof lj.inline_bytes === 'string') jwks = Buffer.from(lj.inline_bytes, 'base64').toString('utf8');
    else ctx.err(`${field}.local_jwks`, 'only inline_string / inline_bytes JWKS are supported');
    if (jwks) {
      let parsed: unknown;
      try { parsed = JSON.parse(jwks); } catch (e) { ctx.err(`${field}.local_jwks`, `JWKS is not JSON: ${(e as Error).message}`); }
      if (parsed !== undefined && !Array.isArray(obj(parsed)?.keys)) ctx.err(`${field}.local_jwks`, 'JWKS has no "keys" array');
    }
  } else if (v.remote_jwks === undefined) ctx.err(`${field}`, 'provider needs local_jwks');
  const locations: JwtLocation[] = [];
  arr(v.from_headers).forEach((h, i) => {
    const n = (str(obj(h)?.name) ?? '').toLowerCase();
    if (!n) ctx.err(`${field}.from_headers[${i}].name`, 'must not be empty');
    else locations.push({ kind: 'header', name: n, prefix: str(obj(h)?.value_prefix) ?? '' });
  });
  arr(v.from_params).forEach((p, i) => {
    if (typeof p !== 'string' || !p) ctx.err(`${field}.from_params[${i}]`, 'must be a non-empty string');
    else locations.push({ kind: 'param', name: p });
  });
  arr(v.from_cookies).forEach((c, i) => {
    if (typeof c !== 'string' || !c) ctx.err(`${field}.from_cookies[${i}]`, 'must be a non-empty string');
    else locations.push({ kind: 'cookie', name: c });
  });
  const claimToHeaders: JwtProviderConfig['claimToHeaders'] = [];
  arr(v.claim_to_headers).forEach((c, i) => {
    const header = (str(obj(c)?.header_name) ?? '').toLowerCase();
    const claim = str(obj(c)?.claim_name) ?? '';
    if (!header || !claim) ctx.err(`${field}.claim_to_headers[${i}]`, 'needs header_name and claim_name');
    else claimToHeaders.push({ header, claim });
  });
  const out: JwtProviderConfig = {
    name,
    issuer: str(v.issuer) ?? '',
    audiences: arr(v.audiences).map(String),
    requireExpiration: v.require_expiration === true,
    maxLifetimeMs: durationMs(v.max_lifetime),
    jwks,
    locations: locations.length ? locations : DEFAULT_JWT_LOCATIONS.map((l) => ({ ...l })),
    forward: v.forward === true,
    forwardPayloadHeader: str(v.forward_payload_header) ? str(v.forward_payload_header)!.toLowerCase() : undefined,
    padForwardPayloadHeader: v.pad_forward_payload_header === true,
    payloadInMetadata: str(v.payload_in_metadata) || undefined,
    headerInMetadata: str(v.header_in_metadata) || undefined,
    failedStatusInMetadata: str(v.failed_status_in_metadata) || undefined,
    clockSkewSeconds: num(v.clock_skew_seconds) ?? 60,
    claimToHeaders,
    spaceDelimitedClaims: arr(obj(v.normalize_payload_in_metadata)?.space_delimited_claims).map(String),
  };
  if (v.subjects !== undefined) out.subjects = stringMatch(v.subjects, ctx, `${field}.subjects`);
  return out;
}

function jwtRequirement(v: unknown, providers: Record<string, unknown>, ctx: Ctx, field: string): JwtRequirement | undefined {
  const o = obj(v);
  if (!o) { ctx.err(field, 'requirement must be an object'); return undefined; }
  const need = (n: string, f: string): void => { if (!(n in providers)) ctx.err(f, `unknown provider ${JSON.stringify(n)}`); };
  if (typeof o.provider_name === 'string') { need(o.provider_name, `${field}.provider_name`); return { kind: 'provider', provider: o.provider_name }; }
  if (isObj(o.provider_and_audiences)) {
    const n = str(o.provider_and_audiences.provider_name) ?? '';
    need(n, `${field}.provider_and_audiences.provider_name`);
    return { kind: 'provider', provider: n, audiences: arr(o.provider_and_audiences.audiences).map(String) };
  }
  for (const [k, kind] of [['requires_any', 'any'], ['requires_all', 'all']] as const) {
    if (!isObj(o[k])) continue;
    const list = arr((o[k] as Obj).requirements);
    if (list.length < 2) ctx.err(`${field}.${k}.requirements`, 'needs at least 2 requirements');
    const requirements = list.map((r, i) => jwtRequirement(r, providers, ctx, `${field}.${k}.requirements[${i}]`)).filter((r): r is JwtRequirement => !!r);
    return { kind, requirements };
  }
  if (o.allow_missing_or_failed !== undefined) return { kind: 'allow_missing_or_failed' };
  if (o.allow_missing !== undefined) return { kind: 'allow_missing' };
  ctx.err(field, 'requirement sets nothing (provider_name, provider_and_audiences, requires_any, requires_all, allow_missing, allow_missing_or_failed)');
  return undefined;
}

/** The subset of route.v3.RouteMatch a jwt_authn rule needs. */
function ruleMatch(v: unknown, ctx: Ctx, field: string): RouteMatch {
  const o = obj(v) ?? {};
  let path: PathMatch = { kind: 'prefix', value: '' };
  if (typeof o.prefix === 'string') path = { kind: 'prefix', value: o.prefix };
  else if (typeof o.path === 'string') path = { kind: 'path', value: o.path };
  else if (typeof o.path_separated_prefix === 'string') path = { kind: 'pathSeparatedPrefix', value: o.path_separated_prefix };
  else if (isObj(o.safe_regex)) {
    const re = regexSource(str(o.safe_regex.regex) ?? '', ctx, `${field}.safe_regex.regex`);
    if (re) path = { kind: 'regex', regex: re.source };
  } else ctx.err(field, 'rule match needs prefix, path, path_separated_prefix or safe_regex');
  for (const k of ['connect_matcher', 'path_match_policy', 'runtime_fraction', 'grpc', 'tls_context', 'dynamic_metadata', 'filter_state']) {
    if (o[k] !== undefined && !(Array.isArray(o[k]) && (o[k] as unknown[]).length === 0)) ctx.err(`${field}.${k}`, `${k} is not supported in jwt_authn rules`);
  }
  const cs = obj(o.case_sensitive);
  return {
    path,
    caseSensitive: cs ? cs.value === true : true,
    headers: headerMatchers(o.headers, ctx, `${field}.headers`),
    queryParams: queryParamMatchers(o.query_parameters, ctx, `${field}.query_parameters`),
    grpc: false,
  };
}

/** envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication. */
export function decodeJwtAuthn(v: Obj, ctx: Ctx, field: string): JwtAuthnConfig {
  if (v.filter_state_rules !== undefined) ctx.err(`${field}.filter_state_rules`, 'filter_state_rules are not supported');
  const rawProviders = obj(v.providers) ?? {};
  const providers: Record<string, JwtProviderConfig> = {};
  for (const [name, p] of Object.entries(rawProviders)) providers[name] = provider(name, obj(p) ?? {}, ctx, `${field}.providers[${JSON.stringify(name)}]`);
  const reqMap = obj(v.requirement_map) ?? {};
  const rules: JwtRuleConfig[] = arr(v.rules).map((r, i) => {
    const f = `${field}.rules[${i}]`;
    const ro = obj(r) ?? {};
    const rule: JwtRuleConfig = { match: ruleMatch(ro.match, ctx, `${f}.match`) };
    if (ro.requires !== undefined) rule.requires = jwtRequirement(ro.requires, rawProviders, ctx, `${f}.requires`);
    else if (typeof ro.requirement_name === 'string') {
      if (!(ro.requirement_name in reqMap)) ctx.err(`${f}.requirement_name`, `unknown requirement ${JSON.stringify(ro.requirement_name)}`);
      else rule.requires = jwtRequirement(reqMap[ro.requirement_name], rawProviders, ctx, `${field}.requirement_map[${JSON.stringify(ro.requirement_name)}]`);
    }
    return rule;
  });
  return { providers, rules, bypassCorsPreflight: v.bypass_cors_preflight === true, stripFailureResponse: v.strip_failure_response === true };
}
