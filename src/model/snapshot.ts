// model: build the immutable push snapshot (sorted config, services, endpoints, mesh config) from config objects. Pure.
import type { ConfigObject, ValidationIssue } from '../config/types.ts';
import type {
  DestinationRuleSpec, GatewaySpec, ServiceEntrySpec, SidecarSpec, VirtualServiceSpec, WorkloadEntrySpec,
} from '../config/types/networking.ts';
import { AggregateRegistry } from '../registry/aggregate.ts';
import { KubeRegistry } from '../registry/kube/index.ts';
import { ServiceEntryRegistry } from '../registry/serviceentry/index.ts';
import type { ServiceRegistry } from '../registry/types.ts';
import { meshConfigWithIssues } from './mesh.ts';
import type { Endpoint, JwksResult, PushSnapshot } from './types.ts';

export interface SnapshotOptions {
  /** DNS suffix of in-mesh names (default "cluster.local"; the control plane passes settings.domainSuffix). */
  domainSuffix?: string;
  /** Extra registries consulted after Kubernetes and ServiceEntry (e.g. a future etcd registry). */
  registries?: readonly ServiceRegistry[];
  /** JWKS fetched for jwksUri values (see PushSnapshot.jwks). */
  jwks?: ReadonlyMap<string, JwksResult>;
}

function compareObjects(a: ConfigObject, b: ConfigObject): number {
  const an = a.metadata.namespace, bn = b.metadata.namespace;
  if (an !== bn) return an < bn ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}

/**
 * Everything one push needs, computed once. Objects are sorted by (namespace, name) so translation output is
 * stable; when the same kind/namespace/name appears twice the first given wins. The input objects are not
 * copied or changed: nothing downstream may mutate them (PushContext hands out resolved copies).
 */
export function buildSnapshot(objects: readonly ConfigObject[], version: string, opts: SnapshotOptions = {}): PushSnapshot {
  const seen = new Set<string>();
  const unique: ConfigObject[] = [];
  for (const o of objects) {
    if (!o || !o.metadata) continue;
    const k = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(o);
  }
  const sorted = unique.sort(compareObjects);
  const ofKind = <S>(...kinds: string[]) => Object.freeze(sorted.filter((o) => kinds.includes(o.kind))) as readonly ConfigObject<S>[];

  const domainSuffix = opts.domainSuffix ?? 'cluster.local';
  const registry = new AggregateRegistry([
    new KubeRegistry(sorted, { domainSuffix }),
    new ServiceEntryRegistry(sorted),
    ...(opts.registries ?? []),
  ]);
  const services = registry.services();
  const endpoints = new Map<string, readonly Endpoint[]>();
  for (const s of services) {
    if (!endpoints.has(s.hostname)) endpoints.set(s.hostname, Object.freeze(registry.endpoints(s.hostname)));
  }
  const { mesh, issues: meshIssues } = meshConfigWithIssues(sorted);
  const issues: ValidationIssue[] = [...registry.issues(), ...meshIssues];

  return Object.freeze({
    version,
    mesh,
    services: Object.freeze(services),
    endpoints,
    virtualServices: ofKind<VirtualServiceSpec>('VirtualService'),
    destinationRules: ofKind<DestinationRuleSpec>('DestinationRule'),
    gateways: ofKind<GatewaySpec>('Gateway'),
    sidecars: ofKind<SidecarSpec>('Sidecar'),
    serviceEntries: ofKind<ServiceEntrySpec>('ServiceEntry'),
    workloadEntries: ofKind<WorkloadEntrySpec>('WorkloadEntry'),
    workloadGroups: ofKind('WorkloadGroup'),
    peerAuthentications: ofKind('PeerAuthentication'),
    requestAuthentications: ofKind('RequestAuthentication'),
    authorizationPolicies: ofKind('AuthorizationPolicy'),
    telemetries: ofKind('Telemetry'),
    domainSuffix,
    issues: Object.freeze(issues),
    ...(opts.jwks ? { jwks: opts.jwks } : {}),
  });
}
