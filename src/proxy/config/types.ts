// proxy/config: the narrowed, validated configuration the data plane runs on (decoded at the edge from xDS).
//
// Raw Envoy protos never leave src/proxy/xds-client and src/proxy/config: everything else in the proxy
// sees these types. Units are in the field names or comments: every duration is in milliseconds,
// every default is Envoy's own default when the xDS field is absent.

// ---------------------------------------------------------------------------------------------
// Shared small shapes

/** A fraction as Envoy's FractionalPercent: numerator / denominator (100, 10_000 or 1_000_000). */
export interface Fraction {
  numerator: number;
  denominator: 100 | 10_000 | 1_000_000;
}

/**
 * Envoy's StringMatcher, normalised. For `regex`, `value` is JavaScript RegExp source already translated from RE2
 * (config/regex.ts) and must match the whole string (compile as ^(?:value)$). Every regex in these types is JS source.
 */
export interface StringMatch {
  kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';
  value: string;
  ignoreCase: boolean;
}

/** Envoy's HeaderMatcher (route.v3), with the deprecated forms folded into `match`. */
export interface HeaderMatcher {
  name: string; // lower-cased header name
  match:
    | { kind: 'string'; string: StringMatch }
    | { kind: 'present'; present: boolean }
    | { kind: 'range'; start: number; end: number }; // [start, end)
  invert: boolean;
  /** When the header is absent, match against "" instead of failing (Envoy's treat_missing_header_as_empty). */
  treatMissingAsEmpty: boolean;
}

/** Envoy's QueryParameterMatcher: a string match, or presence only. */
export interface QueryParamMatcher {
  name: string;
  match: { kind: 'string'; string: StringMatch } | { kind: 'present' };
}

/** One header to add (Envoy's HeaderValueOption). */
export interface HeaderValueOption {
  key: string; // lower-cased
  value: string;
  /** Envoy's append_action; the deprecated `append: false` maps to OVERWRITE_IF_EXISTS_OR_ADD. */
  action: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
  keepEmptyValue: boolean;
}

export interface HeaderMutations {
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[]; // lower-cased
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[]; // lower-cased
}

/** A file or inline value (Envoy's DataSource). */
export interface DataSource {
  filename?: string;
  inline?: string;
}

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

// ---------------------------------------------------------------------------------------------
// TLS

export interface CommonTlsConfig {
  /** Certificate + key given inline or by file. */
  certificates: { certChain: DataSource; privateKey: DataSource }[];
  /** SDS secret names for the certificate (e.g. Istio's "default"). */
  certificateSdsNames: string[];
  /** Trusted CA, inline/file, or an SDS secret name (e.g. Istio's "ROOTCA"). */
  trustedCa?: DataSource;
  validationSdsName?: string;
  /** Peer SAN must match one of these (empty: any). */
  matchSubjectAltNames: StringMatch[];
  alpnProtocols: string[];
  minVersion?: string; // 'TLSv1_2' etc.
  maxVersion?: string;
}

export interface UpstreamTlsConfig extends CommonTlsConfig {
  sni?: string;
}

export interface DownstreamTlsConfig extends CommonTlsConfig {
  requireClientCertificate: boolean;
}

// ---------------------------------------------------------------------------------------------
// Listeners (LDS)

export interface CidrRange {
  addressPrefix: string;
  prefixLen: number;
}

export interface FilterChainMatch {
  /** SNI names; '*.example.com' wildcards allowed. Empty: any. */
  serverNames: string[];
  destinationPort?: number;
  /** 'tls' | 'raw_buffer' | undefined (any). */
  transportProtocol?: string;
  applicationProtocols: string[];
  prefixRanges: CidrRange[];
  sourcePrefixRanges: CidrRange[];
  sourcePorts: number[];
}

export interface AccessLogConfig {
  name: string;
  kind: 'file' | 'stdout' | 'stderr' | 'other';
  path?: string;
  /** Envoy command-operator text format (e.g. "[%START_TIME%] ..."); undefined: Envoy's default format. */
  textFormat?: string;
  /** JSON format: key -> command operator string. */
  jsonFormat?: Record<string, string>;
  /** Envoy's AccessLogFilter decoded (which requests to log; the listener is NACKed when it has a filter type the
   * proxy does not implement); undefined: log every request. */
  logFilter?: AccessLogFilterConfig;
}

