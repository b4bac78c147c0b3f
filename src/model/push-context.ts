// model: PushContext — indexes over one immutable snapshot answering "what applies to this proxy" cheaply.
import type { ConfigObject } from '../config/types.ts';
import type { DestinationRuleSpec, GatewaySpec, SidecarSpec, VirtualServiceSpec } from '../config/types/networking.ts';
import { fqdn, hostMatches, isWildcard } from './hosts.ts';
import { normalizeGatewayName, resolveVirtualService } from './resolve.ts';
import type { Endpoint, Proxy, PushSnapshot, Service, ServicePort } from './types.ts';
import { egressAdmits, egressAdmitsAny, exportedTo, labelsMatch, parseEgressHost, type EgressHost } from './visibility.ts';

type VS = ConfigObject<VirtualServiceSpec>;
type DR = ConfigObject<DestinationRuleSpec>;
type SC = ConfigObject<SidecarSpec>;

/** DestinationRules of one namespace, indexed by resolved host: exact hosts in a map, wildcards in a list. */
interface DrBucket { exact: Map<string, DR[]>; wildcard: { host: string; rule: DR }[] }

const keyNs = (o: ConfigObject) => `${o.metadata.namespace}/${o.metadata.name}`;

export class PushContext {
  readonly snapshot: PushSnapshot;
  private readonly suffix: string;
  private readonly byHost = new Map<string, Service[]>();
  private readonly hostOrder: string[] = [];
  private readonly epByHostPort = new Map<string, Endpoint[]>();
  private readonly epByAddress = new Map<string, Endpoint[]>();
  private readonly vsResolved: VS[];
  private readonly vsByKey = new Map<string, VS>();
  private readonly delegates = new Set<string>();
  private readonly drPlain = new Map<string, DrBucket>(); // namespace -> rules without workloadSelector
  private readonly drSelected = new Map<string, DR[]>(); // namespace -> rules with workloadSelector (resolved copies)
  private readonly sidecarsByNs = new Map<string, { selected: SC[]; dflt?: SC }>();
  private readonly servicesCache = new Map<string, Service[]>();
  private readonly vsCache = new Map<string, VS[]>();
  private readonly drCache = new Map<string, DR | null>(); // "proxyNs|host" when the namespace has no selector rules

  constructor(snapshot: PushSnapshot) {
    this.snapshot = snapshot;
    this.suffix = snapshot.domainSuffix ?? 'cluster.local';
    for (const s of snapshot.services) {
      let list = this.byHost.get(s.hostname);
      if (!list) { list = []; this.byHost.set(s.hostname, list); this.hostOrder.push(s.hostname); }
      list.push(s);
    }
    for (const [host, eps] of snapshot.endpoints) {
      for (const e of eps) {
        push(this.epByHostPort, `${host}|${e.servicePort}`, e);
        push(this.epByAddress, e.address, e);
      }
    }
    const resolve = (h: string, ns: string) => this.resolveHost(h, ns);
    this.vsResolved = snapshot.virtualServices.map((v) => resolveVirtualService(v, resolve));
    for (const v of this.vsResolved) {
      this.vsByKey.set(keyNs(v), v);
      for (const r of v.spec.http ?? []) if (r.delegate?.name) this.delegates.add(`${r.delegate.namespace ?? v.metadata.namespace}/${r.delegate.name}`);
    }
    for (const d of snapshot.destinationRules) {
      const ns = d.metadata.namespace;
      const host = typeof d.spec?.host === 'string' ? this.resolveHost(d.spec.host, ns) : '';
      if (!host) continue;
      const rule: DR = { ...d, spec: { ...d.spec, host } };
      if (d.spec.workloadSelector?.matchLabels && Object.keys(d.spec.workloadSelector.matchLabels).length > 0) {
        push(this.drSelected, ns, rule);
        continue;
      }
      let b = this.drPlain.get(ns);
      if (!b) { b = { exact: new Map(), wildcard: [] }; this.drPlain.set(ns, b); }
      if (isWildcard(host)) b.wildcard.push({ host, rule });
      else {
        const list = b.exact.get(host);
        const same = list?.findIndex((r) => sameExport(r, rule)) ?? -1;
        if (list && same >= 0) list[same] = mergeRules(list[same]!, rule);
        else push(b.exact, host, rule);
      }
    }
    for (const s of snapshot.sidecars) {
      const ns = s.metadata.namespace;
      let e = this.sidecarsByNs.get(ns);
      if (!e) { e = { selected: [] }; this.sidecarsByNs.set(ns, e); }
      const sel = s.spec?.workloadSelector?.labels;
      if (sel && Object.keys(sel).length > 0) e.selected.push(s);
      else if (!e.dflt) e.dflt = s; // Istio: only one selector-less Sidecar per namespace is honoured (the oldest; here the first by name)
    }
  }

