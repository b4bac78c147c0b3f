// config: the table of known kinds (Istio CRDs and the Kubernetes kinds Rigging uses) and apiVersion lookup.

export type KindClass = 'istio' | 'kubernetes-used' | 'kubernetes-skipped';

export interface KindInfo {
  kind: string;
  group: string; // "" for the Kubernetes core group
  versions: string[];
  cls: KindClass;
  namespaced: boolean;
}

const NET_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];
const SEC_VERSIONS = ['v1', 'v1beta1'];
const TEL_VERSIONS = ['v1', 'v1alpha1'];

export const ISTIO_KINDS: KindInfo[] = [
  ...['VirtualService', 'DestinationRule', 'ServiceEntry', 'Gateway', 'Sidecar', 'WorkloadEntry', 'WorkloadGroup'].map(
    (kind): KindInfo => ({ kind, group: 'networking.istio.io', versions: NET_VERSIONS, cls: 'istio', namespaced: true }),
  ),
  ...['PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy'].map(
    (kind): KindInfo => ({ kind, group: 'security.istio.io', versions: SEC_VERSIONS, cls: 'istio', namespaced: true }),
  ),
  { kind: 'Telemetry', group: 'telemetry.istio.io', versions: TEL_VERSIONS, cls: 'istio', namespaced: true },
];

/** Kubernetes kinds whose content Rigging reads (services, endpoints, the `istio` mesh ConfigMap). */
export const KUBERNETES_USED_KINDS: KindInfo[] = [
  { kind: 'Service', group: '', versions: ['v1'], cls: 'kubernetes-used', namespaced: true },
  { kind: 'Endpoints', group: '', versions: ['v1'], cls: 'kubernetes-used', namespaced: true },
  { kind: 'EndpointSlice', group: 'discovery.k8s.io', versions: ['v1'], cls: 'kubernetes-used', namespaced: true },
  { kind: 'ConfigMap', group: '', versions: ['v1'], cls: 'kubernetes-used', namespaced: true },
];

/** Name of the ConfigMap that carries Istio's MeshConfig under data.mesh. Other ConfigMaps are skipped. */
export const MESH_CONFIGMAP_NAME = 'istio';

/** Groups whose kinds are Kubernetes' own (or common add-ons): documents of these groups that Rigging
 * does not use are skipped with a notice rather than rejected. */
const KUBERNETES_GROUPS = new Set([
  '', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io',
  'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'storage.k8s.io', 'scheduling.k8s.io',
  'coordination.k8s.io', 'node.k8s.io', 'discovery.k8s.io', 'certificates.k8s.io', 'events.k8s.io',
  'apiregistration.k8s.io', 'flowcontrol.apiserver.k8s.io', 'gateway.networking.k8s.io', 'monitoring.coreos.com',
]);
/** Versions seen in those groups (core v1, apps/v1, policy/v1beta1, autoscaling/v2, ...). */
const KUBERNETES_VERSION_RE = /^v\d+((alpha|beta)\d+)?$/;
/** Kubernetes kinds Rigging knows of but does not use. A kind outside this list, even in a Kubernetes group,
 * is reported as unknown so that a typo ("Servce") is an error rather than silently skipped. */
const KUBERNETES_SKIPPED_KINDS = new Set([
  'Namespace', 'Pod', 'PodTemplate', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController',
  'Job', 'CronJob', 'ServiceAccount', 'Secret', 'ConfigMap', 'PersistentVolume', 'PersistentVolumeClaim', 'Ingress',
  'IngressClass', 'NetworkPolicy', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'HorizontalPodAutoscaler',
  'PodDisruptionBudget', 'LimitRange', 'ResourceQuota', 'PriorityClass', 'StorageClass', 'CustomResourceDefinition',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Lease', 'RuntimeClass', 'CSIDriver', 'Node',
  'Event', 'APIService', 'CertificateSigningRequest', 'Gateway', 'GatewayClass', 'HTTPRoute', 'GRPCRoute', 'TCPRoute',
  'TLSRoute', 'UDPRoute', 'ReferenceGrant', 'ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'VolumeAttachment',
  'FlowSchema', 'PriorityLevelConfiguration',
]);

/** The group of Rigging's own `rig up` manifest (rig.yaml), which may sit next to Istio config. */
const LOCAL_MANIFEST_GROUP = 'local.rigging.dev';

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  if (i < 0) return { group: '', version: apiVersion };
  return { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export type KindLookup =
  | { status: 'known'; info: KindInfo; version: string }
  | { status: 'skip'; reason: string }
  | { status: 'unknown'; reason: string };

export function lookupKind(apiVersion: string, kind: string): KindLookup {
  const { group, version } = splitApiVersion(apiVersion);
  for (const info of [...ISTIO_KINDS, ...KUBERNETES_USED_KINDS]) {
    if (info.kind === kind && info.group === group) {
      if (info.versions.includes(version)) return { status: 'known', info, version };
      return {
        status: 'unknown',
        reason: `unknown version "${version}" for ${kind}: known apiVersions are ${info.versions.map((v) => apiVersionOf(info, v)).join(', ')}`,
      };
    }
  }
  if (group === LOCAL_MANIFEST_GROUP) {
    return { status: 'skip', reason: `${apiVersion} ${kind} is Rigging's local mesh manifest (read by \`rig up\`), not mesh configuration; skipped` };
  }
  if (KUBERNETES_GROUPS.has(group) && KUBERNETES_VERSION_RE.test(version) && KUBERNETES_SKIPPED_KINDS.has(kind)) {
    return { status: 'skip', reason: `Kubernetes kind ${apiVersion} ${kind} is not used by Rigging; skipped` };
  }
  return { status: 'unknown', reason: `unknown kind "${kind}" with apiVersion "${apiVersion}"; known kinds: ${knownKindsText()}` };
}

function apiVersionOf(info: KindInfo, version: string): string {
  return info.group ? `${info.group}/${version}` : version;
}

function knownKindsText(): string {
  return [...ISTIO_KINDS, ...KUBERNETES_USED_KINDS]
    .map((k) => `${k.kind} (${k.versions.map((v) => apiVersionOf(k, v)).join('|')})`)
    .join(', ');
}
