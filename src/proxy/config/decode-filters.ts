// proxy/config: decoders for HTTP filter configs (fault, CORS, local rate limit, RBAC, jwt_authn, ext_authz) and typed_per_filter_config overrides.
import { Ctx, type Obj, anyType, anyUnresolved, arr, durationMs, fraction, headSafe, headerMatchers, isObj, num, obj, runtimeFraction, str, stringMatch, wrappedBool, wrappedNum } from './decode-common.ts';
import { decodeHttpRbac } from './decode-rbac.ts';
import { decodeJwtAuthn } from './decode-jwt.ts';
import { decodeExtAuthz } from './decode-ext-authz.ts';
import type { CorsPolicyConfig, FaultConfig, HttpFilterConfig, LocalRateLimitConfig, PerFilterConfig, StringMatch } from './types.ts';

const T = 'type.googleapis.com/';
export const FilterTypes = {
  router: `${T}envoy.extensions.filters.http.router.v3.Router`,
  fault: `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  cors: `${T}envoy.extensions.filters.http.cors.v3.Cors`,
  corsPolicy: `${T}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
  routeCorsPolicy: `${T}envoy.config.route.v3.CorsPolicy`,
  rbac: `${T}envoy.extensions.filters.http.rbac.v3.RBAC`,
  rbacPerRoute: `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`,
  jwt: `${T}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
  jwtPerRoute: `${T}envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig`,
  localRateLimit: `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  filterConfig: `${T}envoy.config.route.v3.FilterConfig`,
  extAuthz: `${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
  extAuthzPerRoute: `${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute`,
} as const;

/** Well-known names Envoy accepts when a filter has no typed_config (legacy form). */
const NAME_TO_TYPE: Record<string, string> = {
  'envoy.filters.http.router': FilterTypes.router,
  'envoy.router': FilterTypes.router,
  'envoy.filters.http.fault': FilterTypes.fault,
  'envoy.fault': FilterTypes.fault,
  'envoy.filters.http.cors': FilterTypes.cors,
  'envoy.cors': FilterTypes.cors,
};

const HUNDRED = { numerator: 100, denominator: 100 } as const;

export function decodeFault(v: Obj, ctx: Ctx, field: string): FaultConfig {
  const out: FaultConfig = { headers: headerMatchers(v.headers, ctx, `${field}.headers`), downstreamNodes: arr(v.downstream_nodes).map(String) };
  const d = obj(v.delay);
  if (d) {
    const headerControlled = isObj(d.header_delay);
    const fixed = durationMs(d.fixed_delay);
    if (!headerControlled && fixed === undefined) ctx.err(`${field}.delay`, 'delay needs fixed_delay or header_delay');
    out.delay = { fixedDelayMs: fixed ?? 0, percentage: fraction(d.percentage, ctx, `${field}.delay.percentage`) ?? { ...HUNDRED }, headerControlled };
  }
  const a = obj(v.abort);
  if (a) {
    const headerControlled = isObj(a.header_abort);
    const httpStatus = num(a.http_status);
    const grpcStatus = num(a.grpc_status);
    if (!headerControlled && httpStatus === undefined && grpcStatus === undefined) ctx.err(`${field}.abort`, 'abort needs http_status, grpc_status or header_abort');
    if (httpStatus !== undefined && (httpStatus < 200 || httpStatus >= 600)) ctx.err(`${field}.abort.http_status`, `must be in [200, 600), got ${httpStatus}`);
    out.abort = { httpStatus, grpcStatus, percentage: fraction(a.percentage, ctx, `${field}.abort.percentage`) ?? { ...HUNDRED }, headerControlled };
  }
  if (v.upstream_cluster) out.upstreamCluster = str(v.upstream_cluster);
  const maf = wrappedNum(v.max_active_faults);
  if (maf !== undefined) out.maxActiveFaults = maf;
  return out;
}

/** CorsPolicy of the cors filter (extensions) or of route.v3 (deprecated form); same field names. */
export function decodeCorsPolicy(v: Obj, ctx: Ctx, field: string): CorsPolicyConfig {
  const allowOrigins: StringMatch[] = [];
  arr(v.allow_origin_string_match).forEach((m, i) => {
    const sm = stringMatch(m, ctx, `${field}.allow_origin_string_match[${i}]`);
    if (sm) allowOrigins.push(sm);
  });
  for (const k of ['allow_methods', 'allow_headers', 'expose_headers', 'max_age'] as const) headSafe(str(v[k]), ctx, `${field}.${k}`);
  return {
    allowOrigins,
    allowMethods: str(v.allow_methods),
    allowHeaders: str(v.allow_headers),
    exposeHeaders: str(v.expose_headers),
    maxAge: str(v.max_age),
    allowCredentials: wrappedBool(v.allow_credentials),
    allowPrivateNetworkAccess: wrappedBool(v.allow_private_network_access),
    filterEnabled: runtimeFraction(v.filter_enabled, ctx, `${field}.filter_enabled`) ?? { ...HUNDRED },
    shadowEnabled: runtimeFraction(v.shadow_enabled, ctx, `${field}.shadow_enabled`),
    forwardNotMatchingPreflights: wrappedBool(v.forward_not_matching_preflights) ?? true,
  };
}

export function decodeLocalRateLimit(v: Obj, ctx: Ctx, field: string): LocalRateLimitConfig {
  const out: LocalRateLimitConfig = { statPrefix: str(v.stat_prefix) ?? '' };
  if (!out.statPrefix) ctx.err(`${field}.stat_prefix`, 'must not be empty');
  const tb = obj(v.token_bucket);
  if (tb) {
    const fill = durationMs(tb.fill_interval) ?? 0;
    if (fill <= 0) ctx.err(`${field}.token_bucket.fill_interval`, 'must be > 0');
    out.tokenBucket = { maxTokens: num(tb.max_tokens) ?? 0, tokensPerFill: wrappedNum(tb.tokens_per_fill) ?? 1, fillIntervalMs: fill };
  }
  out.filterEnabled = runtimeFraction(v.filter_enabled, ctx, `${field}.filter_enabled`);
  out.filterEnforced = runtimeFraction(v.filter_enforced, ctx, `${field}.filter_enforced`);
  return out;
}

/** One entry of HttpConnectionManager.http_filters; undefined when skipped with an error recorded. */
export function decodeHttpFilter(v: unknown, ctx: Ctx, field: string): HttpFilterConfig | undefined {
  const f = obj(v) ?? {};
  const name = str(f.name) ?? '';
  const optional = f.is_optional === true;
  const disabled = f.disabled === true;
  if (!name) ctx.err(`${field}.name`, 'http filter needs a name');
  if (f.config_discovery !== undefined) {
    ctx.err(`${field}.config_discovery`, `filter ${name}: extension config discovery (ECDS) is not supported`);
    return undefined;
  }
  const tc = obj(f.typed_config);
  let type = anyType(tc) || NAME_TO_TYPE[name] || '';
  // A TypedStruct (udpa/xds) names its real type in type_url.
  if (type.endsWith('.TypedStruct')) type = str(tc?.type_url) ?? type;
  const cfg: Obj = tc && !anyUnresolved(tc) ? tc : {};
  switch (type) {
    case FilterTypes.router:
      return { name, type: 'router', disabled };
    case FilterTypes.fault:
      return { name, type: 'fault', disabled, fault: decodeFault(cfg, ctx, `${field}.typed_config`) };
    case FilterTypes.cors:
      return { name, type: 'cors', disabled };
    case FilterTypes.localRateLimit:
      return { name, type: 'local_ratelimit', disabled, rateLimit: decodeLocalRateLimit(cfg, ctx, `${field}.typed_config`) };
    case FilterTypes.rbac:
    case FilterTypes.jwt: {
      // An auth filter whose config we cannot read must not turn into "no policy": reject it.
      if (!tc || anyUnresolved(tc)) { ctx.err(`${field}.typed_config`, `filter ${name}: missing or undecodable ${type}`); return undefined; }
      // Envoy runs a disabled filter where a route's FilterConfig enables it; auth runs before route selection here,
      // so skipping it would silently drop a policy some routes need: refuse the config instead.
      if (disabled) { ctx.err(`${field}.disabled`, `filter ${name}: a disabled ${type === FilterTypes.rbac ? 'rbac' : 'jwt_authn'} filter (enabled per route) is not supported; auth filters run before route selection`); return undefined; }
      return type === FilterTypes.rbac
        ? { name, type: 'rbac', disabled, rbac: decodeHttpRbac(cfg, ctx, `${field}.typed_config`) }
        : { name, type: 'jwt_authn', disabled, jwt: decodeJwtAuthn(cfg, ctx, `${field}.typed_config`) };
    }
    case FilterTypes.extAuthz: {
      if (!tc || anyUnresolved(tc)) { ctx.err(`${field}.typed_config`, `filter ${name}: missing or undecodable ${type}`); return undefined; }
      if (disabled) { ctx.err(`${field}.disabled`, `filter ${name}: a disabled ext_authz filter (enabled per route) is not supported; auth filters run before route selection`); return undefined; }
      return { name, type: 'ext_authz', disabled, extAuthz: decodeExtAuthz(cfg, ctx, `${field}.typed_config`) };
    }
    default:
      if (optional) return { name, type: 'skipped', disabled, typeUrl: type };
      ctx.err(`${field}`, `unknown http filter ${JSON.stringify(name)} (${type || 'no typed_config'}) and is_optional is not set`);
      return undefined;
  }
}

/** typed_per_filter_config: map filter name -> Any (a filter's own per-route type, or route.v3.FilterConfig). */
export function decodePerFilter(v: unknown, ctx: Ctx, field: string): PerFilterConfig {
  const out: PerFilterConfig = { disabledFilters: [] };
  for (const [name, raw] of Object.entries(obj(v) ?? {})) {
    const f = `${field}[${JSON.stringify(name)}]`;
    let cfg = obj(raw) ?? {};
    let type = anyType(cfg);
    let optional = false;
    if (type === FilterTypes.filterConfig) {
      if (cfg.disabled === true) out.disabledFilters.push(name);
      optional = cfg.is_optional === true;
      cfg = obj(cfg.config) ?? {};
      type = anyType(cfg);
      if (!type) continue;
    }
    switch (type) {
      case FilterTypes.fault:
        out.fault = decodeFault(cfg, ctx, f);
        break;
      case FilterTypes.corsPolicy:
      case FilterTypes.routeCorsPolicy:
        out.cors = decodeCorsPolicy(cfg, ctx, f);
        break;
      case FilterTypes.rbacPerRoute:
      case FilterTypes.jwtPerRoute:
      case FilterTypes.extAuthzPerRoute:
        // Auth filters run before routing here, so a per-route override cannot apply: reject rather than ignore.
        if (!optional) ctx.err(f, `per-route ${type.slice(type.lastIndexOf('.') + 1)} overrides are not supported (auth filters run before route selection)`);
        break;
      case FilterTypes.localRateLimit:
      case FilterTypes.router:
        break; // accepted; their per-route policies are read by their owners from the filter config
      default:
        if (!optional) ctx.err(f, `unsupported per-filter config type ${type || '(none)'}`);
    }
  }
  return out;
}
