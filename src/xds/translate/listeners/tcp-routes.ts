// xds/translate/listeners: VirtualService tcp[] and tls[] routes -> tcp_proxy targets. A route applies when
// any of its matches fits the listener port, the proxy's labels / namespace and its gateways ("mesh" for
// sidecars); the first route that applies wins, as Istio orders them. Destinations resolve like HTTP routes.
import type { ConfigObject } from '../../../config/types.ts';
import type { VirtualServiceSpec, L4MatchAttributes, RouteDestination, TLSMatchAttributes } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import { hostMatches } from '../../../model/hosts.ts';
import { destinationCluster, type RouteContext } from '../routes/context.ts';
import { list, type TranslateContext } from '../clusters/context.ts';
import { scopePlans } from '../clusters/plan.ts';
import { duration } from '../clusters/duration.ts';
import { tcpProxyFilter } from './hcm.ts';
import type { EnvoyResource } from '../types.ts';

export interface WeightedTarget { name: string; weight: number }

function labelsMatch(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  if (!want || typeof want !== 'object') return true;
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}

/** A gateways list on a match narrows which proxies it applies to; empty means the VirtualService's own. */
function gatewaysMatch(matchGws: string[] | undefined, proxyGws: string[]): boolean {
  if (!Array.isArray(matchGws) || !matchGws.length) return true;
  return matchGws.some((g) => proxyGws.includes(g));
}

function l4Matches(m: L4MatchAttributes, port: number, proxy: Proxy, gateways: string[]): boolean {
  if (!m || typeof m !== 'object') return false;
  if (m.port && m.port !== port) return false;
  if (!labelsMatch(m.sourceLabels, proxy.labels)) return false;
  if (m.sourceNamespace && m.sourceNamespace !== proxy.namespace) return false;
  return gatewaysMatch(m.gateways, gateways);
}

/** Destinations -> weighted targets (weights as given; a single destination gets 100). */
export function targets(ctx: RouteContext, dests: RouteDestination[] | undefined, ns: string, port: number): WeightedTarget[] {
  const ds = list(dests).filter((d) => typeof d?.destination?.host === 'string' && d.destination.host);
  return ds.map((d) => ({
    name: destinationCluster(ctx, d.destination, ns, port).cluster,
    weight: ds.length === 1 ? 100 : typeof d.weight === 'number' ? d.weight : 0,
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
      if (!list(vs.spec?.tcp).length && !list(vs.spec?.tls).length) continue;
      for (const h of list(vs.spec.hosts)) {
        if (typeof h !== 'string') continue;
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
      const l4 = (vs: ConfigObject<VirtualServiceSpec>) => [...list(vs.spec?.tcp), ...list(vs.spec?.tls)];
      this.sourceLabels = this.all.some((vs) => l4(vs).some((r) => list(r?.match).some((m) => m?.sourceLabels)));
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
    for (const r of list(vs.spec?.tcp)) {
      const matches = list(r?.match);
      if (matches.length && !matches.some((m) => l4Matches(m, port, proxy, gateways))) continue;
      const t = targets(ctx, r?.route, vs.metadata.namespace, port);
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
    const vsHosts = list(vs.spec?.hosts).filter((h) => typeof h === 'string');
    if (!hosts.some((h) => vsHosts.some((v) => hostMatches(v, h) || hostMatches(h, v)))) continue;
    for (const r of list(vs.spec.tls)) {
      for (const m of list(r?.match) as TLSMatchAttributes[]) {
        if (!m || !l4Matches(m, port, proxy, gateways)) continue;
        const sni = list(m.sniHosts).filter((s) => typeof s === 'string' && s && !seen.has(s));
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

/**
 * tcp_proxy for outbound targets. The DestinationRule's connectionPool.tcp.idleTimeout of the (first)
 * destination cluster becomes the proxy's idle timeout, as Istio applies it; unset keeps Envoy's 1h.
 */
export function outboundTcpProxy(ctx: TranslateContext, proxy: Proxy, statPrefix: string, t: WeightedTarget[]): EnvoyResource {
  const plan = t.length ? scopePlans(ctx, proxy).get(t[0]!.name) : undefined;
  const idle = duration(plan?.policy?.connectionPool?.tcp?.idleTimeout);
  return tcpProxyFilter(statPrefix, ctx.snapshot.mesh, { weighted: t }, idle);
}
