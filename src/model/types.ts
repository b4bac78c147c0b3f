// model: the control plane's internal view of the mesh — services, endpoints, proxies, mesh
// settings — and the immutable push snapshot that translation reads. Nothing here does I/O.
import type { ConfigObject } from '../config/types.ts';
import type {
  VirtualServiceSpec, DestinationRuleSpec, GatewaySpec, SidecarSpec, ServiceEntrySpec, WorkloadEntrySpec,
} from '../config/types/networking.ts';

/** Istio's protocol names, chosen from port name prefix / appProtocol / explicit protocol. */
export type Protocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'GRPC-WEB' | 'HTTPS' | 'TLS' | 'TCP' | 'MONGO' | 'REDIS' | 'MYSQL' | 'UDP' | 'UNKNOWN';

export interface ServicePort {
  name: string;
  port: number; // the service port clients dial
  protocol: Protocol;
  targetPort?: number; // default port on the workloads, when endpoints do not name one
}

export interface Service {
  /** Fully qualified host, e.g. reviews.default.svc.cluster.local, or an external name like api.example.com. */
  hostname: string;
  namespace: string; // namespace of the config that declared it
  ports: ServicePort[];
  /** VIPs (ServiceEntry addresses, Kubernetes clusterIP); empty when none. */
  addresses: string[];
  resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  location: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  /** Visibility: "*" (all), "." (own namespace), "~" (none) or namespace names. Default ["*"]. */
  exportTo: string[];
  labels: Record<string, string>;
  /** Kubernetes Service selector / ServiceEntry workloadSelector, when set. */
  selector?: Record<string, string>;
  subjectAltNames?: string[];
  origin: { kind: 'ServiceEntry' | 'Service'; namespace: string; name: string };
}

export interface Locality { region?: string; zone?: string; subzone?: string }

/** One address serving one service port (Istio's IstioEndpoint). */
export interface Endpoint {
  hostname: string; // the service it belongs to
  servicePortName: string;
  servicePort: number;
  address: string; // IP or DNS name (resolution DNS)
  port: number; // port on the workload
  labels: Record<string, string>;
  locality: Locality;
  weight?: number; // load balancing weight, default 1
  serviceAccount?: string;
  network?: string;
  healthy: boolean;
  /** "istio" when the workload has a sidecar (mTLS capable), "disabled" otherwise. */
  tlsMode: 'istio' | 'disabled';
  workload?: { kind: 'WorkloadEntry' | 'Pod' | 'ServiceEntry'; namespace: string; name: string };
}

/** Mesh-wide settings in Istio's MeshConfig form (subset Rigging honours), with Istio's defaults. */
export interface MeshConfig {
  trustDomain: string; // default "cluster.local"
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  defaultHttpRetryPolicy?: { attempts?: number; retryOn?: string; perTryTimeout?: string };
  /** Default route timeout; Istio's default is none (0 = disabled). */
  defaultTimeout?: string;
  accessLogFile?: string; // "" = off, "/dev/stdout" = on
  accessLogEncoding?: 'TEXT' | 'JSON';
  /** Format for the built-in `envoy` access log provider (text, or a JSON object of labels when JSON); "" = Istio's default. */
  accessLogFormat?: string;
  enableTracing: boolean;
  defaultConfig: {
    /** sampling: percent of new traces sampled; zipkin.address: the legacy collector "host:port"; maxPathTagLength: http.url tag cap. */
    tracing?: { sampling?: number; zipkin?: { address?: string }; maxPathTagLength?: number };
    proxyMetadata?: Record<string, string>;
  };
  rootNamespace: string; // default "istio-system"
  connectTimeout: string; // default "10s"
  protocolDetectionTimeout?: string;
  ingressService?: string;
  ingressSelector?: string;
  extensionProviders?: unknown[];
  /** Providers used when no Telemetry names one (Istio's MeshConfig.defaultProviders); only the first tracing one is used. */
  defaultProviders?: { tracing?: string[]; metrics?: string[]; accessLogging?: string[] };
  /** How every sidecar/gateway HCM normalizes request paths (Istio's pathNormalization); undefined: BASE. */
  pathNormalization?: { normalization: PathNormalization };
}

/** Istio's MeshConfig.ProxyPathNormalization.NormalizationType (DEFAULT is read as BASE). */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export type ProxyType = 'sidecar' | 'router';

/** A connected proxy, parsed from its xDS node (id `TYPE~IP~NAME.NS~NS.svc.cluster.local` + metadata). */
export interface Proxy {
  id: string;
  type: ProxyType;
  ip: string; // first IP; ips holds all
  ips: string[];
  name: string; // pod / workload instance name
  namespace: string;
  dnsDomain: string; // NS.svc.cluster.local
  labels: Record<string, string>;
  serviceAccount?: string;
  workloadName?: string;
  /** "grpc" for proxyless gRPC clients (GENERATOR=grpc). */
  generator?: string;
  clusterId?: string;
  locality: Locality;
  /** Everything else the node sent in metadata, untouched (e.g. local-mode listener ports). */
  metadata: Record<string, unknown>;
}

type Cfg<S> = ConfigObject<S>;

/**
 * Immutable view of all inputs of one push. Translation is a pure function of (snapshot, proxy).
 * Arrays are sorted deterministically (namespace, name) so output is stable.
 */
export interface PushSnapshot {
  readonly version: string;
  readonly mesh: MeshConfig;
  readonly services: readonly Service[];
  readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>; // by service hostname
  readonly virtualServices: readonly Cfg<VirtualServiceSpec>[];
  readonly destinationRules: readonly Cfg<DestinationRuleSpec>[];
  readonly gateways: readonly Cfg<GatewaySpec>[];
  readonly sidecars: readonly Cfg<SidecarSpec>[];
  readonly serviceEntries: readonly Cfg<ServiceEntrySpec>[];
  readonly workloadEntries: readonly Cfg<WorkloadEntrySpec>[];
  readonly peerAuthentications: readonly ConfigObject[];
  readonly requestAuthentications: readonly ConfigObject[];
  readonly authorizationPolicies: readonly ConfigObject[];
  readonly telemetries: readonly ConfigObject[];
  /** DNS suffix used to resolve short host names (default "cluster.local"). */
  readonly domainSuffix?: string;
  /** Problems found while building the snapshot (registry conflicts, mesh config fields ignored). */
  readonly issues?: readonly import('../config/types.ts').ValidationIssue[];
  /** WorkloadGroups (their templates label auto-registered WorkloadEntries). */
  readonly workloadGroups?: readonly ConfigObject[];
  /**
   * JWKS documents fetched for RequestAuthentication jwksUri values (key: the URI), resolved outside
   * translation (xds/translate/security/jwks-resolver.ts). A URI absent here or with an error is translated to a
   * JWKS no token verifies against (fail closed), as Istio does.
   */
  readonly jwks?: ReadonlyMap<string, JwksResult>;
}

/** The outcome of fetching one jwksUri: the JWKS JSON text, or why it could not be had. */
export interface JwksResult { jwks?: string; error?: string }