/** Envoy's AccessLogFilter (config.accesslog.v3), decoded; runtime keys are not looked up (no runtime layer). */
export type AccessLogFilterConfig =
  /** status_code_filter / duration_filter: compare the response code (0 when none) or total duration in ms. */
  | { kind: 'status_code' | 'duration'; op: 'EQ' | 'GE' | 'LE'; value: number }
  | { kind: 'not_health_check' }
  | { kind: 'traceable' }
  /** runtime_filter: sample percent_sampled, by x-request-id unless use_independent_randomness. */
  | { kind: 'runtime'; runtimeKey: string; percent: Fraction; independentRandomness: boolean }
  | { kind: 'and' | 'or'; filters: AccessLogFilterConfig[] }
  /** header_filter: the request headers match. */
  | { kind: 'header'; header: HeaderMatcher }
  /** response_flag_filter: any of `flags` set (empty: any flag at all). */
  | { kind: 'response_flag'; flags: string[] }
  /** grpc_status_filter: the gRPC status (numeric codes) is among `statuses`, or not when `exclude`. */
  | { kind: 'grpc_status'; statuses: number[]; exclude: boolean };

/** HTTP fault injection (envoy.filters.http.fault), used both as filter config and per-route override. */
export interface FaultConfig {
  delay?: { fixedDelayMs: number; percentage: Fraction; headerControlled: boolean };
  abort?: { httpStatus?: number; grpcStatus?: number; percentage: Fraction; headerControlled: boolean };
  /** Only requests whose headers all match are faulted. */
  headers: HeaderMatcher[];
  upstreamCluster?: string;
  downstreamNodes: string[];
  maxActiveFaults?: number;
}

/** CORS policy (envoy.filters.http.cors CorsPolicy, per route / virtual host). */
export interface CorsPolicyConfig {
  allowOrigins: StringMatch[];
  allowMethods?: string;
  allowHeaders?: string;
  exposeHeaders?: string;
  maxAge?: string;
  allowCredentials?: boolean;
  allowPrivateNetworkAccess?: boolean;
  /** Share of requests the policy is enforced on (default 100%). */
  filterEnabled: Fraction;
  /** Share evaluated in shadow mode only (no enforcement), if set. */
  shadowEnabled?: Fraction;
  forwardNotMatchingPreflights: boolean;
}

/** Local rate limit (token bucket). */
export interface LocalRateLimitConfig {
  statPrefix: string;
  tokenBucket?: { maxTokens: number; tokensPerFill: number; fillIntervalMs: number };
  filterEnabled?: Fraction;
  filterEnforced?: Fraction;
}

/** An HTTP filter of the connection manager, in chain order (router last). */
export type HttpFilterConfig =
  | { name: string; type: 'router'; disabled: boolean }
  | { name: string; type: 'fault'; disabled: boolean; fault: FaultConfig }
  | { name: string; type: 'cors'; disabled: boolean }
  | { name: string; type: 'local_ratelimit'; disabled: boolean; rateLimit: LocalRateLimitConfig }
  /** Auth filters, decoded by decode-rbac.ts / decode-jwt.ts (a config that does not decode NACKs the listener). */
  | { name: string; type: 'rbac'; disabled: boolean; rbac: import('./authz-types.ts').RbacConfig }
  | { name: string; type: 'jwt_authn'; disabled: boolean; jwt: import('./authz-types.ts').JwtAuthnConfig }
  /** External authorization over HTTP (decode-ext-authz.ts), from an AuthorizationPolicy CUSTOM action. */
  | { name: string; type: 'ext_authz'; disabled: boolean; extAuthz: import('./decode-ext-authz.ts').ExtAuthzConfig }
  /** An optional filter (is_optional) we do not implement: skipped, as Envoy does. */
  | { name: string; type: 'skipped'; disabled: boolean; typeUrl: string };

