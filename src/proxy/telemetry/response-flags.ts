// proxy/telemetry: Envoy's response flags (the letters in %RESPONSE_FLAGS% and Istio's response_flags label)
// as a small set, plus plain-language explanations that answer "why did I get a 503?" naming the route,
// cluster and endpoint state (e.g. "no healthy upstream in outbound|9080|v2|reviews...: all 3 endpoints
// ejected by outlier detection").
import type { EndpointsSummary } from '../upstream/cluster-state.ts';

export interface ResponseFlagInfo {
  short: string;
  long: string;
  description: string;
}

/** In Envoy's output order (its flag enum order), so strings compare equal to Envoy's access logs. */
export const RESPONSE_FLAGS = [
  { short: 'LH', long: 'FailedLocalHealthCheck', description: 'local service failed its health check' },
  { short: 'UH', long: 'NoHealthyUpstream', description: 'no healthy upstream host in the cluster' },
  { short: 'UT', long: 'UpstreamRequestTimeout', description: 'upstream request timeout' },
  { short: 'LR', long: 'LocalReset', description: 'connection local reset' },
  { short: 'UR', long: 'UpstreamRemoteReset', description: 'upstream remote reset' },
  { short: 'UF', long: 'UpstreamConnectionFailure', description: 'upstream connection failure' },
  { short: 'UC', long: 'UpstreamConnectionTermination', description: 'upstream connection termination' },
  { short: 'UO', long: 'UpstreamOverflow', description: 'upstream overflow (circuit breaking)' },
  { short: 'NR', long: 'NoRouteFound', description: 'no route configured for the request' },
  { short: 'DI', long: 'DelayInjected', description: 'request delayed by fault injection' },
  { short: 'FI', long: 'FaultInjected', description: 'request aborted by fault injection' },
  { short: 'RL', long: 'RateLimited', description: 'request rate limited locally' },
  { short: 'UAEX', long: 'UnauthorizedExternalService', description: 'request denied by the external authorization service' },
  { short: 'RLSE', long: 'RateLimitServiceError', description: 'rate limit service error' },
  { short: 'DC', long: 'DownstreamConnectionTermination', description: 'downstream connection termination' },
  { short: 'URX', long: 'UpstreamRetryLimitExceeded', description: 'upstream retry limit exceeded' },
  { short: 'SI', long: 'StreamIdleTimeout', description: 'stream idle timeout' },
  { short: 'IH', long: 'InvalidEnvoyRequestHeaders', description: 'invalid values in x-envoy-* request headers' },
  { short: 'DPE', long: 'DownstreamProtocolError', description: 'downstream request had an HTTP protocol error' },
  { short: 'UMSDR', long: 'UpstreamMaxStreamDurationReached', description: 'upstream request reached max stream duration' },
  { short: 'RFCF', long: 'ResponseFromCacheFilter', description: 'response served by the cache filter' },
  { short: 'NFCF', long: 'NoFilterConfigFound', description: 'no filter config found (ECDS)' },
  { short: 'DT', long: 'DurationTimeout', description: 'request or connection exceeded max duration' },
  { short: 'UPE', long: 'UpstreamProtocolError', description: 'upstream response had an HTTP protocol error' },
  { short: 'NC', long: 'NoClusterFound', description: 'upstream cluster not found' },
  { short: 'OM', long: 'OverloadManagerTerminated', description: 'overload manager terminated the request' },
  { short: 'DF', long: 'DnsResolutionFailed', description: 'DNS resolution failed' },
  { short: 'DO', long: 'DropOverload', description: 'request dropped by EDS drop_overloads' },
  { short: 'UDO', long: 'UnconditionalDropOverload', description: 'request dropped unconditionally by drop_overloads' },
] as const satisfies readonly ResponseFlagInfo[];

export type ResponseFlag = (typeof RESPONSE_FLAGS)[number]['short'];

const INDEX = new Map<string, number>(RESPONSE_FLAGS.map((f, i) => [f.short, i]));
const BY_LONG = new Map<string, ResponseFlag>(RESPONSE_FLAGS.map((f) => [f.long, f.short]));

export function flagInfo(f: ResponseFlag): ResponseFlagInfo {
  return RESPONSE_FLAGS[INDEX.get(f)!];
}

export function isResponseFlag(s: string): s is ResponseFlag {
  return INDEX.has(s);
}

