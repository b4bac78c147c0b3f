// xds/translate/listeners: VirtualService tcp[] and tls[] routes -> tcp_proxy targets. A route applies when
// any of its matches fits the listener port, the proxy's labels / namespace and its gateways ("mesh" for
// sidecars); the first route that applies wins, as Istio orders them. Destinations resolve like HTTP routes.
import type { ConfigObject } from '../../../config/types.ts';
import type { VirtualServiceSpec, L4MatchAttributes, RouteDestination, TLSMatchAttributes } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import { hostMatches } from '../../../model/hosts.ts';
import { destinationCluster, type RouteContext } from '../routes/context.ts';

export interface WeightedTarget { name: string; weight: number }

function labelsMatch(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  if (!want) return true;
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}

/** A gateways list on a match narrows which proxies it applies to; empty means the VirtualService's own. */
function gatewaysMatch(matchGws: string[] | undefined, proxyGws: string[]): boolean {
  if (!matchGws?.length) return true;
  return matchGws.some((g) => proxyGws.includes(g));
}

function l4Matches(m: L4MatchAttributes, port: number, proxy: Proxy, gateways: string[]): boolean {
  if (m.port && m.port !== port) return false;
  if (!labelsMatch(m.sourceLabels, proxy.labels)) return false;
  if (m.sourceNamespace && m.sourceNamespace !== proxy.namespace) return false;
  return gatewaysMatch(m.gateways, gateways);
}

/** Destinations -> weighted targets (weights as given; a single destination gets 100). */
export function targets(ctx: RouteContext, dests: RouteDestination[] | undefined, ns: string, port: number): WeightedTarget[] {
  const list = (dests ?? []).filter((d) => d?.destination?.host);
  return list.map((d) => ({
    name: destinationCluster(ctx, d.destination, ns, port).cluster,
    weight: list.length === 1 ? 100 : d.weight ?? 0,
  })).filter((t) => t.weight > 0);
}

/**
 * VirtualServices indexed by host, for L4 routing: like HTTP routing, one VirtualService per host — an
 * exact host first, else the most specific wildcard. Built once per listener computation.
 */
export class VsIndex {
  private readonly exact = new Map<string, ConfigObject<VirtualServiceSpec>>();
  private readonly wild: { host: string; vs: ConfigObject<VirtualServiceSpec> }[] = [];
  constructor(readonly all: readonly ConfigObject<VirtualServiceSpec>[]) {
    for (const vs of all) {
      // only VirtualServices with L4 routes matter here
      if (!vs.spec.tcp?.length && !vs.spec.tls?.length) continue;
      for (const h of vs.spec.hosts ?? []) {
        if (h.startsWith('*')) this.wild.push({ host: h, vs });
        else if (!this.exact.has(h)) this.exact.set(h, vs);
      }
    }
  }
  forHost(host: string): ConfigObject<VirtualServiceSpec>[] {
    const e = this.exact.get(host);
    if (e) return [e];
    let best: { vs: ConfigObject<VirtualServiceSpec>; len: number } | undefined;
    for (const w of this.wild) {
      if (hostMatches(w.host, host) && (!best || w.host.length > best.len)) best = { vs: w.vs, len: w.host.length };
    }
    return best ? [best.vs] : [];
  }
  /** True when some L4 route matches on source labels, so routing depends on the proxy's labels. */
  usesSourceLabels(): boolean {
    if (this.sourceLabels === undefined) {
      const l4 = (vs: ConfigObject<VirtualServiceSpec>) => [...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])];
      this.sourceLabels = this.all.some((vs) => l4(vs).some((r) => (r.match ?? []).some((m) => m?.sourceLabels)));
    }
    return this.sourceLabels;
  }
  private sourceLabels: boolean | undefined;
}

/** The tcp_proxy target for a TCP service port, from the first applicable tcp route; undefined = default cluster. */
export function tcpRouteTarget(ctx: RouteContext, index: VsIndex, host: string, port: number, proxy: Proxy, gateways: string[]): WeightedTarget[] | undefined {
  return firstTcpRouteTarget(ctx, index.forHost(host), port, proxy, gateways);
}

/** The first applicable tcp route among `vss` in order (gateways: every VirtualService bound to the gateway). */
export function firstTcpRouteTarget(ctx: RouteContext, vss: readonly ConfigObject<VirtualServiceSpec>[], port: number, proxy: Proxy, gateways: string[]): WeightedTarget[] | undefined {
  for (const vs of vss) {
    for (const r of vs.spec.tcp ?? []) {
      if (r.match?.length && !r.match.some((m) => l4Matches(m, port, proxy, gateways))) continue;
      const t = targets(ctx, r.route, vs.metadata.namespace, port);
      if (t.length) return t;
    }
  }
  return undefined;
}

export interface TlsRouteChain { sniHosts: string[]; targets: WeightedTarget[] }

/** SNI-matched chains from tls routes of VirtualServices covering any of `hosts` (sidecar) or bound to a gateway. */
export function tlsRouteChains(ctx: RouteContext, vss: readonly ConfigObject<VirtualServiceSpec>[], hosts: string[], port: number, proxy: Proxy, gateways: string[]): TlsRouteChain[] {
  const out: TlsRouteChain[] = [];
  const seen = new Set<string>();
  for (const vs of vss) {
    const vsHosts = vs.spec.hosts ?? [];
    if (!hosts.some((h) => vsHosts.some((v) => hostMatches(v, h) || hostMatches(h, v)))) continue;
    for (const r of vs.spec.tls ?? []) {
      for (const m of (r.match ?? []) as TLSMatchAttributes[]) {
        if (!l4Matches(m, port, proxy, gateways)) continue;
        const sni = (m.sniHosts ?? []).filter((s) => !seen.has(s));
        if (!sni.length) continue;
        const t = targets(ctx, r.route, vs.metadata.namespace, port);
        if (!t.length) continue;
        sni.forEach((s) => seen.add(s));
        out.push({ sniHosts: sni, targets: t });
      }
    }
  }
  return out;
}
