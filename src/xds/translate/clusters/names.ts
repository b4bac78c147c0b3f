// xds/translate: Istio's cluster naming (outbound|9080|v1|reviews.default.svc.cluster.local) and the
// fixed clusters every sidecar has. Names are the contract with routes, endpoints and `istioctl`-literate users.

export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';

export type Direction = 'outbound' | 'inbound';

/** `outbound|9080|v1|reviews.default.svc.cluster.local`; subset and host may be empty (`inbound|9080||`). */
export function clusterName(direction: Direction, port: number, subset: string | undefined, host: string): string {
  return `${direction}|${port}|${subset ?? ''}|${host}`;
}

export function outboundCluster(host: string, port: number, subset?: string): string {
  return clusterName('outbound', port, subset, host);
}

export function inboundCluster(port: number): string {
  return clusterName('inbound', port, '', '');
}

export interface ParsedClusterName { direction: Direction; port: number; subset: string; host: string }

/** Inverse of clusterName; undefined for names not in that form (BlackHoleCluster, ...). */
export function parseClusterName(name: string): ParsedClusterName | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [dir, port, subset, host] = parts as [string, string, string, string];
  if (dir !== 'outbound' && dir !== 'inbound') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) return undefined;
  return { direction: dir, port: n, subset, host };
}

/** Istio's SNI for ISTIO_MUTUAL upstreams: the cluster name with "|" turned into "_." (outbound_.9080_.v1_.reviews...). */
export function istioMutualSni(name: string): string {
  return name.replaceAll('|', '_.');
}