  /** A host as written in config of namespace `ns`, resolved with the snapshot's domain suffix (hosts.ts fqdn()). */
  resolveHost(host: string, ns: string): string {
    return fqdn(host, ns, this.suffix);
  }

  /** The service with this hostname (the first by namespace when several namespaces declare it). */
  serviceByHost(hostname: string): Service | undefined {
    return this.byHost.get(hostname.toLowerCase())?.[0];
  }

  /** The service with this hostname as `proxy` sees it: exported to its namespace, its own namespace's first. */
  serviceFor(proxy: Proxy, hostname: string): Service | undefined {
    const list = this.byHost.get(hostname.toLowerCase());
    if (!list) return undefined;
    return pickFor(list, proxy.namespace);
  }

  private egressOf(proxy: Proxy): { key: string; hosts: EgressHost[] | undefined } {
    const sc = this.sidecarFor(proxy);
    const entries = sc?.spec?.egress?.flatMap((l) => l.hosts ?? []) ?? [];
    if (!sc || entries.length === 0) return { key: '', hosts: undefined };
    return { key: keyNs(sc), hosts: entries.map((e) => parseEgressHost(e, proxy.namespace)) };
  }

  /**
   * Services `proxy` can reach: exported to its namespace and admitted by its Sidecar's egress hosts (all when
   * it has none). One per hostname: the proxy's own namespace's, else the first by namespace.
   */
  servicesFor(proxy: Proxy): Service[] {
    const eg = this.egressOf(proxy);
    const ck = `${proxy.namespace}|${eg.key}`;
    const hit = this.servicesCache.get(ck);
    if (hit) return hit.slice();
    const out: Service[] = [];
    for (const host of this.hostOrder) {
      const cands = this.byHost.get(host)!.filter((s) => exportedTo(s.exportTo, s.namespace, proxy.namespace)
        && (!eg.hosts || egressAdmits(eg.hosts, s.namespace, s.hostname)));
      const s = pickFor(cands, proxy.namespace);
      if (s) out.push(s);
    }
    this.servicesCache.set(ck, out);
    return out.slice();
  }

  /**
   * VirtualServices bound to one of `gateways` (["mesh"] for sidecars, "ns/name" for gateways; a VirtualService
   * without `gateways` binds to "mesh"), exported to the proxy's namespace, admitted by its Sidecar egress hosts
   * (mesh only), excluding delegates. Hosts and destinations are resolved in copies.
   */
  virtualServicesFor(proxy: Proxy, gateways: string[]): VS[] {
    const wanted = new Set(gateways);
    const eg = wanted.has('mesh') ? this.egressOf(proxy) : { key: '', hosts: undefined };
    const ck = `${proxy.namespace}|${eg.key}|${[...wanted].sort().join(',')}`;
    const hit = this.vsCache.get(ck);
    if (hit) return hit.slice();
    const out: VS[] = [];
    for (const v of this.vsResolved) {
      const ns = v.metadata.namespace;
      if (this.delegates.has(keyNs(v))) continue;
      const gws = (v.spec.gateways && v.spec.gateways.length > 0 ? v.spec.gateways : ['mesh']).map((g) => normalizeGatewayName(g, ns));
      const bound = gws.filter((g) => wanted.has(g));
      if (bound.length === 0) continue;
      if (!exportedTo(v.spec.exportTo, ns, proxy.namespace)) continue;
      if (eg.hosts && bound.every((g) => g === 'mesh') && !egressAdmitsAny(eg.hosts, ns, v.spec.hosts ?? [])) continue;
      out.push(v);
    }
    this.vsCache.set(ck, out);
    return out.slice();
  }