/** A set of flags on one request; cheap (one number per 31 flags) and printed in Envoy's order. */
export class ResponseFlags {
  private bits = 0;

  constructor(flags: Iterable<ResponseFlag> = []) {
    for (const f of flags) this.add(f);
  }

  add(f: ResponseFlag): this {
    this.bits |= 1 << INDEX.get(f)!;
    return this;
  }

  has(f: ResponseFlag): boolean {
    return (this.bits & (1 << INDEX.get(f)!)) !== 0;
  }

  get empty(): boolean { return this.bits === 0; }

  list(): ResponseFlag[] {
    const out: ResponseFlag[] = [];
    for (let i = 0; i < RESPONSE_FLAGS.length; i++) if (this.bits & (1 << i)) out.push(RESPONSE_FLAGS[i].short);
    return out;
  }

  /** Envoy's %RESPONSE_FLAGS%: "UH,URX", or "-" when none. */
  toString(): string {
    return this.bits === 0 ? '-' : this.list().join(',');
  }

  /** %RESPONSE_FLAGS_LONG%: "NoHealthyUpstream,UpstreamRetryLimitExceeded", or "-". */
  toLongString(): string {
    return this.bits === 0 ? '-' : this.list().map((f) => flagInfo(f).long).join(',');
  }

  /** Parse "UH,URX" / long names / "-"; unknown entries are ignored and returned in `unknown`. */
  static parse(s: string): { flags: ResponseFlags; unknown: string[] } {
    const flags = new ResponseFlags();
    const unknown: string[] = [];
    for (const raw of s.split(',')) {
      const t = raw.trim();
      if (!t || t === '-') continue;
      if (isResponseFlag(t)) flags.add(t);
      else if (BY_LONG.has(t)) flags.add(BY_LONG.get(t)!);
      else unknown.push(t);
    }
    return { flags, unknown };
  }
}

/** What the engine knows about the exchange; every field optional — explanations use what is there. */
export interface ExplainContext {
  status?: number;
  method?: string;
  authority?: string;
  path?: string;
  /** Route configuration name (RDS) and the matched route / virtual host names. */
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  cluster?: string;
  endpoints?: EndpointsSummary;
  /** "10.0.0.7:9080" of the last upstream host tried. */
  upstreamHost?: string;
  /** Low-level detail, e.g. "connect ECONNREFUSED 10.0.0.7:9080". */
  detail?: string;
  timeoutMs?: number;
  perTryTimeoutMs?: number;
  retries?: { done: number; max: number; lastReason?: string };
  breaker?: { resource: string; limit: number };
  fault?: { delayMs?: number; abortStatus?: number; grpcStatus?: number };
  maxStreamDurationMs?: number;
  /** The auth filters answered (no response flag): RBAC denial naming the policy, or a JWT failure. */
  authz?: { kind: 'rbac' | 'jwt_authn' | 'ext_authz'; filter: string; status: number; policy?: string; action?: string; message?: string };
}

/** Envoy's %RESPONSE_CODE_DETAILS% for the flag that ended a request (the last one that explains a local reply). */
const DETAILS_BY_FLAG: Record<string, string> = {
  NR: 'route_not_found',
  NC: 'cluster_not_found',
  UH: 'no_healthy_upstream',
  UO: 'upstream_reset_before_response_started{overflow}',
  UF: 'upstream_reset_before_response_started{remote_connection_failure}',
  UC: 'upstream_reset_before_response_started{connection_termination}',
  UR: 'upstream_reset_before_response_started{remote_reset}',
  UPE: 'upstream_reset_before_response_started{protocol_error}',
  UT: 'response_timeout',
  FI: 'fault_filter_abort',
  DC: 'downstream_remote_disconnect',
};

/**
 * Response code details of a request that did not get its answer from upstream: Envoy's name for the last flag that
 * has one (a retried UF ends as URX + UF: the UF names the reset), `upstream_per_try_timeout` when the final try timed
 * out, `direct_response` for a route's direct response or redirect; else the flags themselves (or undefined).
 */
export function localCodeDetails(flags: readonly string[], perTryTimeout: boolean, direct: boolean): string | undefined {
  if (flags.includes('DC')) return DETAILS_BY_FLAG.DC;
  for (let i = flags.length - 1; i >= 0; i--) {
    const f = flags[i]!;
    if (f === 'UT' && perTryTimeout) return 'upstream_per_try_timeout';
    const d = DETAILS_BY_FLAG[f];
    if (d !== undefined) return d;
  }
  if (direct) return 'direct_response';
  return flags.length ? flags.join(',') : undefined;
}

