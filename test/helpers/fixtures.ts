// test/helpers: Istio YAML most data-plane and authz tests and the proxy bench start from — a STATIC MESH_INTERNAL
// ServiceEntry selecting WorkloadEntries by label, version subsets, path policies. Each ends in "---" so they concatenate.

/** A ServiceEntry <name>.<namespace>.svc.cluster.local with one HTTP port, selecting workloads by `selector`. */
export function serviceEntry(name: string, port = 9080, selector: Record<string, string> = { app: name }, namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  hosts: [${name}.${namespace}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  workloadSelector: {labels: ${JSON.stringify(selector)}}
---
`;
}

export interface WorkloadEntryOptions {
  labels: Record<string, string>;
  /** Port name -> port; absent: the service's own port numbers are used, as Istio does. */
  ports?: Record<string, number>;
  namespace?: string;
  serviceAccount?: string;
}

/** A WorkloadEntry at `address` (a workload a ServiceEntry's workloadSelector picks up by its labels). */
export function workloadEntry(name: string, address: string, o: WorkloadEntryOptions): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: ${o.namespace ?? 'default'}}
spec:
  address: ${address}
  labels: ${JSON.stringify(o.labels)}
${o.ports ? `  ports: ${JSON.stringify(o.ports)}\n` : ''}${o.serviceAccount ? `  serviceAccount: ${o.serviceAccount}\n` : ''}---
`;
}

/** A DestinationRule named after `host` with one subset per version: subset v1 selects labels {version: v1}. */
export function versionSubsets(host: string, versions: string[], namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}, namespace: ${namespace}}
spec:
  host: ${host}
  subsets:
${versions.map((v) => `  - {name: ${v}, labels: {version: ${v}}}\n`).join('')}---
`;
}

/** The reviews service and its one workload reviews-1 at 10.0.0.5 (app: reviews): the sidecar the authz tests build. */
export const REVIEWS_MESH = serviceEntry('reviews') + workloadEntry('reviews-1', '10.0.0.5', { labels: { app: 'reviews' } });

/** An AuthorizationPolicy on the workloads labelled app=<app> with one rule matching request `paths`. */
export function pathPolicy(name: string, action: 'ALLOW' | 'DENY' | 'AUDIT', paths: string[], app = 'reviews', namespace = 'default'): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: ${app}}}
  action: ${action}
  rules: [{to: [{operation: {paths: ${JSON.stringify(paths)}}}]}]
---
`;
}
