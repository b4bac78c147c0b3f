// config: TypeScript shapes of Istio's networking.istio.io specs (fields as in Istio's protos, camelCase JSON).
// Every field is optional as in the API; validation (config/validation) enforces what is required.

export type StringMatch = { exact?: string; prefix?: string; regex?: string };
export interface Headers { request?: HeaderOperations; response?: HeaderOperations }
export interface HeaderOperations { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }
export interface PortSelector { number?: number }
export interface Destination { host: string; subset?: string; port?: PortSelector }
export interface Percent { value?: number }

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch; scheme?: StringMatch; method?: StringMatch; authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  queryParams?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
  sourceNamespace?: string;
  statPrefix?: string;
}
export interface HTTPRouteDestination { destination: Destination; weight?: number; headers?: Headers }
export interface HTTPRedirect {
  uri?: string; authority?: string; port?: number; derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string; redirectCode?: number;
}
export interface HTTPDirectResponse { status: number; body?: { string?: string; bytes?: string } }
export interface RegexRewrite { match?: string; rewrite?: string }
export interface HTTPRewrite { uri?: string; authority?: string; uriRegexRewrite?: RegexRewrite }
export interface HTTPRetry {
  attempts?: number; perTryTimeout?: string; retryOn?: string; retryRemoteLocalities?: boolean | null;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}
export interface CorsPolicy {
  allowOrigins?: StringMatch[]; allowOrigin?: string[];
  allowMethods?: string[]; allowHeaders?: string[]; exposeHeaders?: string[];
  maxAge?: string; allowCredentials?: boolean; unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}
export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}
export interface Delegate { name?: string; namespace?: string }
export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  delegate?: Delegate;
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrors?: { destination: Destination; percentage?: Percent }[];
  mirrorPercentage?: Percent;
  mirrorPercent?: number;
  corsPolicy?: CorsPolicy;
  headers?: Headers;
}
export interface L4MatchAttributes {
  destinationSubnets?: string[]; port?: number; sourceLabels?: Record<string, string>;
  gateways?: string[]; sourceNamespace?: string; sourceSubnet?: string;
}
export interface RouteDestination { destination: Destination; weight?: number }
export interface TCPRoute { match?: L4MatchAttributes[]; route?: RouteDestination[] }
export interface TLSMatchAttributes extends L4MatchAttributes { sniHosts: string[] }
export interface TLSRoute { match: TLSMatchAttributes[]; route?: RouteDestination[] }

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tls?: TLSRoute[];
  tcp?: TCPRoute[];
  exportTo?: string[];
}

// ---- DestinationRule
export interface LocalityLoadBalancerSetting {
  distribute?: { from?: string; to?: Record<string, number> }[];
  failover?: { from?: string; to?: string }[];
  failoverPriority?: string[];
  enabled?: boolean | null;
}
export interface ConsistentHashLB {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  minimumRingSize?: number;
}
export interface LoadBalancerSettings {
  simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  consistentHash?: ConsistentHashLB;
  localityLbSetting?: LocalityLoadBalancerSetting;
  warmupDurationSecs?: string;
}
export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeout?: string; tcpKeepalive?: { probes?: number; time?: string; interval?: string }; maxConnectionDuration?: string; idleTimeout?: string };
  http?: {
    http1MaxPendingRequests?: number; http2MaxRequests?: number; maxRequestsPerConnection?: number; maxRetries?: number;
    idleTimeout?: string; h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE'; useClientProtocol?: boolean; maxConcurrentStreams?: number;
  };
}
export interface OutlierDetection {
  consecutiveErrors?: number; splitExternalLocalOriginErrors?: boolean; consecutiveLocalOriginFailures?: number | null;
  consecutiveGatewayErrors?: number | null; consecutive5xxErrors?: number | null;
  interval?: string; baseEjectionTime?: string; maxEjectionPercent?: number; minHealthPercent?: number;
}
export interface ClientTLSSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string; privateKey?: string; caCertificates?: string; credentialName?: string;
  subjectAltNames?: string[]; sni?: string; insecureSkipVerify?: boolean | null;
}
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: (Omit<TrafficPolicy, 'portLevelSettings'> & { port?: PortSelector })[];
  tunnel?: unknown;
  proxyProtocol?: unknown;
}
export interface Subset { name: string; labels?: Record<string, string>; trafficPolicy?: TrafficPolicy }
export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}

// ---- ServiceEntry / WorkloadEntry / WorkloadGroup
export interface ServicePortSpec { number: number; protocol?: string; name: string; targetPort?: number }
export interface WorkloadEntrySpec {
  address?: string; ports?: Record<string, number>; labels?: Record<string, string>; network?: string;
  locality?: string; weight?: number; serviceAccount?: string;
}
export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePortSpec[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}
export interface WorkloadGroupSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  template: WorkloadEntrySpec;
  probe?: unknown;
}

// ---- Gateway / Sidecar
export interface ServerTLSSettings {
  httpsRedirect?: boolean; mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
  serverCertificate?: string; privateKey?: string; caCertificates?: string; credentialName?: string;
  subjectAltNames?: string[]; minProtocolVersion?: string; maxProtocolVersion?: string; cipherSuites?: string[];
}
export interface GatewayServer {
  port: { number: number; protocol: string; name: string; targetPort?: number };
  bind?: string; hosts: string[]; tls?: ServerTLSSettings; defaultEndpoint?: string; name?: string;
}
export interface GatewaySpec { servers?: GatewayServer[]; selector?: Record<string, string> }

export interface IstioEgressListener {
  port?: { number: number; protocol?: string; name?: string };
  bind?: string; captureMode?: string; hosts: string[];
}
export interface IstioIngressListener {
  port: { number: number; protocol?: string; name?: string };
  bind?: string; captureMode?: string; defaultEndpoint?: string; tls?: ServerTLSSettings;
}
export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: IstioIngressListener[];
  egress?: IstioEgressListener[];
  outboundTrafficPolicy?: { mode?: 'REGISTRY_ONLY' | 'ALLOW_ANY'; egressProxy?: Destination };
}
