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

/** VirtualServices whose hosts cover `host` (first one wins for a host, as Istio merges by host). */
export function virtualServicesForHost(vss: readonly ConfigObject<VirtualServiceSpec>[], host: string): ConfigObject<VirtualServiceSpec>[] {
  // like HTTP routing: one VirtualService per host — an exact host first, else the most specific wildcard
  const exact = vss.find((vs) => (vs.spec.hosts ?? []).includes(host));
  if (exact) return [exact];
  let best: { vs: ConfigObject<VirtualServiceSpec>; len: number } | undefined;
  for (const vs of vss) {
    for (const h of vs.spec.hosts ?? []) {
      if (hostMatches(h, host) && (!best || h.length > best.len)) best = { vs, len: h.length };
    }
  }
  return best ? [best.vs] : [];
}

/** The tcp_proxy target for a TCP service port, from the first applicable tcp route; undefined = default cluster. */
export function tcpRouteTarget(ctx: RouteContext, vss: readonly ConfigObject<VirtualServiceSpec>[], host: string, port: number, proxy: Proxy, gateways: string[]): WeightedTarget[] | undefined {
  return firstTcpRouteTarget(ctx, virtualServicesForHost(vss, host), port, proxy, gateways);
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