  /** The VirtualService a route delegates to (resolved copy), or undefined. */
  delegate(name: string, namespace: string): VS | undefined {
    return this.vsByKey.get(`${namespace}/${name}`);
  }

  /** Is this VirtualService one that others delegate to? */
  isDelegate(name: string, namespace: string): boolean {
    return this.delegates.has(`${namespace}/${name}`);
  }

  /**
   * Istio's lookup: a rule in the proxy's namespace whose workloadSelector matches the proxy, then one in the
   * proxy's namespace, then in the service's namespace, then in the root namespace; the last two only when
   * exported to the proxy's namespace. Within a namespace an exact host beats the longest matching wildcard.
   * The returned rule is a copy whose spec.host is resolved to an FQDN.
   */
  destinationRuleFor(proxy: Proxy, hostname: string): DR | undefined {
    const host = hostname.toLowerCase();
    const pns = proxy.namespace;
    const selected = this.drSelected.get(pns);
    if (!selected) {
      const ck = `${pns}|${host}`;
      let hit = this.drCache.get(ck);
      if (hit === undefined) { hit = this.lookupRule(proxy, host) ?? null; this.drCache.set(ck, hit); }
      return hit ?? undefined;
    }
    const matching = selected.filter((d) => labelsMatch(d.spec.workloadSelector?.matchLabels, proxy.labels));
    return bestRule(matching.map((d) => ({ host: d.spec.host, rule: d })), host) ?? this.lookupRule(proxy, host);
  }

  /** destinationRuleFor without the workload-selected rules. */
  private lookupRule(proxy: Proxy, host: string): DR | undefined {
    const pns = proxy.namespace;
    const own = this.lookupBucket(pns, host, pns, false);
    if (own) return own;
    const svc = this.serviceFor(proxy, host);
    if (svc && svc.namespace !== pns) {
      const r = this.lookupBucket(svc.namespace, host, pns, true);
      if (r) return r;
    }
    const root = this.snapshot.mesh.rootNamespace;
    if (root !== pns && root !== svc?.namespace) return this.lookupBucket(root, host, pns, true);
    return undefined;
  }

  private lookupBucket(ns: string, host: string, viewerNs: string, checkExport: boolean): DR | undefined {
    const b = this.drPlain.get(ns);
    if (!b) return undefined;
    const ok = (d: DR) => !checkExport || exportedTo(d.spec.exportTo, d.metadata.namespace, viewerNs);
    const exact = b.exact.get(host)?.find(ok);
    if (exact) return exact;
    return bestRule(b.wildcard.filter((w) => ok(w.rule)), host);
  }

  /** The Sidecar for a sidecar proxy: one whose selector matches, else its namespace's default, else the root namespace's default. */
  sidecarFor(proxy: Proxy): SC | undefined {
    if (proxy.type !== 'sidecar') return undefined;
    const e = this.sidecarsByNs.get(proxy.namespace);
    const sel = e?.selected.find((s) => labelsMatch(s.spec.workloadSelector?.labels, proxy.labels));
    if (sel) return sel;
    if (e?.dflt) return e.dflt;
    return this.sidecarsByNs.get(this.snapshot.mesh.rootNamespace)?.dflt;
  }

  /** Gateways (any namespace) whose selector matches a gateway proxy's labels; none for sidecars. */
  gatewaysFor(proxy: Proxy): ConfigObject<GatewaySpec>[] {
    if (proxy.type !== 'router') return [];
    return this.snapshot.gateways.filter((g) => labelsMatch(g.spec?.selector, proxy.labels));
  }

