// test/helpers: the mesh config of the CUSTOM AuthorizationPolicy e2e tests — a MeshConfig extension provider, a
// ServiceEntry for the authorization server on 127.0.0.1, the `server` workload's service, and a CUSTOM policy on
// /allow* and /deny* of app=server that names the provider.

export interface ExtAuthzMesh {
  /** The provider's name in MeshConfig and in the policy. */
  provider: string;
  /** The provider's own lines under `- name:` (e.g. `envoyExtAuthzHttp:` and its fields), indented by 6 spaces. */
  providerYaml: string;
  /** The authorization server's service short name (host `<name>.default.svc.cluster.local`). */
  service: string;
  port: number;
  /** The ServiceEntry port's protocol: HTTP or GRPC (the port name is its lower case). */
  protocol: 'HTTP' | 'GRPC';
}

export function extAuthzMeshConfig(m: ExtAuthzMesh): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - name: ${m.provider}
${m.providerYaml.replace(/\n$/, '')}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${m.service}, namespace: default}
spec:
  hosts: [${m.service}.default.svc.cluster.local]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: ${m.port}, name: ${m.protocol.toLowerCase()}, protocol: ${m.protocol}}]
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: server, namespace: default}
spec:
  hosts: [server.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: server}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  action: CUSTOM
  provider: {name: ${m.provider}}
  rules: [{to: [{operation: {paths: ["/allow*", "/deny*"]}}]}]
`;
}
