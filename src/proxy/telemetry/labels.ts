// proxy/telemetry: Istio's standard metric labels — who this proxy is (node metadata), who the peer is (SPIFFE
// identity, peer metadata), and which service a cluster name points at (outbound|port|subset|host).

/** One side of a call as Istio's labels see it; "unknown" where nothing says. */
export interface Workload {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
  cluster: string;
}

export const UNKNOWN = 'unknown';

function s(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * This proxy's own workload from its bootstrap node (Istio's node metadata): WORKLOAD_NAME, NAMESPACE, LABELS
 * (app / version, or the app.kubernetes.io and service.istio.io canonical names), CLUSTER_ID, and the SPIFFE
 * principal its certificate carries when it has a SERVICE_ACCOUNT.
 */
export function selfWorkload(node: { id: string; metadata: Record<string, unknown> }): Workload {
  const md = node.metadata ?? {};
  const labels = (md.LABELS && typeof md.LABELS === 'object' ? md.LABELS : {}) as Record<string, unknown>;
  // Node ids look like sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local.
  const idParts = node.id.split('~');
  const podNs = idParts[2]?.split('.') ?? [];
  const namespace = s(md.NAMESPACE) ?? s(podNs[1]) ?? UNKNOWN;
  const sa = s(md.SERVICE_ACCOUNT);
  const td = s(md.TRUST_DOMAIN) ?? 'cluster.local';
  const app = s(labels['service.istio.io/canonical-name']) ?? s(labels['app.kubernetes.io/name']) ?? s(labels.app) ?? UNKNOWN;
  const version = s(labels['service.istio.io/canonical-revision']) ?? s(labels['app.kubernetes.io/version']) ?? s(labels.version) ?? UNKNOWN;
  return {
    workload: s(md.WORKLOAD_NAME) ?? s(podNs[0]) ?? UNKNOWN,
    namespace,
    principal: sa ? `spiffe://${td}/ns/${namespace}/sa/${sa}` : UNKNOWN,
    app,
    version,
    cluster: s(md.CLUSTER_ID) ?? UNKNOWN,
  };
}

/** Namespace of a SPIFFE ID spiffe://TD/ns/NS/sa/SA, or undefined. */
export function spiffeNamespace(uri: string): string | undefined {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(uri);
  return m?.[1];
}

/** The service a cluster points at, from Istio's cluster naming. */
export interface ClusterService {
  direction: 'inbound' | 'outbound' | 'other';
  port: string;
  subset: string;
  host: string;
  /** destination_service_name / _namespace: the first two labels of a *.svc.* host, else the host / unknown. */
  name: string;
  namespace: string;
}

export function parseClusterName(cluster: string): ClusterService {
  const p = cluster.split('|');
  if (p.length === 4 && (p[0] === 'outbound' || p[0] === 'inbound')) {
    const host = p[3]!;
    const hs = hostService(host);
    return { direction: p[0], port: p[1]!, subset: p[2]!, host, ...hs };
  }
  return { direction: 'other', port: '', subset: '', host: cluster || UNKNOWN, name: cluster || UNKNOWN, namespace: UNKNOWN };
}

/** "reviews.default.svc.cluster.local" -> reviews / default; other hosts keep their name and an unknown namespace. */
export function hostService(host: string): { name: string; namespace: string } {
  if (!host) return { name: UNKNOWN, namespace: UNKNOWN };
  const labels = host.split('.');
  if (labels.length >= 3 && labels[2] === 'svc') return { name: labels[0]!, namespace: labels[1]! };
  return { name: host, namespace: UNKNOWN };
}

/**
 * Peer metadata exchange (Istio's x-envoy-peer-metadata does this with a protobuf Struct): a sidecar tells the other
 * side who it is in one header, so source_workload (inbound) and destination_workload (outbound) are known. Ours is a
 * ';'-joined list — workload;namespace;app;version;cluster — under our own header name, so a real Envoy ignores it.
 */
export const PEER_HEADER = 'x-rig-peer-metadata';

export function encodePeer(w: Workload): string {
  return [w.workload, w.namespace, w.app, w.version, w.cluster].map((v) => v.replace(/[;\s]/g, '_')).join(';');
}

/** Decode a peer header; undefined when malformed. The principal comes from the TLS handshake, never the header. */
export function decodePeer(v: string | undefined): Omit<Workload, 'principal'> | undefined {
  if (!v || v.length > 512) return undefined;
  const p = v.split(';');
  if (p.length !== 5 || p.some((x) => x === '')) return undefined;
  return { workload: p[0]!, namespace: p[1]!, app: p[2]!, version: p[3]!, cluster: p[4]! };
}
