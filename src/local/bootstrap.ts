// local: writes the Envoy-shaped bootstrap each proxy of a local mesh starts from: its node identity (Istio's id
// form and metadata, plus the local-mode listener ports) and the control plane's address.
export interface ProxyIdentity {
  type: 'sidecar' | 'router';
  ip: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  workloadName: string;
  /** Extra node metadata: RIG_HTTP_PROXY_PORT, RIG_INBOUND_PORTS, ... */
  metadata: Record<string, unknown>;
}

export function nodeId(p: ProxyIdentity): string {
  return `${p.type}~${p.ip}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`;
}

export function bootstrapFor(p: ProxyIdentity, xds: { host: string; port: number }, adminPort: number): Record<string, unknown> {
  return {
    node: {
      id: nodeId(p),
      cluster: `${p.workloadName}.${p.namespace}`,
      metadata: {
        NAMESPACE: p.namespace, LABELS: p.labels, SERVICE_ACCOUNT: p.serviceAccount, WORKLOAD_NAME: p.workloadName,
        INSTANCE_IPS: p.ip, CLUSTER_ID: 'local', ...p.metadata,
      },
    },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [{
        name: 'xds-grpc', type: 'STATIC', connect_timeout: '1s',
        load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: xds.host, port_value: xds.port } } } }] }] },
      }],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
  };
}
