// xds/translate/routes: sidecar (and proxyless gRPC) outbound virtual hosts for one port — services with
// a VirtualService get its routes, the rest a default route; "http_proxy" merges every port.
import type { ConfigObject } from '../../../config/types.ts';
import type { VirtualServiceSpec } from '../../../config/types/networking.ts';
import type { Proxy, Service } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { hostMatches, isWildcard } from '../../../model/hosts.ts';
import { isHttpProtocol, type RouteContext } from './context.ts';
import { buildVirtualServiceRoutes, type RouteOptions } from './http-routes.ts';
import { serviceDomains } from './domains.ts';
import { defaultServiceRoute } from './defaults.ts';
import { memoPart } from './memo.ts';

const MESH = new Set(['mesh']);

interface VhostDraft { name: string; domains: string[]; routes: EnvoyResource[] }

/**
 * Pick at most one VirtualService per service: the first one naming the host exactly, else the one
 * with the most specific matching wildcard (first in order on ties).
 */
function virtualServiceByHost(services: Service[], vss: ConfigObject<VirtualServiceSpec>[]): Map<string, ConfigObject<VirtualServiceSpec>> {
  const out = new Map<string, ConfigObject<VirtualServiceSpec>>();
  const wildBest = new Map<string, { vs: ConfigObject<VirtualServiceSpec>; len: number }>();
  const byHost = new Map(services.map((s) => [s.hostname, s]));
  for (const vs of vss) {
    for (const h of vs.spec.hosts ?? []) {
      if (!isWildcard(h)) {
        if (byHost.has(h) && !out.has(h)) out.set(h, vs);
        continue;
      }
      for (const s of services) {
        if (!hostMatches(h, s.hostname)) continue;
        const cur = wildBest.get(s.hostname);
        if (!cur || h.length > cur.len) wildBest.set(s.hostname, { vs, len: h.length });
      }
    }
  }
  for (const [host, { vs }] of wildBest) if (!out.has(host)) out.set(host, vs);
  return out;
}

/** What a sidecar sees, computed once per route configuration (port independent). */
export interface SidecarScope {
  services: Service[];
  vss: ConfigObject<VirtualServiceSpec>[];
  vsFor: Map<string, ConfigObject<VirtualServiceSpec>>;
  known: Set<string>;
}

function sidecarScope(ctx: RouteContext, proxy: Proxy): SidecarScope {
  const services = ctx.servicesFor(proxy);
  const vss = ctx.virtualServicesFor(proxy, ['mesh']);
  return { services, vss, vsFor: virtualServiceByHost(services, vss), known: new Set(services.map((s) => s.hostname)) };
}

/** Virtual hosts of the services visible to `proxy` on `port` (no catch-all). */
export function sidecarVirtualHosts(ctx: RouteContext, proxy: Proxy, port: number, scope: SidecarScope = sidecarScope(ctx, proxy)): VhostDraft[] {
  const services = scope.services.filter((s) => s.ports.some((p) => p.port === port && isHttpProtocol(p.protocol)));
  const { vss, vsFor, known } = scope;
  const opts: RouteOptions = { ctx, proxy, listenPort: port, gateways: MESH };
  const routeCache = new Map<ConfigObject<VirtualServiceSpec>, EnvoyResource[]>();
  const routesOf = (vs: ConfigObject<VirtualServiceSpec>): EnvoyResource[] => {
    let r = routeCache.get(vs);
    if (!r) { r = buildVirtualServiceRoutes(opts, vs); routeCache.set(vs, r); }
    return r;
  };
  const out: VhostDraft[] = [];
  const usedVs = new Set<ConfigObject<VirtualServiceSpec>>();
  for (const svc of services) {
    const vs = vsFor.get(svc.hostname);
    let routes: EnvoyResource[];
    if (vs) {
      routes = routesOf(vs);
      usedVs.add(vs);
      // a VirtualService whose every match is scoped elsewhere (port, sourceLabels) yields no routes: fall back
      if (!routes.length) routes = [defaultServiceRoute(ctx, proxy, svc, port)];
    } else {
      routes = [defaultServiceRoute(ctx, proxy, svc, port)];
    }
    const domains = memoPart(ctx, `domains|${svc.hostname}|${port}|${proxy.dnsDomain}|${svc.addresses.join(',')}`, () => serviceDomains(svc, port, proxy));
    out.push({ name: `${svc.hostname}:${port}`, domains, routes });
  }
  // VirtualService hosts that name no registered service (e.g. an external name under ALLOW_ANY):
  // Istio gives them virtual hosts on port 80, or on ports where the same VirtualService matched services.
  for (const vs of vss) {
    if (port !== 80 && !usedVs.has(vs)) continue;
    for (const h of vs.spec.hosts ?? []) {
      if (known.has(h) || (isWildcard(h) && services.some((s) => hostMatches(h, s.hostname)))) continue;
      const routes = routesOf(vs);
      if (!routes.length) continue;
      out.push({ name: `${h}:${port}`, domains: [h, `${h}:${port}`], routes });
    }
  }
  return out;
}

/** Istio's HTTP_PROXY route config: every HTTP port; off port 80 only "host:port" domains are kept. */
export function httpProxyVirtualHosts(ctx: RouteContext, proxy: Proxy): VhostDraft[] {
  const scope = sidecarScope(ctx, proxy);
  const ports = new Set<number>();
  for (const s of scope.services) for (const p of s.ports) if (isHttpProtocol(p.protocol)) ports.add(p.port);
  const out: VhostDraft[] = [];
  for (const port of [...ports].sort((a, b) => a - b)) {
    for (const vh of sidecarVirtualHosts(ctx, proxy, port, scope)) {
      const domains = port === 80 ? vh.domains : vh.domains.filter((d) => d.includes(':'));
      if (domains.length) out.push({ ...vh, domains });
    }
  }
  return out;
}

/**
 * Turn drafts into Envoy virtual hosts: sorted by name, a repeated name or domain dropped from the
 * later one (Envoy rejects a route configuration that lists a domain twice).
 */
export function finalizeVirtualHosts(drafts: VhostDraft[], extra: Record<string, unknown> = {}): EnvoyResource[] {
  const seenNames = new Set<string>();
  const seenDomains = new Set<string>();
  const out: EnvoyResource[] = [];
  for (const d of [...drafts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (seenNames.has(d.name)) continue;
    const domains = d.domains.filter((x) => { const k = x.toLowerCase(); if (seenDomains.has(k)) return false; seenDomains.add(k); return true; });
    if (!domains.length) continue;
    seenNames.add(d.name);
    out.push({ name: d.name, domains, routes: d.routes, ...extra, include_request_attempt_count: true });
  }
  return out;
}