/** Why an auth filter (RBAC / jwt_authn) refused the request, naming the policy. */
export function explainAuthz(a: NonNullable<ExplainContext['authz']>): string {
  if (a.kind === 'ext_authz') return `${a.message ?? 'the authorization service refused the request'} (${a.filter}, AuthorizationPolicy action CUSTOM)`;
  if (a.kind === 'jwt_authn') return `the request's JWT was rejected by ${a.filter}: ${a.message ?? 'verification failed'} (RequestAuthentication)`;
  if (a.action === 'DENY') return `denied by RBAC filter ${a.filter}: DENY policy "${a.policy}" matched (AuthorizationPolicy action DENY)`;
  return `denied by RBAC filter ${a.filter}: no ALLOW policy matched the request${a.policy ? ` (${a.policy})` : ''} (AuthorizationPolicy action ALLOW: only listed sources / operations are let in)`;
}

function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word.endsWith('y') ? `${word.slice(0, -1)}ie` : word}s`;
}

/** Why the cluster has no healthy host, from its endpoint summary. */
export function describeEndpoints(s: EndpointsSummary): string {
  if (s.total === 0) return 'the cluster has no endpoints (EDS sent none, or all were removed)';
  const parts: string[] = [];
  const all = (n: number) => (n === s.total ? (s.total === 1 ? 'the only endpoint' : `all ${s.total} endpoints`) : `${n} of ${s.total} endpoints`);
  if (s.ejected) parts.push(`${all(s.ejected)} ejected by outlier detection`);
  if (s.unhealthy) parts.push(`${all(s.unhealthy)} marked unhealthy by EDS health status`);
  if (s.draining) parts.push(`${all(s.draining)} draining`);
  if (s.degraded) parts.push(`${all(s.degraded)} degraded`);
  if (s.healthy && parts.length) parts.push(`${plural(s.healthy, 'healthy endpoint')} left`);
  if (!parts.length) parts.push(`${plural(s.healthy, 'healthy endpoint')} of ${s.total}`);
  let text = parts.join(', ');
  if (s.panicPriorities.length) text += `; panic mode (too few healthy hosts) at priority ${s.panicPriorities.join(', ')}: balancing over all hosts`;
  if (s.note) text += `; ${s.note}`;
  return text;
}

function where(ctx: ExplainContext): string {
  const bits: string[] = [];
  if (ctx.route) bits.push(`route "${ctx.route}"`);
  if (ctx.virtualHost) bits.push(`virtual host "${ctx.virtualHost}"`);
  if (ctx.routeConfig) bits.push(`route config "${ctx.routeConfig}"`);
  return bits.length ? ` (${bits.join(' in ')})` : '';
}

function request(ctx: ExplainContext): string {
  const target = `${ctx.authority ?? ''}${ctx.path ?? ''}`;
  return [ctx.method, target].filter(Boolean).join(' ') || 'the request';
}

function explainOne(f: ResponseFlag, ctx: ExplainContext): string {
  const cluster = ctx.cluster ?? 'the upstream cluster';
  const host = ctx.upstreamHost ? `${ctx.upstreamHost} in ${cluster}` : `an endpoint of ${cluster}`;
  const detail = ctx.detail ? `: ${ctx.detail}` : '';
  switch (f) {
    case 'UH':
      return `no healthy upstream in ${cluster}${where(ctx)}: ${ctx.endpoints ? describeEndpoints(ctx.endpoints) : 'no endpoint was available to pick'}`;
    case 'UF':
      return `could not connect to ${host}${detail}`;
    case 'UO':
      return ctx.breaker
        ? `circuit breaker of ${cluster} is open: ${ctx.breaker.resource} at its limit of ${ctx.breaker.limit} (DestinationRule connectionPool / Envoy circuit_breakers)`
        : `circuit breaker of ${cluster} overflowed (too many connections, pending requests, requests or retries)`;
    case 'NR':
      return `no route matched ${request(ctx)}${ctx.routeConfig ? ` in route config "${ctx.routeConfig}"` : ''}${ctx.virtualHost ? ` (virtual host "${ctx.virtualHost}" had no matching route)` : ' (no virtual host matched the authority, or none of its routes matched)'}`;
    case 'NC':
      return `the route${where(ctx)} points to cluster ${cluster}, which this proxy does not know (not received in CDS yet, or removed)`;
    case 'URX': {
      const r = ctx.retries;
      return r
        ? `gave up after ${plural(r.done, 'retry')} to ${cluster} (the retry policy allows ${r.max})${r.lastReason ? `; last attempt failed with ${r.lastReason}` : ''}`
        : `the retry limit for ${cluster} was reached and the last attempt still failed`;
    }
    case 'UT':
      if (ctx.perTryTimeoutMs && !ctx.timeoutMs) return `${host} did not respond within the per-try timeout of ${ctx.perTryTimeoutMs} ms`;
      return `${host} did not respond within the route timeout${ctx.timeoutMs ? ` of ${ctx.timeoutMs} ms` : ''}${where(ctx)}`;
    case 'UC':
      return `${host} closed the connection before sending a full response${detail}`;
    case 'UR':
      return `${host} reset the stream${detail}`;
    case 'LR':
      return `the proxy reset the connection to ${host} locally${detail}`;
    case 'DC':
      return `the downstream client closed the connection before the response completed`;
    case 'DI':
      return `fault injection delayed the request${ctx.fault?.delayMs ? ` by ${ctx.fault.delayMs} ms` : ''}${where(ctx)}`;
    case 'FI': {
      const code = ctx.fault?.grpcStatus !== undefined ? `gRPC status ${ctx.fault.grpcStatus}` : ctx.fault?.abortStatus ? `HTTP ${ctx.fault.abortStatus}` : 'an error';
      return `fault injection aborted the request with ${code}${where(ctx)} (VirtualService fault.abort)`;
    }
    case 'RL':
      return `the request was rate limited by the proxy's local rate limit${where(ctx)}`;
    case 'UAEX':
      if (ctx.authz?.kind === 'ext_authz') return explainAuthz(ctx.authz);
      return `the external authorization service denied the request${detail}`;
    case 'RLSE':
      return `the rate limit service failed and the request was rejected${detail}`;
    case 'SI':
      return `the stream was idle longer than the idle timeout${detail}`;
    case 'IH':
      return `the request carried invalid x-envoy-* header values${detail}`;
    case 'DPE':
      return `the downstream request was malformed HTTP${detail}`;
    case 'UPE':
      return `${host} sent a malformed HTTP response${detail}`;
    case 'UMSDR':
      return `the upstream stream to ${cluster} exceeded its max stream duration${ctx.maxStreamDurationMs ? ` of ${ctx.maxStreamDurationMs} ms` : ''}`;
    case 'DT':
      return `the request exceeded its maximum duration${detail}`;
    case 'LH':
      return `the local service failed its health check, so the proxy answered itself`;
    case 'DF':
      return `DNS resolution for ${cluster} failed${detail}`;
    case 'DO':
    case 'UDO':
      return `the request was dropped by ${cluster}'s drop_overload policy`;
    case 'OM':
      return `the proxy is overloaded and terminated the request`;
    case 'RFCF':
      return `the response came from the cache filter`;
    case 'NFCF':
      return `a filter's dynamic configuration has not been received`;
  }
  return flagInfo(f).description;
}

