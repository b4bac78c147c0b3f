// registry/serviceentry: services and endpoints from ServiceEntry, WorkloadEntry and WorkloadGroup config.
import type { ConfigObject, ValidationIssue } from '../../config/types.ts';
import type { ServiceEntrySpec, WorkloadEntrySpec, WorkloadGroupSpec } from '../../config/types/networking.ts';
import { ErrorCodes } from '../../common/errors.ts';
import type { Endpoint, Service, ServicePort } from '../../model/types.ts';
import { parseLocality } from '../../model/proxy.ts';
import { resolveProtocol } from '../protocol.ts';
import { byNamespaceHost, LabelIndex, tlsModeOf, type ServiceRegistry } from '../types.ts';

/** Annotation Istio puts on a WorkloadEntry created from a WorkloadGroup (auto-registration). */
const GROUP_ANNOTATION = 'istio.io/autoRegistrationGroup';

export class ServiceEntryRegistry implements ServiceRegistry {
  readonly name = 'ServiceEntry';
  private readonly svcs: Service[] = [];
  private readonly eps = new Map<string, Endpoint[]>();
  private readonly problems: ValidationIssue[] = [];

  constructor(objects: readonly ConfigObject[]) {
    const entries = objects.filter((o) => o.kind === 'ServiceEntry') as ConfigObject<ServiceEntrySpec>[];
    const groups = new Map<string, ConfigObject<WorkloadGroupSpec>>();
    for (const g of objects) if (g.kind === 'WorkloadGroup') groups.set(`${g.metadata.namespace}/${g.metadata.name}`, g);
    const workloads = objects.filter((o) => o.kind === 'WorkloadEntry')
      .map((w) => effectiveWorkloadEntry(w as ConfigObject<WorkloadEntrySpec>, groups));
    const workloadsByNs = new Map<string, ConfigObject<WorkloadEntrySpec>[]>();
    for (const w of workloads) {
      const list = workloadsByNs.get(w.metadata.namespace) ?? [];
      list.push(w);
      workloadsByNs.set(w.metadata.namespace, list);
    }
    const indexByNs = new Map<string, LabelIndex<ConfigObject<WorkloadEntrySpec>>>();
    for (const [ns, list] of workloadsByNs) indexByNs.set(ns, new LabelIndex(sortObjects(list), (w) => w.spec?.labels));
    const seen = new Map<string, ConfigObject>(); // ns/host -> the ServiceEntry that declared it first
    for (const se of sortObjects(entries)) {
      for (const svc of servicesOf(se)) {
        const key = `${svc.namespace}/${svc.hostname}`;
        const first = seen.get(key);
        if (first) {
          this.problems.push({
            severity: 'warning', code: ErrorCodes.REGISTRY_CONFLICT, kind: 'ServiceEntry', name: `${se.metadata.namespace}/${se.metadata.name}`,
            path: 'spec.hosts', message: `host ${svc.hostname} is already declared in namespace ${svc.namespace} by ServiceEntry ${first.metadata.name}; the first one wins`,
            ...(se.source ? { file: se.source.file, document: se.source.document } : {}),
          });
          continue;
        }
        seen.set(key, se);
        this.svcs.push(svc);
        const list = this.eps.get(svc.hostname) ?? [];
        list.push(...endpointsOf(se, svc, indexByNs.get(se.metadata.namespace)));
        this.eps.set(svc.hostname, list);
      }
    }
    this.svcs.sort(byNamespaceHost);
  }

  services(): Service[] { return this.svcs.slice(); }
  endpoints(hostname: string): Endpoint[] { return (this.eps.get(hostname) ?? []).slice(); }
  issues(): ValidationIssue[] { return this.problems.slice(); }
}

function sortObjects<T extends ConfigObject>(list: T[]): T[] {
  return list.slice().sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
}

/** One Service per host of the entry. Hosts are taken as written (lower-cased): ServiceEntry hosts are not short names. */
function servicesOf(se: ConfigObject<ServiceEntrySpec>): Service[] {
  const spec = se.spec ?? ({ hosts: [] } as ServiceEntrySpec);
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => {
    const sp: ServicePort = { name: p.name, port: p.number, protocol: resolveProtocol({ protocol: p.protocol, name: p.name }) };
    if (p.targetPort) sp.targetPort = p.targetPort;
    return sp;
  });
  const out: Service[] = [];
  for (const h of spec.hosts ?? []) {
    const svc: Service = {
      hostname: h.toLowerCase(),
      namespace: se.metadata.namespace,
      ports: ports.map((p) => ({ ...p })),
      addresses: [...(spec.addresses ?? [])],
      resolution: spec.resolution ?? 'NONE',
      location: spec.location ?? 'MESH_EXTERNAL',
      exportTo: spec.exportTo && spec.exportTo.length > 0 ? [...spec.exportTo] : ['*'],
      labels: { ...(se.metadata.labels ?? {}) },
      origin: { kind: 'ServiceEntry', namespace: se.metadata.namespace, name: se.metadata.name },
    };
    if (spec.workloadSelector?.labels) svc.selector = { ...spec.workloadSelector.labels };
    if (spec.subjectAltNames?.length) svc.subjectAltNames = [...spec.subjectAltNames];
    out.push(svc);
  }
  return out;
}

