// xds/translate: DestinationRule traffic policy -> cluster fields. Merging follows Istio: the top-level
// policy's portLevelSettings apply first, a subset's policy then replaces whole fields, and a matching
// port-level entry replaces connectionPool, loadBalancer, outlierDetection and tls together (no inheritance).
import type {
  TrafficPolicy, ConnectionPoolSettings, OutlierDetection, LoadBalancerSettings, LocalityLoadBalancerSetting,
} from '../../../config/types/networking.ts';
import type { EnvoyResource } from '../types.ts';
import { duration, msToDuration } from './duration.ts';
import { list, record } from './context.ts';

export type PortPolicy = Omit<TrafficPolicy, 'portLevelSettings'>;

/** The policy in force for one port of one subset (subsetPolicy undefined = the service's default cluster). */
export function effectivePolicy(top: TrafficPolicy | undefined, subsetPolicy: TrafficPolicy | undefined, port: number): PortPolicy | undefined {
  top = record(top);
  subsetPolicy = record(subsetPolicy);
  const base = top ? mergePolicy(undefined, top, port) : undefined;
  if (!subsetPolicy) return base;
  return mergePolicy(base, subsetPolicy, port);
}

function mergePolicy(original: PortPolicy | undefined, over: TrafficPolicy, port: number): PortPolicy {
  const out: PortPolicy = { ...(original ?? {}) };
  if (record(over.connectionPool)) out.connectionPool = over.connectionPool;
  if (record(over.loadBalancer)) out.loadBalancer = over.loadBalancer;
  if (record(over.outlierDetection)) out.outlierDetection = over.outlierDetection;
  if (record(over.tls)) out.tls = over.tls;
  if (over.tunnel) out.tunnel = over.tunnel;
  if (over.proxyProtocol) out.proxyProtocol = over.proxyProtocol;
  const pls = list(over.portLevelSettings).find((p) => p?.port?.number === port);
  if (pls) {
    // Port-level settings do not inherit from the enclosing policy: unset fields fall back to defaults.
    out.connectionPool = record(pls.connectionPool);
    out.loadBalancer = record(pls.loadBalancer);
    out.outlierDetection = record(pls.outlierDetection);
    out.tls = record(pls.tls);
  }
  return out;
}

const MAX_U32 = 4294967295;

/** A uint32 config value, or undefined (bad values are dropped, not thrown: protobuf would reject them). */
function u32(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_U32 ? v : undefined;
}

/** Circuit breaker thresholds: Istio lifts Envoy's low defaults (1024) to "unlimited" unless the DR sets them. */
export function circuitBreakers(pool: ConnectionPoolSettings | undefined): EnvoyResource {
  const t: Record<string, unknown> = {
    max_connections: { value: u32(pool?.tcp?.maxConnections) ?? MAX_U32 },
    max_pending_requests: { value: u32(pool?.http?.http1MaxPendingRequests) ?? MAX_U32 },
    max_requests: { value: u32(pool?.http?.http2MaxRequests) ?? MAX_U32 },
    max_retries: { value: u32(pool?.http?.maxRetries) ?? MAX_U32 },
    track_remaining: true,
  };
  return { thresholds: [t] };
}

/** Fields of HttpProtocolOptions (typed_extension_protocol_options) from the pool settings and port protocol. */
/** h2 by port, or UPGRADE turning an HTTP/1.1 upstream into h2 (DO_NOT_UPGRADE only stops that: HTTP2/gRPC ports stay h2). */
function upgradedToH2(pool: ConnectionPoolSettings | undefined, http2: boolean): boolean {
  return http2 || pool?.http?.h2UpgradePolicy === 'UPGRADE';
}

/**
 * Whether the cluster's protocol options make it an explicit HTTP/2 cluster (what Istio checks to give its TLS the h2
 * ALPN list): h2 by port or upgrade, and not following the client's protocol.
 */
export function explicitHttp2(pool: ConnectionPoolSettings | undefined, http2: boolean): boolean {
  return !pool?.http?.useClientProtocol && upgradedToH2(pool, http2);
}

export function httpProtocolOptions(pool: ConnectionPoolSettings | undefined, http2: boolean): EnvoyResource | undefined {
  const common: Record<string, unknown> = {};
  const idle = duration(pool?.http?.idleTimeout);
  if (idle) common.idle_timeout = idle;
  if (u32(pool?.http?.maxRequestsPerConnection)) common.max_requests_per_connection = { value: pool!.http!.maxRequestsPerConnection };
  const maxDur = duration(pool?.tcp?.maxConnectionDuration);
  if (maxDur) common.max_connection_duration = maxDur;
  const useH2 = upgradedToH2(pool, http2);
  const h2opts: Record<string, unknown> = {};
  if (u32(pool?.http?.maxConcurrentStreams)) h2opts.max_concurrent_streams = { value: pool!.http!.maxConcurrentStreams };
  if (!useH2 && Object.keys(common).length === 0 && !pool?.http?.useClientProtocol) return undefined;
  const out: Record<string, unknown> = {};
  if (Object.keys(common).length) out.common_http_protocol_options = common;
  if (pool?.http?.useClientProtocol) out.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: h2opts };
  else if (useH2) out.explicit_http_config = { http2_protocol_options: h2opts };
  else out.explicit_http_config = { http_protocol_options: {} };
  return out;
}