/** One sentence per flag, in Envoy's order. */
export function explainFlags(flags: ResponseFlags | Iterable<ResponseFlag>, ctx: ExplainContext = {}): string[] {
  const set = flags instanceof ResponseFlags ? flags : new ResponseFlags(flags);
  return set.list().map((f) => explainOne(f, ctx));
}

/** A whole answer: "503 UH,URX: <why>; <why>". */
export function explain(flags: ResponseFlags | Iterable<ResponseFlag>, ctx: ExplainContext = {}): string {
  const set = flags instanceof ResponseFlags ? flags : new ResponseFlags(flags);
  const head = [ctx.status !== undefined ? String(ctx.status) : '', set.empty ? '' : set.toString()].filter(Boolean).join(' ');
  if (set.empty) {
    if (ctx.authz) return `${head}: ${explainAuthz(ctx.authz)}`;
    if (ctx.status !== undefined && ctx.status >= 500) {
      return `${head}: the response came from ${ctx.upstreamHost ? ctx.upstreamHost : 'the upstream'}${ctx.cluster ? ` in ${ctx.cluster}` : ''} itself (no proxy flag was set)`;
    }
    return head ? `${head}: no response flags` : 'no response flags';
  }
  return `${head}: ${explainFlags(set, ctx).join('; ')}`;
}
