// registry/kube: services and endpoints from Kubernetes Service, Endpoints and EndpointSlice objects (read from config, not an API server).
import type { ConfigObject, ValidationIssue } from '../../config/types.ts';
import type { WorkloadEntrySpec, WorkloadGroupSpec } from '../../config/types/networking.ts';
import type { Endpoint, Locality, Service, ServicePort } from '../../model/types.ts';
import { resolveProtocol } from '../protocol.ts';
import { byNamespaceHost, LabelIndex, tlsModeOf, type ServiceRegistry } from '../types.ts';
import { effectiveWorkloadEntry } from '../serviceentry/index.ts';

const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

interface KubePort { name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }
interface KubeServiceSpec {
  ports?: KubePort[]; clusterIP?: string; clusterIPs?: string[]; selector?: Record<string, string>;
  type?: string; externalName?: string;
}
interface TargetRef { kind?: string; name?: string; namespace?: string }
interface EndpointAddress { ip: string; hostname?: string; nodeName?: string; targetRef?: TargetRef; labels?: Record<string, string> }
interface EndpointSubset { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: { name?: string; port: number; protocol?: string }[] }
interface SliceEndpoint {
  addresses?: string[]; conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  targetRef?: TargetRef; zone?: string; nodeName?: string; hostname?: string; labels?: Record<string, string>;
}

export interface KubeRegistryOptions { domainSuffix?: string }

/**
 * Kubernetes Services as Istio sees them: hostname NAME.NS.svc.SUFFIX, clusterIP as VIP, port protocol from
 * appProtocol or the port-name prefix, exportTo from the networking.istio.io/exportTo annotation.
 * Endpoints come from EndpointSlices when a service has any, else from its Endpoints object, else (as Istio
 * does for VMs) from WorkloadEntries in its namespace that its selector selects.
 * Endpoint labels: the address's own `labels` (a Rigging extension, since there are no Pods to read), else those
 * of the WorkloadEntry its targetRef names, else the Service's selector.
 */
export class KubeRegistry implements ServiceRegistry {
  readonly name = 'Kubernetes';
  private readonly svcs: Service[] = [];
  private readonly eps = new Map<string, Endpoint[]>();
  private readonly problems: ValidationIssue[] = [];

