// xds/translate/routes: per-route policies with Istio's defaults — retries, timeouts, faults, CORS,
// mirror percentages and consistent-hash policies from DestinationRules.
import type {
  HTTPRetry, HTTPFaultInjection, CorsPolicy, Percent, ConsistentHashLB, Destination, DestinationRuleSpec,
} from '../../../config/types/networking.ts';
import type { MeshConfig } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import { parseDuration, ZERO_DURATION, type PbDuration } from './duration.ts';
import { envoyStringMatch } from './match.ts';

/** Istio's default outbound retry policy (pilot retry.DefaultPolicy). */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const PREVIOUS_HOSTS = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': TypeUrl.PreviousHostsPredicate },
};

function defaultRetry(consistentHash: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: { value: 2 },
    retriable_status_codes: [503],
    host_selection_retry_max_attempts: 5,
  };
  // with consistent hashing a retry must stay on the hashed host, so no previous-hosts predicate
  if (!consistentHash) out.retry_host_predicate = [PREVIOUS_HOSTS];
  return out;
}

/** Valid HTTP status code numbers in retryOn are retriable status codes (Istio's parseRetryOn). */
function parseRetryOn(s: string): { on: string; codes: number[] } {
  const on: string[] = [];
  const codes: number[] = [];
  for (const raw of s.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    if (/^\d+$/.test(part) && Number(part) >= 100 && Number(part) <= 599) codes.push(Number(part));
    else on.push(part);
  }
  return { on: on.join(','), codes };
}

/**
 * Istio's retry.ConvertPolicy: no policy -> the mesh's defaultHttpRetryPolicy, else Istio's default
 * (2 retries on connect-failure,refused-stream,unavailable,cancelled,503); attempts 0 disables retries.
 */
export function translateRetry(vs: HTTPRetry | undefined, mesh: MeshConfig | undefined, consistentHash: boolean): Record<string, unknown> | undefined {
  const policy: HTTPRetry | undefined = vs ?? mesh?.defaultHttpRetryPolicy;
  const out = defaultRetry(consistentHash);
  if (!policy) return out;
  if (!policy.attempts || policy.attempts <= 0) return undefined;
  out.num_retries = { value: policy.attempts };
  if (policy.retryOn) {
    const { on, codes } = parseRetryOn(policy.retryOn);
    let retryOn = on;
    if (codes.length && !retryOn.includes('retriable-status-codes')) retryOn = retryOn ? `${retryOn},retriable-status-codes` : 'retriable-status-codes';
    out.retry_on = retryOn;
    // "retriable-status-codes" naming no code keeps the default 503: the condition would otherwise be
    // inert (and a mesh default spelled like Istio's built-in policy must behave like it)
    if (codes.length) out.retriable_status_codes = codes;
    else if (!/(^|,)retriable-status-codes(,|$)/.test(retryOn)) delete out.retriable_status_codes;
  }
  const perTry = parseDuration(policy.perTryTimeout);
  if (perTry) out.per_try_timeout = perTry;
  if (policy.retryIgnorePreviousHosts !== undefined) {
    if (policy.retryIgnorePreviousHosts) out.retry_host_predicate = [PREVIOUS_HOSTS];
    else delete out.retry_host_predicate;
  }
  if (policy.retryRemoteLocalities) {
    out.retry_priority = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': TypeUrl.PreviousPrioritiesConfig, update_frequency: 2 },
    };
  }
  const backoff = parseDuration(policy.backoff);
  if (backoff) out.retry_back_off = { base_interval: backoff };
  return out;
}

/** Route timeout: the VirtualService's, else MeshConfig.defaultTimeout, else 0s (disabled) as Istio. */
export function routeTimeout(vsTimeout: string | undefined, mesh: MeshConfig | undefined): PbDuration {
  return parseDuration(vsTimeout) ?? parseDuration(mesh?.defaultTimeout) ?? ZERO_DURATION;
}

/** Istio Percent (0..100, fractional) -> FractionalPercent per million; integer percents -> per hundred. */
function percentToFraction(p: Percent | undefined): Record<string, unknown> {
  return { numerator: Math.round((p?.value ?? 0) * 10000), denominator: 'MILLION' };
}
function intPercentToFraction(n: number): Record<string, unknown> {
  return { numerator: n, denominator: 'HUNDRED' };
}

/** Istio: mirrorPercentage (0 = no mirroring), else the deprecated integer mirrorPercent, else 100%. */
export function mirrorFraction(percentage: Percent | undefined, intPercent?: number): Record<string, unknown> | undefined {
  if (percentage !== undefined) return (percentage.value ?? 0) > 0 ? { default_value: percentToFraction(percentage) } : undefined;
  if (intPercent !== undefined) return intPercent > 0 ? { default_value: intPercentToFraction(intPercent) } : undefined;
  return { default_value: intPercentToFraction(100) };
}

