// proxy/config: decodes Cluster (CDS) and ClusterLoadAssignment (EDS) into the narrowed ClusterConfig / ClusterLoadAssignment.
import { Ctx, type Obj, anyType, arr, durationMs, filterMetadata, fraction, isObj, num, obj, protoStruct, str, upstreamTransportSocket, wrappedNum } from './decode-common.ts';
import type { CircuitBreakerThresholds, ClusterConfig, ClusterLoadAssignment, DecodeResult, EndpointConfig, HealthStatus, LbPolicy, LocalityEndpoints, OutlierDetectionConfig } from './types.ts';

const TYPES = new Set(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST']);
const LB = new Set<LbPolicy>(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED']);
const AGGREGATE = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig';
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const TLS_MATCH_KEY = 'envoy.transport_socket_match';
const DNS_FAMILIES = new Set(['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL']);

export function decodeCluster(raw: Obj, resourceName?: string): DecodeResult<ClusterConfig> {
  const name = str(raw.name) ?? '';
  const ctx = new Ctx(`Cluster ${resourceName ?? name}`);
  if (!name) ctx.err('name', 'must not be empty');

  let type: ClusterConfig['type'] = 'STATIC'; // enum zero value
  let aggregateClusters: string[] | undefined;
  if (isObj(raw.cluster_type)) {
    const tc = obj(raw.cluster_type.typed_config);
    if (anyType(tc) === AGGREGATE) {
      type = 'AGGREGATE';
      aggregateClusters = arr(tc!.clusters).map(String);
      if (aggregateClusters.length === 0) ctx.err('cluster_type.typed_config.clusters', 'aggregate cluster needs member clusters');
    } else {
      ctx.err('cluster_type', `unsupported custom cluster type ${str(raw.cluster_type.name) ?? anyType(tc)}`);
    }
  } else if (raw.type !== undefined) {
    const t = String(raw.type);
    if (TYPES.has(t)) type = t as ClusterConfig['type'];
    else ctx.err('type', `unsupported discovery type ${t}`);
  }

  let lbPolicy = (str(raw.lb_policy) ?? 'ROUND_ROBIN') as LbPolicy;
  if (raw.lb_policy === 'LOAD_BALANCING_POLICY_CONFIG' || isObj(raw.load_balancing_policy)) {
    lbPolicy = typedLbPolicy(obj(raw.load_balancing_policy), ctx, raw);
  } else if (!LB.has(lbPolicy)) {
    ctx.err('lb_policy', `unsupported lb policy ${lbPolicy}`);
    lbPolicy = 'ROUND_ROBIN';
  }

  const out: ClusterConfig = {
    name,
    type,
    aggregateClusters,
    lbPolicy,
    connectTimeoutMs: durationMs(raw.connect_timeout) ?? 5000,
    idleTimeoutMs: 3_600_000,
    circuitBreakers: circuitBreakers(obj(raw.circuit_breakers), ctx),
    outlierDetection: isObj(raw.outlier_detection) ? outlier(raw.outlier_detection) : undefined,
    http2: false,
    useDownstreamProtocol: false,
    transportSocketMatches: [],
    commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: false, zoneAware: false },
    dnsRefreshRateMs: durationMs(raw.dns_refresh_rate) ?? 5000,
    dnsLookupFamily: (str(raw.dns_lookup_family) ?? 'AUTO') as ClusterConfig['dnsLookupFamily'],
    metadata: filterMetadata(raw.metadata),
  };
  if (!DNS_FAMILIES.has(out.dnsLookupFamily)) {
    ctx.err('dns_lookup_family', `unknown value ${out.dnsLookupFamily}`);
    out.dnsLookupFamily = 'AUTO';
  }
  if (type === 'EDS') {
    const eds = obj(raw.eds_cluster_config) ?? {};
    out.edsServiceName = str(eds.service_name) || undefined;
    const cs = obj(eds.eds_config);
    if (cs && !isObj(cs.ads) && !isObj(cs.self)) ctx.err('eds_cluster_config.eds_config', 'only ads or self config sources are supported');
  } else if (type !== 'ORIGINAL_DST' && type !== 'AGGREGATE') {
    if (isObj(raw.load_assignment)) {
      const r = claInto(raw.load_assignment, ctx, 'load_assignment', name);
      out.loadAssignment = r;
    } else {
      out.loadAssignment = { clusterName: name, localities: [], overprovisioningFactor: 140, dropOverloads: [] };
    }
  }
  if (type === 'ORIGINAL_DST' && lbPolicy !== 'CLUSTER_PROVIDED' && raw.lb_policy !== undefined) {
    ctx.err('lb_policy', 'ORIGINAL_DST clusters need lb_policy CLUSTER_PROVIDED');
  }

  if (isObj(raw.ring_hash_lb_config)) {
    const r = raw.ring_hash_lb_config;
    const min = wrappedNum(r.minimum_ring_size) ?? 1024;
    const max = wrappedNum(r.maximum_ring_size) ?? 8 * 1024 * 1024;
    if (min > max) ctx.err('ring_hash_lb_config', `minimum_ring_size ${min} > maximum_ring_size ${max}`);
    out.ringHash = { minimumRingSize: min, maximumRingSize: max, hashFunction: r.hash_function === 'MURMUR_HASH_2' ? 'MURMUR_HASH_2' : 'XX_HASH' };
  } else if (lbPolicy === 'RING_HASH' && !out.ringHash) {
    out.ringHash = { minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024, hashFunction: 'XX_HASH' };
  }
  if (isObj(raw.maglev_lb_config) || lbPolicy === 'MAGLEV') {
    const size = wrappedNum(obj(raw.maglev_lb_config)?.table_size) ?? 65537;
    if (!isPrime(size)) ctx.err('maglev_lb_config.table_size', `must be prime, got ${size}`);
    out.maglev ??= { tableSize: size };
  }
  if (isObj(raw.least_request_lb_config) || lbPolicy === 'LEAST_REQUEST') {
    const l = obj(raw.least_request_lb_config) ?? {};
    const choice = wrappedNum(l.choice_count) ?? 2;
    if (choice < 2) ctx.err('least_request_lb_config.choice_count', 'must be >= 2');
    out.leastRequest = { choiceCount: choice, activeRequestBias: num(obj(l.active_request_bias)?.default_value) ?? 1 };
  }
  const clc = obj(raw.common_lb_config);
  if (clc) {
    const p = obj(clc.healthy_panic_threshold);
    out.commonLbConfig = {
      healthyPanicThresholdPercent: p ? (num(p.value) ?? 0) : 50,
      localityWeighted: isObj(clc.locality_weighted_lb_config),
      zoneAware: isObj(clc.zone_aware_lb_config),
    };
  }

  // HTTP protocol: typed_extension_protocol_options (current) or the deprecated cluster fields.
  const tepo = obj(raw.typed_extension_protocol_options) ?? {};
  for (const [k, v] of Object.entries(tepo)) {
    const tv = obj(v) ?? {};
    if (k !== HTTP_PROTOCOL_OPTIONS && !anyType(tv).endsWith(HTTP_PROTOCOL_OPTIONS)) {
      ctx.err(`typed_extension_protocol_options[${JSON.stringify(k)}]`, `unsupported protocol options ${anyType(tv)}`);
      continue;
    }
    const explicit = obj(tv.explicit_http_config);
    if (explicit && isObj(explicit.http2_protocol_options)) out.http2 = true;
    // Http1ProtocolOptions.enable_trailers: forward request trailers to HTTP/1.1 upstreams (off by default, as in Envoy)
    const h1 = obj(explicit?.http_protocol_options) ?? obj(obj(tv.use_downstream_protocol_config)?.http_protocol_options);
    if (h1?.enable_trailers === true) out.http1EnableTrailers = true;
    if (isObj(tv.use_downstream_protocol_config)) out.useDownstreamProtocol = true;
    if (isObj(tv.auto_config)) out.useDownstreamProtocol = true; // ALPN-negotiated: follow the downstream when plaintext
    const common = obj(tv.common_http_protocol_options);
    if (common) {
      out.idleTimeoutMs = durationMs(common.idle_timeout) ?? out.idleTimeoutMs;
      out.maxRequestsPerConnection = wrappedNum(common.max_requests_per_connection);
    }
  }
  if (isObj(raw.http2_protocol_options)) out.http2 = true;
  if (obj(raw.http_protocol_options)?.enable_trailers === true) out.http1EnableTrailers = true;
  if (raw.protocol_selection === 'USE_DOWNSTREAM_PROTOCOL') out.useDownstreamProtocol = true;
  const cho = obj(raw.common_http_protocol_options);
  if (cho) out.idleTimeoutMs = durationMs(cho.idle_timeout) ?? out.idleTimeoutMs;
  out.maxRequestsPerConnection ??= wrappedNum(raw.max_requests_per_connection);
  out.perConnectionBufferLimitBytes = wrappedNum(raw.per_connection_buffer_limit_bytes);

  out.tls = upstreamTransportSocket(raw.transport_socket, ctx, 'transport_socket');
  arr(raw.transport_socket_matches).forEach((m, i) => {
    if (!isObj(m)) return;
    const match: Record<string, string> = {};
    for (const [k, v] of Object.entries(protoStruct(m.match))) match[k] = String(v);
    out.transportSocketMatches.push({ name: str(m.name) ?? '', match, tls: upstreamTransportSocket(m.transport_socket, ctx, `transport_socket_matches[${i}].transport_socket`) });
  });
  return ctx.errors.length ? { errors: ctx.errors } : { value: out };
}

/** The TLS choice for one endpoint: first transport_socket_match whose labels the endpoint carries, else the default. */
export function endpointTls(c: ClusterConfig, e: EndpointConfig): ClusterConfig['tls'] {
  const md = e.metadata[TLS_MATCH_KEY] ?? {};
  for (const m of c.transportSocketMatches) {
    if (Object.entries(m.match).every(([k, v]) => String(md[k]) === v)) return m.tls;
  }
  return c.tls;
}

function typedLbPolicy(p: Obj | undefined, ctx: Ctx, raw: Obj): LbPolicy {
  for (const pol of arr(p?.policies)) {
    const tc = obj(obj(obj(pol)?.typed_extension_config)?.typed_config);
    let t = anyType(tc);
    let cfg = tc;
    if (t.endsWith('.WrrLocality')) {
      // Locality weighting wraps the endpoint picking policy.
      const inner = arr(obj(cfg?.endpoint_picking_policy)?.policies)[0];
      cfg = obj(obj(obj(inner)?.typed_extension_config)?.typed_config);
      t = anyType(cfg);
    }
    if (t.endsWith('.RoundRobin')) return 'ROUND_ROBIN';
    if (t.endsWith('.LeastRequest')) return 'LEAST_REQUEST';
    if (t.endsWith('.Random')) return 'RANDOM';
    if (t.endsWith('.Maglev')) return 'MAGLEV';
    if (t.endsWith('.RingHash')) {
      // Fold the typed ring-hash config into the legacy field so one path reads it.
      raw.ring_hash_lb_config ??= { minimum_ring_size: cfg?.minimum_ring_size, maximum_ring_size: cfg?.maximum_ring_size, hash_function: cfg?.hash_function };
      return 'RING_HASH';
    }
  }
  ctx.err('load_balancing_policy', 'no supported policy in load_balancing_policy.policies');
  return 'ROUND_ROBIN';
}

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

function circuitBreakers(v: Obj | undefined, ctx: Ctx): CircuitBreakerThresholds[] {
  const out: CircuitBreakerThresholds[] = [];
  arr(v?.thresholds).forEach((t, i) => {
    if (!isObj(t)) return;
    const priority = t.priority === 'HIGH' ? 'HIGH' : 'DEFAULT';
    if (out.some((o) => o.priority === priority)) ctx.err(`circuit_breakers.thresholds[${i}].priority`, `duplicate thresholds for priority ${priority}`);
    const rb = obj(t.retry_budget);
    out.push({
      priority,
      maxConnections: wrappedNum(t.max_connections) ?? 1024,
      maxPendingRequests: wrappedNum(t.max_pending_requests) ?? 1024,
      maxRequests: wrappedNum(t.max_requests) ?? 1024,
      maxRetries: wrappedNum(t.max_retries) ?? 3,
      retryBudget: rb ? { budgetPercent: num(obj(rb.budget_percent)?.value) ?? 20, minRetryConcurrency: wrappedNum(rb.min_retry_concurrency) ?? 3 } : undefined,
    });
  });
  if (!out.some((o) => o.priority === 'DEFAULT')) out.unshift({ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
  return out;
}

function outlier(v: Obj): OutlierDetectionConfig {
  const n = (x: unknown, d: number): number => wrappedNum(x) ?? d;
  const interval = durationMs(v.interval) ?? 10_000;
  const base = durationMs(v.base_ejection_time) ?? 30_000;
  return {
    consecutive5xx: n(v.consecutive_5xx, 5),
    consecutiveGatewayFailure: n(v.consecutive_gateway_failure, 5),
    consecutiveLocalOriginFailure: n(v.consecutive_local_origin_failure, 5),
    intervalMs: interval,
    baseEjectionTimeMs: base,
    // Envoy: max_ejection_time defaults to 300 s or base_ejection_time if that is larger.
    maxEjectionTimeMs: durationMs(v.max_ejection_time) ?? Math.max(300_000, base),
    maxEjectionPercent: n(v.max_ejection_percent, 10),
    enforcingConsecutive5xx: n(v.enforcing_consecutive_5xx, 100),
    enforcingConsecutiveGatewayFailure: n(v.enforcing_consecutive_gateway_failure, 0),
    enforcingConsecutiveLocalOriginFailure: n(v.enforcing_consecutive_local_origin_failure, 100),
    enforcingSuccessRate: n(v.enforcing_success_rate, 100),
    successRateMinimumHosts: n(v.success_rate_minimum_hosts, 5),
    successRateRequestVolume: n(v.success_rate_request_volume, 100),
    successRateStdevFactor: n(v.success_rate_stdev_factor, 1900),
    failurePercentageThreshold: n(v.failure_percentage_threshold, 85),
    enforcingFailurePercentage: n(v.enforcing_failure_percentage, 0),
    failurePercentageMinimumHosts: n(v.failure_percentage_minimum_hosts, 5),
    failurePercentageRequestVolume: n(v.failure_percentage_request_volume, 50),
    splitExternalLocalOriginErrors: v.split_external_local_origin_errors === true,
  };
}

// ---------------------------------------------------------------------------------------------
// EDS

const HEALTH = new Set<HealthStatus>(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);

export function decodeClusterLoadAssignment(raw: Obj, resourceName?: string): DecodeResult<ClusterLoadAssignment> {
  const name = str(raw.cluster_name) ?? '';
  const ctx = new Ctx(`ClusterLoadAssignment ${resourceName ?? name}`);
  if (!name) ctx.err('cluster_name', 'must not be empty');
  const value = claInto(raw, ctx, '', name);
  return ctx.errors.length ? { errors: ctx.errors } : { value };
}

function claInto(raw: Obj, ctx: Ctx, field: string, clusterName: string): ClusterLoadAssignment {
  const p = field ? `${field}.` : '';
  const localities: LocalityEndpoints[] = [];
  arr(raw.endpoints).forEach((l, i) => {
    if (!isObj(l)) return;
    const f = `${p}endpoints[${i}]`;
    const loc = obj(l.locality) ?? {};
    const endpoints: EndpointConfig[] = [];
    arr(l.lb_endpoints).forEach((e, j) => {
      if (!isObj(e)) return;
      const ef = `${f}.lb_endpoints[${j}]`;
      const ep = obj(e.endpoint);
      const sa = obj(obj(ep?.address)?.socket_address);
      if (!sa) {
        ctx.err(`${ef}.endpoint.address`, 'only socket addresses are supported');
        return;
      }
      const port = num(sa.port_value) ?? 0;
      if (port <= 0 || port > 65535) ctx.err(`${ef}.endpoint.address.socket_address.port_value`, `invalid port ${port}`);
      const health = (str(e.health_status) ?? 'UNKNOWN') as HealthStatus;
      if (!HEALTH.has(health)) ctx.err(`${ef}.health_status`, `unknown health status ${health}`);
      const weight = wrappedNum(e.load_balancing_weight) ?? 1;
      if (weight < 1) ctx.err(`${ef}.load_balancing_weight`, 'must be >= 1');
      endpoints.push({ address: str(sa.address) ?? '', port, health, weight, hostname: str(ep?.hostname) || undefined, metadata: filterMetadata(e.metadata) });
    });
    const w = wrappedNum(l.load_balancing_weight);
    if (w !== undefined && w < 1) ctx.err(`${f}.load_balancing_weight`, 'must be >= 1');
    localities.push({
      locality: { region: str(loc.region) ?? '', zone: str(loc.zone) ?? '', subZone: str(loc.sub_zone) ?? '' },
      priority: num(l.priority) ?? 0,
      weight: w,
      endpoints,
    });
  });
  // Envoy: priorities must be contiguous from 0.
  const prios = [...new Set(localities.map((l) => l.priority))].sort((a, b) => a - b);
  prios.forEach((pr, i) => {
    if (pr !== i) ctx.err(`${p}endpoints`, `priorities must be contiguous from 0; missing priority ${i}`);
  });
  const policy = obj(raw.policy) ?? {};
  const dropOverloads = arr(policy.drop_overloads).filter(isObj).map((d, i) => ({ category: str(d.category) ?? '', fraction: fraction(d.drop_percentage, ctx, `${p}policy.drop_overloads[${i}].drop_percentage`) ?? { numerator: 0, denominator: 100 as const } }));
  return { clusterName, localities, overprovisioningFactor: wrappedNum(policy.overprovisioning_factor) ?? 140, dropOverloads };
}