  constructor(objects: readonly ConfigObject[], opts: KubeRegistryOptions = {}) {
    const suffix = opts.domainSuffix ?? 'cluster.local';
    const groups = new Map<string, ConfigObject<WorkloadGroupSpec>>();
    for (const g of objects) if (g.kind === 'WorkloadGroup') groups.set(`${g.metadata.namespace}/${g.metadata.name}`, g);
    const workloads = new Map<string, ConfigObject<WorkloadEntrySpec>>();
    for (const w of objects) {
      if (w.kind === 'WorkloadEntry') workloads.set(`${w.metadata.namespace}/${w.metadata.name}`, effectiveWorkloadEntry(w, groups));
    }
    const endpointsObj = new Map<string, ConfigObject>();
    const slices = new Map<string, ConfigObject[]>();
    for (const o of objects) {
      if (o.kind === 'Endpoints' && isCore(o)) endpointsObj.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
      if (o.kind === 'EndpointSlice') {
        const svcName = o.metadata.labels?.[SERVICE_NAME_LABEL];
        if (!svcName) continue;
        const key = `${o.metadata.namespace}/${svcName}`;
        const list = slices.get(key) ?? [];
        list.push(o);
        slices.set(key, list);
      }
    }
    const weByNs = new Map<string, ConfigObject<WorkloadEntrySpec>[]>();
    for (const w of [...workloads.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      const l = weByNs.get(w.metadata.namespace);
      if (l) l.push(w); else weByNs.set(w.metadata.namespace, [w]);
    }
    const weIndex = new Map<string, LabelIndex<ConfigObject<WorkloadEntrySpec>>>();
    for (const [ns, l] of weByNs) weIndex.set(ns, new LabelIndex(l, (w) => w.spec?.labels));
    const services = objects.filter((o) => o.kind === 'Service' && isCore(o))
      .sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
    for (const o of services) {
      const svc = serviceOf(o as ConfigObject<KubeServiceSpec>, suffix);
      this.svcs.push(svc);
      const spec = (o.spec ?? {}) as KubeServiceSpec;
      const key = `${o.metadata.namespace}/${o.metadata.name}`;
      let eps: Endpoint[];
      if (svc.resolution === 'DNS' && spec.externalName) {
        eps = svc.ports.map((p) => ({
          hostname: svc.hostname, servicePortName: p.name, servicePort: p.port, address: spec.externalName!,
          port: p.targetPort ?? p.port, labels: {}, locality: {}, healthy: true, tlsMode: 'disabled' as const,
        }));
      } else if (slices.has(key)) {
        eps = fromSlices(svc, spec, slices.get(key)!, workloads);
      } else if (endpointsObj.has(key)) {
        eps = fromEndpoints(svc, spec, endpointsObj.get(key)!, workloads);
      } else {
        eps = fromWorkloadEntries(svc, spec, weIndex.get(svc.namespace));
      }
      const list = this.eps.get(svc.hostname) ?? [];
      list.push(...eps);
      this.eps.set(svc.hostname, list);
    }
    this.svcs.sort(byNamespaceHost);
  }

  services(): Service[] { return this.svcs.slice(); }
  endpoints(hostname: string): Endpoint[] { return (this.eps.get(hostname) ?? []).slice(); }
  issues(): ValidationIssue[] { return this.problems.slice(); }
}

function isCore(o: ConfigObject): boolean {
  return o.apiVersion === 'v1' || o.apiVersion === undefined;
}

function serviceOf(o: ConfigObject<KubeServiceSpec>, suffix = 'cluster.local'): Service {
  const spec = o.spec ?? {};
  const ns = o.metadata.namespace;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => {
    const sp: ServicePort = {
      name: p.name ?? '', port: p.port,
      // Kubernetes' own `protocol` is TCP/UDP/SCTP: only UDP says something Istio uses.
      protocol: p.protocol === 'UDP' ? 'UDP' : resolveProtocol({ appProtocol: p.appProtocol, name: p.name }),
    };
    if (typeof p.targetPort === 'number') sp.targetPort = p.targetPort;
    else if (typeof p.targetPort === 'string' && /^[0-9]+$/.test(p.targetPort)) sp.targetPort = Number(p.targetPort);
    return sp;
  });
  const ann = o.metadata.annotations?.[EXPORT_TO_ANNOTATION];
  const exportTo = ann ? ann.split(',').map((s) => s.trim()).filter(Boolean) : ['*'];
  const external = spec.type === 'ExternalName';
  const headless = spec.clusterIP === 'None';
  const addresses = external || headless ? [] : (spec.clusterIPs?.length ? [...spec.clusterIPs] : spec.clusterIP ? [spec.clusterIP] : []);
  const svc: Service = {
    hostname: `${o.metadata.name}.${ns}.svc.${suffix}`,
    namespace: ns,
    ports,
    addresses,
    resolution: external ? 'DNS' : headless ? 'NONE' : 'STATIC',
    location: external ? 'MESH_EXTERNAL' : 'MESH_INTERNAL',
    exportTo: exportTo.length ? exportTo : ['*'],
    labels: { ...(o.metadata.labels ?? {}) },
    origin: { kind: 'Service', namespace: ns, name: o.metadata.name },
  };
  if (spec.selector && Object.keys(spec.selector).length > 0) svc.selector = { ...spec.selector };
  return svc;
}

function labelsFor(own: Record<string, string> | undefined, ref: TargetRef | undefined, ns: string,
  workloads: ReadonlyMap<string, ConfigObject<WorkloadEntrySpec>>, selector: Record<string, string> | undefined): Record<string, string> {
  if (own && Object.keys(own).length > 0) return { ...own };
  if (ref?.kind === 'WorkloadEntry' && ref.name) {
    const we = workloads.get(`${ref.namespace ?? ns}/${ref.name}`);
    if (we?.spec?.labels) return { ...we.spec.labels };
  }
  return { ...(selector ?? {}) };
}

function workloadOf(ref: TargetRef | undefined, ns: string): Endpoint['workload'] | undefined {
  if (!ref?.name) return undefined;
  if (ref.kind === 'Pod' || ref.kind === 'WorkloadEntry') return { kind: ref.kind, namespace: ref.namespace ?? ns, name: ref.name };
  return undefined;
}

/** Which service port an endpoint port serves: same name; an unnamed lone port serves the lone service port. */
function servicePortFor(svc: Service, spec: KubeServiceSpec, epPort: { name?: string; port: number }): ServicePort | undefined {
  const name = epPort.name ?? '';
  const byName = svc.ports.find((p) => p.name === name);
  if (byName) return byName;
  if (name === '' && svc.ports.length === 1 && (spec.ports?.length ?? 0) === 1) return svc.ports[0];
  return undefined;
}