/**
 * A WorkloadEntry as it is in force: one created from a WorkloadGroup (annotation istio.io/autoRegistrationGroup)
 * takes the group's labels (metadata.labels, then template.labels) and template fields it does not set itself.
 */
export function effectiveWorkloadEntry(we: ConfigObject<WorkloadEntrySpec>, groups: ReadonlyMap<string, ConfigObject<WorkloadGroupSpec>>): ConfigObject<WorkloadEntrySpec> {
  const groupName = we.metadata.annotations?.[GROUP_ANNOTATION];
  const group = groupName ? groups.get(`${we.metadata.namespace}/${groupName}`) : undefined;
  if (!group) return we;
  const t = group.spec?.template ?? {};
  const spec: WorkloadEntrySpec = { ...t, ...stripUndefined(we.spec ?? {}) };
  spec.labels = { ...(group.spec?.metadata?.labels ?? {}), ...(t.labels ?? {}), ...(we.spec?.labels ?? {}) };
  if (!we.spec?.ports && t.ports) spec.ports = { ...t.ports };
  return { ...we, spec };
}

/** Build a WorkloadEntry for a workload joining a WorkloadGroup (auto-registration), named like Istio's: GROUP-ADDRESS. */
export function workloadEntryFromGroup(group: ConfigObject<WorkloadGroupSpec>, address: string): ConfigObject<WorkloadEntrySpec> {
  const t = group.spec?.template ?? {};
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: {
      name: `${group.metadata.name}-${address.replace(/[:.]/g, '-')}`,
      namespace: group.metadata.namespace,
      labels: { ...(group.spec?.metadata?.labels ?? {}), ...(t.labels ?? {}) },
      annotations: { ...(group.spec?.metadata?.annotations ?? {}), [GROUP_ANNOTATION]: group.metadata.name },
    },
    spec: { ...t, address, labels: { ...(group.spec?.metadata?.labels ?? {}), ...(t.labels ?? {}) } },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Port on the workload: WorkloadEntry `ports` by port name, else the service port's targetPort, else its number. */
function workloadPort(we: WorkloadEntrySpec, sp: ServicePort): number {
  return we.ports?.[sp.name] ?? sp.targetPort ?? sp.port;
}

function endpointsOf(se: ConfigObject<ServiceEntrySpec>, svc: Service, workloads: LabelIndex<ConfigObject<WorkloadEntrySpec>> | undefined): Endpoint[] {
  const out: Endpoint[] = [];
  const spec = se.spec;
  const add = (we: WorkloadEntrySpec, workload: Endpoint['workload'], defaultTls: 'istio' | 'disabled') => {
    if (!we.address || we.address.startsWith('unix://')) return; // no address: nothing to dial; UDS: not supported here
    for (const sp of svc.ports) {
      const ep: Endpoint = {
        hostname: svc.hostname, servicePortName: sp.name, servicePort: sp.port,
        address: we.address, port: workloadPort(we, sp),
        labels: { ...(we.labels ?? {}) },
        locality: parseLocality(we.locality),
        healthy: true,
        // Istio: the tlsMode label if present, else mTLS only for workloads that name a service account (a sidecar's identity)
        tlsMode: tlsModeOf(we.labels, we.serviceAccount ? defaultTls : 'disabled'),
      };
      if (we.weight) ep.weight = we.weight;
      if (we.serviceAccount) ep.serviceAccount = we.serviceAccount;
      if (we.network) ep.network = we.network;
      if (workload) ep.workload = workload;
      out.push(ep);
    }
  };
  (spec.endpoints ?? []).forEach((we, i) => add(we, { kind: 'ServiceEntry', namespace: se.metadata.namespace, name: `${se.metadata.name}[${i}]` }, 'istio'));
  if (spec.workloadSelector?.labels && workloads) {
    for (const w of workloads.select(spec.workloadSelector.labels)) {
      add(w.spec, { kind: 'WorkloadEntry', namespace: w.metadata.namespace, name: w.metadata.name }, 'istio');
    }
  }
  // DNS entries without endpoints resolve the host itself (Istio does the same); there is no sidecar there.
  if (out.length === 0 && !spec.workloadSelector && (svc.resolution === 'DNS' || svc.resolution === 'DNS_ROUND_ROBIN') && !svc.hostname.startsWith('*')) {
    for (const sp of svc.ports) {
      out.push({
        hostname: svc.hostname, servicePortName: sp.name, servicePort: sp.port, address: svc.hostname,
        port: sp.targetPort ?? sp.port, labels: {}, locality: {}, healthy: true, tlsMode: 'disabled',
      });
    }
  }
  return out;
}
