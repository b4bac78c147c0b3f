// xds/translate/routes: entry point — builds the RouteConfiguration for any route name the listener
// generator emits: sidecar ports ("9080"), "http_proxy" (local mode), proxyless gRPC
// ("outbound|9080||host", also "host:port"), gateways ("http.8080", "https.443.<portName>.<gw>.<ns>"), and
// "host:port" for a sidecar: one service's routes for any Host (a local-mode per-service listener).
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { fqdn, splitHostPort } from '../../../model/hosts.ts';
import { parseClusterName, type RouteContext } from './context.ts';
import { sidecarVirtualHosts, httpProxyVirtualHosts, finalizeVirtualHosts } from './sidecar.ts';
import { serversForRouteName, gatewayVirtualHosts } from './gateway.ts';
import { catchAllVirtualHost } from './defaults.ts';
import { memoRoute } from './memo.ts';

// Where Rigging differs from Istio's code (on purpose):
// - A client-side fault disables the route's retries and timeout: Istio's API documents this; its
//   generator leaves them on.
// - Sidecar domains list every name with and without ":port" (no ignore_port_in_host_matching).
// - retryOn naming "retriable-status-codes" but no code keeps the default 503 instead of an inert condition.
// - Several destinations all without weight share traffic equally (Istio's validation rejects them).
// - "host:port" route names for sidecars: one service for any Host (local-mode per-service listeners).

export type { RouteContext } from './context.ts';
export { outboundClusterName, parseClusterName } from './context.ts';
export { buildVirtualServiceRoutes, translateRoute, expandDelegates, type RouteOptions } from './http-routes.ts';
export { defaultServiceRoute, catchAllVirtualHost } from './defaults.ts';
export { serviceDomains, altHosts } from './domains.ts';
export { translateMatch } from './match.ts';

export const HTTP_PROXY_ROUTE = 'http_proxy';

/** Name of the route config a proxyless gRPC listener "host:port" refers to (Istio's grpcgen: a cluster key). */
export function grpcRouteName(host: string, port: number): string {
  return `outbound|${port}||${host}`;
}

/** Istio raises Envoy's 4 KiB direct-response body limit to 1 MiB (what its validation allows). */
const MAX_DIRECT_RESPONSE_BODY = 1024 * 1024;

function routeConfig(name: string, virtualHosts: EnvoyResource[]): EnvoyResource {
  return {
    name, virtual_hosts: virtualHosts, validate_clusters: { value: false },
    max_direct_response_body_size_bytes: { value: MAX_DIRECT_RESPONSE_BODY },
  };
}

/**
 * The RouteConfiguration named `routeName` for `proxy`, or undefined when the name means nothing for it.
 * Pure: reads only ctx and proxy. Results are memoized per ctx for alike proxies and shared: never mutate them.
 */
export function buildRouteConfiguration(ctx: RouteContext, proxy: Proxy, routeName: string): EnvoyResource | undefined {
  return memoRoute(ctx, proxy, routeName, () => build(ctx, proxy, routeName));
}

function build(ctx: RouteContext, proxy: Proxy, routeName: string): EnvoyResource | undefined {
  if (proxy.type === 'router') {
    const sel = serversForRouteName(ctx, proxy, routeName);
    if (!sel) return undefined;
    return routeConfig(routeName, gatewayVirtualHosts(ctx, proxy, sel.servers, sel.port, sel.isTLS));
  }
  if (/^\d+$/.test(routeName)) {
    const port = Number(routeName);
    const vhosts = finalizeVirtualHosts(sidecarVirtualHosts(ctx, proxy, port));
    return routeConfig(routeName, [...vhosts, catchAllVirtualHost(ctx, proxy)]);
  }
  if (routeName === HTTP_PROXY_ROUTE) {
    const vhosts = finalizeVirtualHosts(httpProxyVirtualHosts(ctx, proxy));
    return routeConfig(routeName, [...vhosts, catchAllVirtualHost(ctx, proxy)]);
  }
  const parsed = parseClusterName(routeName);
  if (parsed) {
    // proxyless gRPC (Istio's grpcgen names RDS like a cluster): every virtual host of that port; the
    // client picks one by its target authority
    return routeConfig(routeName, finalizeVirtualHosts(sidecarVirtualHosts(ctx, proxy, parsed.port)));
  }
  const hp = splitHostPort(routeName);
  if (hp.port === undefined || hp.host === '') return undefined;
  if (proxy.generator === 'grpc') return routeConfig(routeName, finalizeVirtualHosts(sidecarVirtualHosts(ctx, proxy, hp.port)));
  return singleServiceRouteConfig(ctx, proxy, routeName, hp.host, hp.port);
}

/**
 * "host:port" for a sidecar: the routes of that one service answering any Host ("*"), for a local-mode
 * listener dedicated to one service (the application may send Host: 127.0.0.1:<localPort>).
 */
function singleServiceRouteConfig(ctx: RouteContext, proxy: Proxy, routeName: string, host: string, port: number): EnvoyResource | undefined {
  const svc = ctx.serviceByHost(host) ?? ctx.serviceByHost(fqdn(host, proxy.namespace, ctx.snapshot.domainSuffix));
  if (!svc) return undefined;
  const vh = sidecarVirtualHosts(ctx, proxy, port).find((v) => v.name === `${svc.hostname}:${port}`);
  if (!vh) return undefined;
  return routeConfig(routeName, [{ name: vh.name, domains: ['*'], routes: vh.routes, include_request_attempt_count: true }]);
}