function fromEndpoints(svc: Service, spec: KubeServiceSpec, o: ConfigObject, workloads: ReadonlyMap<string, ConfigObject<WorkloadEntrySpec>>): Endpoint[] {
  const out: Endpoint[] = [];
  const subsets = (o.extra?.subsets ?? []) as EndpointSubset[];
  for (const ss of Array.isArray(subsets) ? subsets : []) {
    const all: [EndpointAddress, boolean][] = [
      ...(ss.addresses ?? []).map((a) => [a, true] as [EndpointAddress, boolean]),
      ...(ss.notReadyAddresses ?? []).map((a) => [a, false] as [EndpointAddress, boolean]),
    ];
    for (const p of ss.ports ?? []) {
      const sp = servicePortFor(svc, spec, p);
      if (!sp) continue;
      for (const [a, ready] of all) {
        if (!a?.ip) continue;
        const labels = labelsFor(a.labels, a.targetRef, svc.namespace, workloads, spec.selector);
        const ep: Endpoint = {
          hostname: svc.hostname, servicePortName: sp.name, servicePort: sp.port, address: a.ip, port: p.port,
          labels, locality: {}, healthy: ready, tlsMode: tlsModeOf(labels),
        };
        const w = workloadOf(a.targetRef, svc.namespace);
        if (w) ep.workload = w;
        out.push(ep);
      }
    }
  }
  return out;
}

function fromSlices(svc: Service, spec: KubeServiceSpec, list: ConfigObject[], workloads: ReadonlyMap<string, ConfigObject<WorkloadEntrySpec>>): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  const sorted = list.slice().sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const sl of sorted) {
    const ports = (sl.extra?.ports ?? []) as { name?: string; port: number }[];
    const endpoints = (sl.extra?.endpoints ?? []) as SliceEndpoint[];
    for (const p of Array.isArray(ports) ? ports : []) {
      const sp = servicePortFor(svc, spec, p);
      if (!sp || typeof p.port !== 'number') continue;
      for (const e of Array.isArray(endpoints) ? endpoints : []) {
        // Kubernetes: a missing `ready` condition means ready.
        const ready = e.conditions?.ready !== false;
        for (const addr of e.addresses ?? []) {
          const k = `${sp.port}|${addr}|${p.port}`;
          if (seen.has(k)) continue; // the same endpoint may be in two slices while they are rebalanced
          seen.add(k);
          const labels = labelsFor(e.labels, e.targetRef, svc.namespace, workloads, spec.selector);
          const locality: Locality = e.zone ? { zone: e.zone } : {};
          const ep: Endpoint = {
            hostname: svc.hostname, servicePortName: sp.name, servicePort: sp.port, address: addr, port: p.port,
            labels, locality, healthy: ready, tlsMode: tlsModeOf(labels),
          };
          const w = workloadOf(e.targetRef, svc.namespace);
          if (w) ep.workload = w;
          out.push(ep);
        }
      }
    }
  }
  return out;
}

function fromWorkloadEntries(svc: Service, spec: KubeServiceSpec, workloads: LabelIndex<ConfigObject<WorkloadEntrySpec>> | undefined): Endpoint[] {
  if (!svc.selector || !workloads) return [];
  const out: Endpoint[] = [];
  const sorted = workloads.select(svc.selector); // already sorted by name
  for (const w of sorted) {
    const we = w.spec;
    if (!we?.address) continue;
    for (const sp of svc.ports) {
      const kp = spec.ports?.find((p) => (p.name ?? '') === sp.name);
      const namedTarget = typeof kp?.targetPort === 'string' && !/^[0-9]+$/.test(kp.targetPort) ? we.ports?.[kp.targetPort] : undefined;
      const ep: Endpoint = {
        hostname: svc.hostname, servicePortName: sp.name, servicePort: sp.port, address: we.address,
        port: we.ports?.[sp.name] ?? namedTarget ?? sp.targetPort ?? sp.port,
        labels: { ...(we.labels ?? {}) }, locality: {}, healthy: true, tlsMode: tlsModeOf(we.labels, we.serviceAccount ? 'istio' : 'disabled'),
        workload: { kind: 'WorkloadEntry', namespace: w.metadata.namespace, name: w.metadata.name },
      };
      if (we.locality) {
        const [region, zone, subzone] = we.locality.split('/');
        ep.locality = { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subzone ? { subzone } : {}) };
      }
      if (we.weight) ep.weight = we.weight;
      if (we.serviceAccount) ep.serviceAccount = we.serviceAccount;
      if (we.network) ep.network = we.network;
      out.push(ep);
    }
  }
  return out;
}