/** TCP keepalive -> upstream_connection_options. */
export function upstreamConnectionOptions(pool: ConnectionPoolSettings | undefined): EnvoyResource | undefined {
  const ka = pool?.tcp?.tcpKeepalive;
  if (!ka) return undefined;
  const k: Record<string, unknown> = {};
  if (u32(ka.probes)) k.keepalive_probes = { value: ka.probes };
  const time = duration(ka.time);
  if (time) k.keepalive_time = { value: Math.max(1, Math.round(time.seconds)) };
  const iv = duration(ka.interval);
  if (iv) k.keepalive_interval = { value: Math.max(1, Math.round(iv.seconds)) };
  return { tcp_keepalive: k };
}

/** Outlier detection as Istio sets it: success-rate ejection off; a consecutive counter enforced 100% once set. */
export function outlierDetection(od: OutlierDetection | undefined): EnvoyResource | undefined {
  if (!od) return undefined;
  const out: Record<string, unknown> = { enforcing_success_rate: { value: 0 } };
  if (u32(od.consecutive5xxErrors) !== undefined) {
    const v = od.consecutive5xxErrors!;
    out.consecutive_5xx = { value: v };
    out.enforcing_consecutive_5xx = { value: v > 0 ? 100 : 0 };
  } else if (u32(od.consecutiveErrors)) {
    // deprecated consecutiveErrors counts gateway errors (502/503/504) only, so plain 5xx are not enforced
    out.consecutive_gateway_failure = { value: od.consecutiveErrors };
    out.enforcing_consecutive_gateway_failure = { value: 100 };
    out.enforcing_consecutive_5xx = { value: 0 };
  }
  if (u32(od.consecutiveGatewayErrors) !== undefined) {
    const v = od.consecutiveGatewayErrors!;
    out.consecutive_gateway_failure = { value: v };
    out.enforcing_consecutive_gateway_failure = { value: v > 0 ? 100 : 0 };
  }
  const interval = duration(od.interval);
  if (interval) out.interval = interval;
  const base = duration(od.baseEjectionTime);
  if (base) out.base_ejection_time = base;
  if (u32(od.maxEjectionPercent) && od.maxEjectionPercent! <= 100) out.max_ejection_percent = { value: od.maxEjectionPercent };
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if (u32(od.consecutiveLocalOriginFailures) !== undefined) {
      out.consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures };
      out.enforcing_consecutive_local_origin_failure = { value: 100 };
    }
  }
  return out;
}

export interface LbFields {
  lb_policy?: string;
  ring_hash_lb_config?: EnvoyResource;
  maglev_lb_config?: EnvoyResource;
  /** PASSTHROUGH: the cluster becomes ORIGINAL_DST. */
  originalDst?: boolean;
}

/** Istio's default algorithm is LEAST_REQUEST (Envoy's is ROUND_ROBIN). */
export function loadBalancer(lb: LoadBalancerSettings | undefined, grpc: boolean): LbFields {
  const ch = record(lb?.consistentHash);
  if (ch) {
    if (ch.maglev) return { lb_policy: 'MAGLEV', maglev_lb_config: u32(ch.maglev.tableSize) ? { table_size: { value: ch.maglev.tableSize } } : {} };
    const size = u32(ch.ringHash?.minimumRingSize) || u32(ch.minimumRingSize) || 1024;
    return { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: size } } };
  }
  // proxyless gRPC clients only balance round robin (or ring hash above)
  if (grpc) return { lb_policy: 'ROUND_ROBIN' };
  switch (lb?.simple) {
    case 'ROUND_ROBIN': return { lb_policy: 'ROUND_ROBIN' };
    case 'RANDOM': return { lb_policy: 'RANDOM' };
    case 'PASSTHROUGH': return { lb_policy: 'CLUSTER_PROVIDED', originalDst: true };
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
    default: return { lb_policy: 'LEAST_REQUEST' };
  }
}

/**
 * The locality setting in force: the DR's, else an implicit enabled one when outlier detection is set
 * (Istio turns locality failover on by default once outliers can be detected). undefined = off.
 */
export function localitySetting(lb: LoadBalancerSettings | undefined, od: OutlierDetection | undefined): LocalityLoadBalancerSetting | undefined {
  const s = record(lb?.localityLbSetting) ?? (od ? {} : undefined);
  if (!s || s.enabled === false) return undefined;
  return s;
}

export function connectTimeout(pool: ConnectionPoolSettings | undefined, meshDefault: string): EnvoyResource {
  return duration(pool?.tcp?.connectTimeout) ?? duration(meshDefault) ?? msToDuration(10_000);
}