export interface HttpHandlerConfig {
  kind: 'http';
  statPrefix: string;
  /** RDS: the route configuration to use (resolved through ProxyConfigSnapshot.routes). */
  routeConfigName?: string;
  /** Inline route_config. Exactly one of routeConfigName / routeConfig is set. */
  routeConfig?: RouteConfig;
  httpFilters: HttpFilterConfig[];
  accessLog: AccessLogConfig[];
  codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  /** 0 = disabled. Envoy's default stream idle timeout is 5 min. */
  streamIdleTimeoutMs: number;
  /** 0 = disabled (Envoy's default). */
  requestTimeoutMs: number;
  /** Whole-connection idle timeout; undefined = Envoy default 1 h. */
  idleTimeoutMs?: number;
  /** Drain timeout for HTTP/2 GOAWAY; default 5 s. */
  drainTimeoutMs: number;
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  /** Generate x-request-id when absent (default true). */
  generateRequestId: boolean;
  /** Connection upgrades enabled (e.g. 'websocket'). */
  upgradeTypes: string[];
  normalizePath: boolean;
  mergeSlashes: boolean;
  /** Envoy's path_with_escaped_slashes_action for %2F / %5C in the path; undefined: KEEP_UNCHANGED. */
  pathWithEscapedSlashesAction?: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
  /** Strip the port from Host before routing (and forwarding): Envoy's strip_any_host_port / strip_matching_host_port (listener port only). */
  stripHostPort?: 'any' | 'matching';
  /** Value of the server header; undefined: 'envoy' (Envoy's default). */
  serverName?: string;
  forwardClientCertDetails: string;
  /** HCM tracing: present when the listener traces (trace headers started / advanced); sampling of new traces, 0-100 %. */
  tracing?: TracingConfig;
}

/** HCM tracing (decode-tracing.ts). Without `zipkin` headers are propagated but no span is reported. */
export interface TracingConfig {
  randomSamplingPercent: number;
  /** Cap on the http.url tag and the span name's path (Envoy's max_path_tag_length, default 256). */
  maxPathTagLength?: number;
  customTags?: CustomTagConfig[];
  zipkin?: ZipkinTracerConfig;
}
/** envoy.tracers.zipkin: spans as Zipkin v2 JSON POSTed to collectorEndpoint on an endpoint of collectorCluster. */
export interface ZipkinTracerConfig {
  collectorCluster: string;
  collectorEndpoint: string;
  /** Host header of the POST (Envoy's default: the cluster name). */
  collectorHostname: string;
}
export type CustomTagConfig =
  | { tag: string; kind: 'literal'; value: string }
  | { tag: string; kind: 'environment' | 'header'; name: string; defaultValue?: string };

export interface TcpHandlerConfig {
  kind: 'tcp';
  statPrefix: string;
  /** Exactly one of cluster / weightedClusters is set. */
  cluster?: string;
  weightedClusters?: { name: string; weight: number }[];
  /** Default 1 h; 0 = disabled. */
  idleTimeoutMs: number;
  accessLog: AccessLogConfig[];
  maxConnectAttempts: number; // default 1
}

/** A network filter before the terminal one (e.g. network RBAC): canonical plain object for its owner. */
export interface NetworkFilterConfig {
  name: string;
  typeUrl: string;
  config: Record<string, unknown>;
  /** envoy.filters.network.rbac, decoded and validated (src/proxy/config/decode-rbac.ts). */
  rbac?: import('./authz-types.ts').RbacConfig;
}

export interface FilterChainConfig {
  name: string;
  match: FilterChainMatch;
  /** Present when the chain terminates TLS. */
  tls?: DownstreamTlsConfig;
  networkFilters: NetworkFilterConfig[];
  handler: HttpHandlerConfig | TcpHandlerConfig;
}

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  /** False for Istio's virtual listeners that only receive hand-offs from the original-dst listener. */
  bindToPort: boolean;
  /** Hand connections to the listener matching their original destination (Istio's 15001/15006). */
  useOriginalDst: boolean;
  /** Listener filter names, e.g. envoy.filters.listener.tls_inspector, http_inspector, original_dst. */
  listenerFilters: string[];
  trafficDirection: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
  filterChains: FilterChainConfig[];
  defaultFilterChain?: FilterChainConfig;
}

// ---------------------------------------------------------------------------------------------
// Routes (RDS)

export type PathMatch =
  | { kind: 'prefix'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'regex'; regex: string }
  /** Prefix that must end at a path segment boundary ('/', '?', '#' or end). */
  | { kind: 'pathSeparatedPrefix'; value: string };