const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/**
 * HTTPFaultInjection -> envoy.extensions.filters.http.fault.v3.HTTPFault. Unspecified percentages
 * inject nothing (Istio's documented default). Exponential delays and http2Error aborts are not
 * supported by Istio either and are dropped.
 */
export function translateFault(f: HTTPFaultInjection | undefined): Record<string, unknown> | undefined {
  if (!f) return undefined;
  const out: Record<string, unknown> = { '@type': TypeUrl.Fault };
  if (f.delay) {
    const fixed = parseDuration(f.delay.fixedDelay);
    if (fixed) {
      out.delay = {
        fixed_delay: fixed,
        percentage: f.delay.percentage !== undefined ? percentToFraction(f.delay.percentage) : intPercentToFraction(f.delay.percent ?? 0),
      };
    }
  }
  if (f.abort) {
    const abort: Record<string, unknown> = {};
    if (f.abort.percentage !== undefined) abort.percentage = percentToFraction(f.abort.percentage);
    if (f.abort.httpStatus !== undefined) abort.http_status = f.abort.httpStatus;
    else if (f.abort.grpcStatus !== undefined) {
      const code = GRPC_CODES[f.abort.grpcStatus.toUpperCase()] ?? Number(f.abort.grpcStatus);
      if (Number.isInteger(code)) abort.grpc_status = code;
    }
    if (abort.http_status !== undefined || abort.grpc_status !== undefined) out.abort = abort;
  }
  if (!out.delay && !out.abort) return undefined;
  return out;
}

/** CorsPolicy -> envoy.extensions.filters.http.cors.v3.CorsPolicy (per-route config of the cors filter). */
export function translateCors(c: CorsPolicy | undefined): Record<string, unknown> | undefined {
  if (!c) return undefined;
  const out: Record<string, unknown> = { '@type': TypeUrl.CorsPolicy };
  const origins = c.allowOrigins
    ? c.allowOrigins.map(envoyStringMatch).filter((x): x is Record<string, unknown> => !!x)
    : c.allowOrigin?.map((o) => ({ exact: o }));
  if (origins?.length) out.allow_origin_string_match = origins;
  if (c.allowMethods?.length) out.allow_methods = c.allowMethods.join(',');
  if (c.allowHeaders?.length) out.allow_headers = c.allowHeaders.join(',');
  if (c.exposeHeaders?.length) out.expose_headers = c.exposeHeaders.join(',');
  const maxAge = parseDuration(c.maxAge);
  if (maxAge) out.max_age = String(maxAge.seconds);
  if (c.allowCredentials !== undefined) out.allow_credentials = { value: c.allowCredentials };
  out.filter_enabled = { default_value: intPercentToFraction(100) };
  // FORWARD (Istio's default) forwards preflights that match no origin to the upstream
  out.forward_not_matching_preflights = { value: c.unmatchedPreflights !== 'IGNORE' };
  return out;
}

/** ConsistentHashLB -> RouteAction.HashPolicy (Istio's consistentHashToHashPolicy). */
export function hashPolicyOf(h: ConsistentHashLB | undefined): Record<string, unknown> | undefined {
  if (!h) return undefined;
  if (h.httpHeaderName) return { header: { header_name: h.httpHeaderName } };
  if (h.httpCookie) {
    const cookie: Record<string, unknown> = { name: h.httpCookie.name };
    const ttl = parseDuration(h.httpCookie.ttl);
    if (ttl) cookie.ttl = ttl;
    if (h.httpCookie.path) cookie.path = h.httpCookie.path;
    return { cookie };
  }
  if (h.useSourceIp) return { connection_properties: { source_ip: true } };
  if (h.httpQueryParameterName) return { query_parameter: { name: h.httpQueryParameterName } };
  return undefined;
}

/**
 * The consistent hash that applies to a destination (Istio's hashForHTTPDestination): subset
 * port-level, then subset, then top-level port-level, then top-level settings.
 */
export function consistentHashFor(dr: DestinationRuleSpec | undefined, dest: Pick<Destination, 'subset'>, port: number | undefined): ConsistentHashLB | undefined {
  if (!dr) return undefined;
  const tp = dr.trafficPolicy;
  const pls = (list: { port?: { number?: number }; loadBalancer?: { consistentHash?: ConsistentHashLB } }[] | undefined) =>
    port === undefined ? undefined : list?.find((s) => s.port?.number === port)?.loadBalancer?.consistentHash;
  const subset = dest.subset ? dr.subsets?.find((s) => s.name === dest.subset) : undefined;
  return pls(subset?.trafficPolicy?.portLevelSettings) ?? subset?.trafficPolicy?.loadBalancer?.consistentHash ??
    pls(tp?.portLevelSettings) ?? tp?.loadBalancer?.consistentHash;
}
