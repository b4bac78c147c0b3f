// xds/translate/routes: gateway (router) route configurations — "http.<port>" for plain HTTP servers and
// "https.<port>.<portName>.<gateway>.<ns>" for a TLS-terminating server; VirtualServices bind through
// `gateways: [ns/name]` and their hosts intersect the server's hosts.
import type { ConfigObject } from '../../../config/types.ts';
import type { GatewayServer, GatewaySpec, VirtualServiceSpec } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { hostMatches } from '../../../model/hosts.ts';
import type { RouteContext } from './context.ts';
import { buildVirtualServiceRoutes } from './http-routes.ts';
import { gatewayKey, isCatchAllMatch } from './match.ts';
import { gatewayBlackholeVirtualHost } from './defaults.ts';

export interface BoundServer { gateway: ConfigObject<GatewaySpec>; server: GatewayServer; key: string }

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** Servers of the proxy's gateways that a route config name refers to. */
export function serversForRouteName(ctx: RouteContext, proxy: Proxy, routeName: string): { servers: BoundServer[]; port: number; isTLS: boolean } | undefined {
  const gws = ctx.gatewaysFor(proxy);
  const all: BoundServer[] = [];
  for (const g of gws) for (const s of g.spec.servers ?? []) all.push({ gateway: g, server: s, key: `${g.metadata.namespace}/${g.metadata.name}` });
  let m = /^http\.(\d+)$/.exec(routeName);
  if (m) {
    const port = Number(m[1]);
    const servers = all.filter((b) => b.server.port.number === port && HTTP_PROTOCOLS.has(b.server.port.protocol.toUpperCase()));
    return { servers, port, isTLS: false };
  }
  m = /^https\.(\d+)\.([^.]+)\.([^.]+)\.([^.]+)$/.exec(routeName);
  if (m) {
    const port = Number(m[1]);
    const servers = all.filter((b) => b.server.port.number === port && b.server.port.name === m![2] &&
      b.gateway.metadata.name === m![3] && b.gateway.metadata.namespace === m![4]);
    return { servers, port, isTLS: true };
  }
  return undefined;
}

/** Split a server host "ns/host" ("." = the gateway's namespace, "*" or absent = any). */
function serverHost(h: string, gwNs: string): { ns: string; host: string } {
  const i = h.indexOf('/');
  if (i < 0) return { ns: '*', host: h };
  const ns = h.slice(0, i);
  return { ns: ns === '.' ? gwNs : ns, host: h.slice(i + 1) };
}

/** The more specific of two overlapping hosts, or undefined when they do not overlap. */
function intersect(vsHost: string, srvHost: string): string | undefined {
  if (hostMatches(srvHost, vsHost)) return vsHost;
  if (hostMatches(vsHost, srvHost)) return srvHost;
  return undefined;
}

function gatewayDomains(host: string, port: number): string[] {
  return host === '*' ? ['*'] : [host, `${host}:${port}`];
}

export function gatewayVirtualHosts(ctx: RouteContext, proxy: Proxy, bound: BoundServer[], port: number, isTLS: boolean): EnvoyResource[] {
  const keys = [...new Set(bound.map((b) => b.key))];
  const gatewaySet = new Set(keys);
  const vss = ctx.virtualServicesFor(proxy, keys);
  const byName = new Map<string, { domains: string[]; routes: EnvoyResource[]; requireTls: boolean }>();
  const routeCache = new Map<ConfigObject<VirtualServiceSpec>, EnvoyResource[]>();
  for (const b of bound) {
    for (const vs of vss) {
      const vsGateways = (vs.spec.gateways ?? []).map((g) => gatewayKey(g, vs.metadata.namespace));
      if (!vsGateways.includes(b.key)) continue;
      for (const sh of b.server.hosts ?? []) {
        const { ns, host } = serverHost(sh, b.gateway.metadata.namespace);
        if (ns !== '*' && ns !== vs.metadata.namespace) continue;
        for (const vh of vs.spec.hosts ?? []) {
          const h = intersect(vh, host);
          if (!h) continue;
          let routes = routeCache.get(vs);
          if (!routes) {
            routes = buildVirtualServiceRoutes({ ctx, proxy, listenPort: port, gateways: gatewaySet, isTLS }, vs);
            routeCache.set(vs, routes);
          }
          if (!routes.length) continue;
          const name = `${h}:${port}`;
          const cur = byName.get(name);
          // two VirtualServices for one host: routes are merged, catch-alls moved last (Istio's SortVHostRoutes)
          if (cur) { if (!cur.routes.includes(routes[0]!)) cur.routes = [...cur.routes, ...routes]; }
          else byName.set(name, { domains: gatewayDomains(h, port), routes: [...routes], requireTls: !!b.server.tls?.httpsRedirect && !isTLS });
        }
      }
    }
  }
  const out: EnvoyResource[] = [];
  for (const name of [...byName.keys()].sort()) {
    const v = byName.get(name)!;
    const routes = [...v.routes.filter((r) => !isCatchAllMatch(r.match as EnvoyResource)), ...v.routes.filter((r) => isCatchAllMatch(r.match as EnvoyResource))];
    const vh: EnvoyResource = { name, domains: v.domains, routes, include_request_attempt_count: true };
    if (v.requireTls) vh.require_tls = 'ALL';
    out.push(vh);
  }
  // servers with httpsRedirect still redirect their hosts to https when no VirtualService binds them
  if (!isTLS) {
    for (const b of bound) {
      if (!b.server.tls?.httpsRedirect) continue;
      for (const sh of b.server.hosts ?? []) {
        const { host } = serverHost(sh, b.gateway.metadata.namespace);
        const name = `${host}:${port}`;
        if (byName.has(name) || out.some((v) => v.name === name)) continue;
        out.push({ name, domains: gatewayDomains(host, port), routes: [], include_request_attempt_count: true, require_tls: 'ALL' });
      }
    }
  }
  if (!out.length) return [gatewayBlackholeVirtualHost(port)];
  // a domain may appear once per route configuration
  const seen = new Set<string>();
  for (const vh of out) vh.domains = (vh.domains as string[]).filter((d) => !seen.has(d) && !!seen.add(d));
  return out.filter((vh) => (vh.domains as string[]).length > 0);
}