export interface RouteMatch {
  path: PathMatch;
  /** Default true. Applies to prefix/path/pathSeparatedPrefix. */
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  queryParams: QueryParamMatcher[];
  /** Only gRPC requests (content-type application/grpc*). */
  grpc: boolean;
  /** Match only this share of requests (Envoy's runtime_fraction default value). */
  runtimeFraction?: Fraction;
}

/** Envoy's RetryPolicy. Istio's `attempts` becomes numRetries. */
export interface RetryPolicyConfig {
  /** e.g. ['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'unavailable'] */
  retryOn: string[];
  /** Default 1. */
  numRetries: number;
  /** 0 = use the route's timeout. */
  perTryTimeoutMs: number;
  perTryIdleTimeoutMs: number;
  retriableStatusCodes: number[];
  retriableHeaders: HeaderMatcher[];
  retriableRequestHeaders: HeaderMatcher[];
  /** Default base 25 ms, max 10x base. */
  backoff: { baseIntervalMs: number; maxIntervalMs: number };
  /** e.g. ['envoy.retry_host_predicates.previous_hosts']. */
  retryHostPredicates: string[];
  hostSelectionRetryMaxAttempts: number;
}

export type HashPolicyConfig = { terminal: boolean } & (
  | { kind: 'header'; headerName: string }
  | { kind: 'cookie'; name: string; ttlMs?: number; path?: string }
  | { kind: 'sourceIp' }
  | { kind: 'queryParameter'; name: string }
  | { kind: 'filterState'; key: string }
);

export interface MirrorPolicy {
  cluster: string;
  /** Share of requests mirrored; default 100%. */
  fraction: Fraction;
  /** Whether trace sampling is inherited (informational). */
  traceSampled?: boolean;
}

/** Per-filter overrides on a virtual host, route or weighted cluster (typed_per_filter_config). */
export interface PerFilterConfig {
  fault?: FaultConfig;
  cors?: CorsPolicyConfig;
  /** Filter names disabled here (FilterConfig{disabled:true}). */
  disabledFilters: string[];
}

export interface WeightedClusterEntry extends HeaderMutations {
  name: string;
  weight: number;
  perFilter: PerFilterConfig;
}

export type ClusterSpecifier =
  | { kind: 'cluster'; name: string }
  | { kind: 'weighted'; clusters: WeightedClusterEntry[]; totalWeight: number }
  /** Cluster named by a request header. */
  | { kind: 'header'; header: string };

export interface ForwardAction {
  kind: 'route';
  cluster: ClusterSpecifier;
  /** Upstream timeout for the whole request; default 15000; 0 = disabled. */
  timeoutMs: number;
  idleTimeoutMs?: number;
  /** Cap on the grpc-timeout header when set (0 = no cap); undefined: grpc-timeout ignored. */
  grpcTimeoutHeaderMaxMs?: number;
  retryPolicy?: RetryPolicyConfig;
  prefixRewrite?: string;
  regexRewrite?: { regex: string; substitution: string };
  hostRewrite?: { kind: 'literal'; value: string } | { kind: 'header'; header: string } | { kind: 'auto' };
  hashPolicy: HashPolicyConfig[];
  mirrors: MirrorPolicy[];
  /** Upgrades enabled/disabled on this route, overriding the HCM's. */
  upgradeConfigs: { upgradeType: string; enabled: boolean }[];
  maxStreamDurationMs?: number;
}

export interface RedirectAction {
  kind: 'redirect';
  scheme?: string;
  host?: string;
  port?: number;
  /** Replace the whole path (incl. query unless it carries its own). */
  path?: string;
  prefixRewrite?: string;
  regexRewrite?: { regex: string; substitution: string };
  /** 301 (default), 302, 303, 307, 308. */
  responseCode: 301 | 302 | 303 | 307 | 308;
  stripQuery: boolean;
  httpsRedirect: boolean;
}

export interface DirectResponseAction {
  kind: 'direct';
  status: number;
  body?: string;
}

export interface RouteEntry extends HeaderMutations {
  name: string;
  match: RouteMatch;
  action: ForwardAction | RedirectAction | DirectResponseAction;
  perFilter: PerFilterConfig;
  /** Decorator operation name (tracing), if any. */
  operation?: string;
}