  /** Endpoints of `hostname` on service port `port`, restricted to those carrying every subset label. */
  endpoints(hostname: string, port: number, subsetLabels?: Record<string, string>): Endpoint[] {
    const list = this.epByHostPort.get(`${hostname.toLowerCase()}|${port}`) ?? [];
    if (!subsetLabels || Object.keys(subsetLabels).length === 0) return list.slice();
    return list.filter((e) => labelsMatch(subsetLabels, e.labels));
  }

  /**
   * Services this proxy serves: those with an endpoint at one of its IPs. When several workloads share an IP
   * (local mode: everything on 127.0.0.1) the endpoints are narrowed to the proxy's workload — by WorkloadEntry
   * / workload name when one matches WORKLOAD_NAME or the proxy name, else by labels the proxy carries.
   */
  inboundServicesFor(proxy: Proxy): { service: Service; port: ServicePort; targetPort: number }[] {
    let eps: Endpoint[] = [];
    for (const ip of proxy.ips) eps.push(...(this.epByAddress.get(ip) ?? []));
    const names = new Set([proxy.workloadName, proxy.name].filter((x): x is string => !!x));
    const byName = eps.filter((e) => e.workload && names.has(e.workload.name));
    if (byName.length > 0) eps = byName;
    else if (Object.keys(proxy.labels).length > 0) {
      const byLabels = eps.filter((e) => Object.keys(e.labels).length > 0 && labelsMatch(e.labels, proxy.labels));
      if (byLabels.length > 0) eps = byLabels;
    }
    const out: { service: Service; port: ServicePort; targetPort: number }[] = [];
    const seen = new Set<string>();
    for (const e of eps) {
      const k = `${e.hostname}|${e.servicePort}|${e.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const list = this.byHost.get(e.hostname);
      if (!list) continue;
      const service = list.find((s) => s.namespace === proxy.namespace) ?? list[0]!;
      const port = service.ports.find((p) => p.port === e.servicePort);
      if (!port) continue;
      out.push({ service, port, targetPort: e.port });
    }
    return out.sort((a, b) => a.targetPort - b.targetPort || a.service.hostname.localeCompare(b.service.hostname) || a.port.port - b.port.port);
  }

  /** The Sidecar's outboundTrafficPolicy when set, else the mesh's. */
  outboundTrafficPolicy(proxy: Proxy): 'ALLOW_ANY' | 'REGISTRY_ONLY' {
    return this.sidecarFor(proxy)?.spec?.outboundTrafficPolicy?.mode ?? this.snapshot.mesh.outboundTrafficPolicy.mode;
  }
}

function sameExport(a: DR, b: DR): boolean {
  const ea = [...(a.spec.exportTo ?? ['*'])].sort().join(',');
  const eb = [...(b.spec.exportTo ?? ['*'])].sort().join(',');
  return ea === eb;
}

/**
 * Istio merges DestinationRules for the same host in one namespace (with the same exportTo): the first rule's
 * traffic policy is kept (the later one's is used only when the first has none) and the later rule's subsets
 * are added unless a subset of that name exists already.
 */
function mergeRules(first: DR, later: DR): DR {
  const subsets = [...(first.spec.subsets ?? [])];
  for (const s of later.spec.subsets ?? []) if (!subsets.some((x) => x.name === s.name)) subsets.push(s);
  const spec: DestinationRuleSpec = { ...first.spec };
  if (subsets.length > 0) spec.subsets = subsets;
  if (!first.spec.trafficPolicy && later.spec.trafficPolicy) spec.trafficPolicy = later.spec.trafficPolicy;
  return { ...first, spec };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

function pickFor(list: readonly Service[], ns: string): Service | undefined {
  let first: Service | undefined;
  for (const s of list) {
    if (!exportedTo(s.exportTo, s.namespace, ns)) continue;
    if (s.namespace === ns) return s;
    first ??= s;
  }
  return first;
}

function bestRule(cands: { host: string; rule: DR }[], host: string): DR | undefined {
  let best: { host: string; rule: DR } | undefined;
  for (const c of cands) {
    if (!hostMatches(c.host, host)) continue;
    if (!isWildcard(c.host)) return c.rule;
    if (!best || c.host.length > best.host.length) best = c;
  }
  return best?.rule;
}