export interface VirtualHostConfig extends HeaderMutations {
  name: string;
  /** Lower-cased; '*' , '*.suffix', 'prefix*', with or without ':port'. */
  domains: string[];
  routes: RouteEntry[];
  requireTls: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  retryPolicy?: RetryPolicyConfig;
  perFilter: PerFilterConfig;
  includeAttemptCountInRequest: boolean;
  includeAttemptCountInResponse: boolean;
}

export interface RouteConfig extends HeaderMutations {
  name: string;
  virtualHosts: VirtualHostConfig[];
  /** Envoy's ignore_port_in_host_matching. */
  ignorePortInHostMatching: boolean;
  /** Least specific per-filter overrides (route configuration level). */
  perFilter?: PerFilterConfig;
}

// ---------------------------------------------------------------------------------------------
// Clusters (CDS)

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

/** One threshold set per routing priority; defaults are Envoy's. */
export interface CircuitBreakerThresholds {
  priority: 'DEFAULT' | 'HIGH';
  maxConnections: number; // 1024
  maxPendingRequests: number; // 1024
  maxRequests: number; // 1024
  maxRetries: number; // 3
  /** Retry budget, when set, replaces maxRetries: percent of active requests, min concurrency. */
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number };
}

/** Outlier detection, Envoy's defaults in comments. */
export interface OutlierDetectionConfig {
  consecutive5xx: number; // 5
  consecutiveGatewayFailure: number; // 5
  consecutiveLocalOriginFailure: number; // 5
  intervalMs: number; // 10000
  baseEjectionTimeMs: number; // 30000
  maxEjectionTimeMs: number; // 300000
  maxEjectionPercent: number; // 10
  enforcingConsecutive5xx: number; // 100 (percent)
  enforcingConsecutiveGatewayFailure: number; // 0
  enforcingConsecutiveLocalOriginFailure: number; // 100
  enforcingSuccessRate: number; // 100
  successRateMinimumHosts: number; // 5
  successRateRequestVolume: number; // 100
  successRateStdevFactor: number; // 1900 (divided by 1000)
  failurePercentageThreshold: number; // 85
  enforcingFailurePercentage: number; // 0
  failurePercentageMinimumHosts: number; // 5
  failurePercentageRequestVolume: number; // 50
  splitExternalLocalOriginErrors: boolean; // false
}

export interface CommonLbConfig {
  /** Percent; default 50. 0 disables panic mode. */
  healthyPanicThresholdPercent: number;
  /** Weight localities by load_balancing_weight (Envoy's locality_weighted_lb_config). */
  localityWeighted: boolean;
  zoneAware: boolean;
}

export interface ClusterConfig {
  name: string;
  type: 'EDS' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'ORIGINAL_DST' | 'AGGREGATE';
  /** EDS resource to subscribe to (eds_cluster_config.service_name, else the cluster name). */
  edsServiceName?: string;
  /** Inline endpoints for STATIC / *_DNS clusters. */
  loadAssignment?: ClusterLoadAssignment;
  /** Member clusters of an aggregate cluster, in priority order. */
  aggregateClusters?: string[];
  lbPolicy: LbPolicy;
  ringHash?: { minimumRingSize: number; maximumRingSize: number; hashFunction: 'XX_HASH' | 'MURMUR_HASH_2' };
  maglev?: { tableSize: number };
  leastRequest?: { choiceCount: number; activeRequestBias: number };
  /** Default 5000. */
  connectTimeoutMs: number;
  /** Upstream connection idle timeout; default 1 h. */
  idleTimeoutMs: number;
  maxRequestsPerConnection?: number;
  perConnectionBufferLimitBytes?: number;
  circuitBreakers: CircuitBreakerThresholds[];
  outlierDetection?: OutlierDetectionConfig;
  /** Speak HTTP/2 to upstreams (explicit http2 options). */
  http2: boolean;
  /** Use the downstream's protocol (Istio's USE_DOWNSTREAM_PROTOCOL / use_downstream_protocol_config). */
  useDownstreamProtocol: boolean;
  /**
   * HTTP/1.1 http_protocol_options.enable_trailers: send request trailers in a chunked body to HTTP/1.1 upstreams.
   * Unset / false: Envoy's default, the HTTP/1 codec drops them (HTTP/2 upstreams always get them).
   */
  http1EnableTrailers?: boolean;
  /** Default transport socket TLS (absent: plaintext). */
  tls?: UpstreamTlsConfig;
  /** Istio's per-endpoint TLS choice: first entry whose labels are a subset of the endpoint's transport-socket-match metadata. */
  transportSocketMatches: { name: string; match: Record<string, string>; tls?: UpstreamTlsConfig }[];
  commonLbConfig: CommonLbConfig;
  dnsRefreshRateMs: number; // 5000
  dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  /** filter_metadata as plain JSON (e.g. istio service info). */
  metadata: Record<string, Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------
// Endpoints (EDS)

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface EndpointConfig {
  address: string;
  port: number;
  health: HealthStatus;
  /** load_balancing_weight, default 1. */
  weight: number;
  hostname?: string;
  /** filter_metadata as plain JSON; Istio puts tlsMode under 'envoy.transport_socket_match'. */
  metadata: Record<string, Record<string, unknown>>;
}

export interface LocalityEndpoints {
  locality: Locality;
  /** 0 is the highest priority. */
  priority: number;
  /** load_balancing_weight; undefined when not given (such localities get no traffic with locality weighting). */
  weight?: number;
  endpoints: EndpointConfig[];
}

export interface ClusterLoadAssignment {
  clusterName: string;
  localities: LocalityEndpoints[];
  /** Percent; Envoy's default 140 (1.4 factor). */
  overprovisioningFactor: number;
  dropOverloads: { category: string; fraction: Fraction }[];
}

// ---------------------------------------------------------------------------------------------
// Secrets (SDS), optional

export interface SecretConfig {
  name: string;
  tlsCertificate?: { certChain: DataSource; privateKey: DataSource };
  validationContext?: { trustedCa?: DataSource; matchSubjectAltNames: StringMatch[] };
}

// ---------------------------------------------------------------------------------------------
// The consistent view the xDS client hands to the engine

export interface ProxyConfigSnapshot {
  /** Local counter, +1 for every published snapshot. */
  readonly generation: number;
  /**
   * Only listeners whose RDS route configs are present (Envoy's warming) — or whose initial fetch timed out, in
   * which case handlerRoutes() is undefined and the engine answers 404 (NR) as Envoy does with no route config.
   */
  readonly listeners: ReadonlyMap<string, ListenerConfig>;
  readonly routes: ReadonlyMap<string, RouteConfig>;
  /** Only clusters whose EDS assignment has arrived (or that need none, or whose initial fetch timed out: no endpoints). */
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  /** Keyed by ClusterLoadAssignment.clusterName (= cluster.edsServiceName ?? cluster.name). */
  readonly endpoints: ReadonlyMap<string, ClusterLoadAssignment>;
  readonly secrets: ReadonlyMap<string, SecretConfig>;
  /** Last applied version_info per type URL. */
  readonly versions: Readonly<Record<string, string>>;
}

/** The endpoints a cluster uses, whether inline or from EDS. */
export function clusterEndpoints(s: ProxyConfigSnapshot, c: ClusterConfig): ClusterLoadAssignment | undefined {
  if (c.type === 'EDS') return s.endpoints.get(c.edsServiceName ?? c.name);
  return c.loadAssignment;
}

/** The route configuration an HTTP handler uses, inline or from RDS. */
export function handlerRoutes(s: ProxyConfigSnapshot, h: HttpHandlerConfig): RouteConfig | undefined {
  return h.routeConfig ?? (h.routeConfigName !== undefined ? s.routes.get(h.routeConfigName) : undefined);
}

export function fractionValue(f: Fraction): number {
  return f.numerator / f.denominator;
}

// ---------------------------------------------------------------------------------------------
// Decoding results

/** One reason a resource was rejected: names the resource and the field path. */
export interface DecodeError {
  resource: string;
  field: string;
  message: string;
}

export type DecodeResult<T> = { value: T; errors?: undefined } | { value?: undefined; errors: DecodeError[] };

export function formatDecodeError(e: DecodeError): string {
  return `${e.resource}: ${e.field}: ${e.message}`;
}
