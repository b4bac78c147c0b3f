// xds/translate/routes: routes Istio emits without any VirtualService — the default route to a service
// port, the catch-all virtual host of sidecars (allow_any / block_all), and the gateway's 404 blackhole.
import type { Proxy, Service } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { outboundClusterName, type RouteContext } from './context.ts';
import { applyTimeout } from './http-routes.ts';
import { translateRetry, hashPolicyOf, consistentHashFor, routeTimeout } from './policies.ts';
import { ZERO_DURATION } from './duration.ts';
import { memoPart } from './memo.ts';
import type { DestinationRuleSpec } from '../../../config/types/networking.ts';

const DEFAULT_ROUTE_NAME = 'default';
export const PASSTHROUGH = 'PassthroughCluster';

/** Istio's BuildDefaultHTTPOutboundRoute: prefix "/", the service cluster, mesh retry default, no timeout. */
export function defaultServiceRoute(ctx: RouteContext, proxy: Proxy, svc: Service, port: number): EnvoyResource {
  // shared across proxies: it depends on the proxy only through its DestinationRule and generator
  const dr = ctx.destinationRuleFor(proxy, svc.hostname);
  const drKey = dr ? `${dr.metadata.namespace}/${dr.metadata.name}` : '';
  return memoPart(ctx, `default|${svc.hostname}|${port}|${proxy.generator === 'grpc' ? 'grpc' : ''}|${drKey}`,
    () => buildDefaultRoute(ctx, proxy, svc, port, dr?.spec));
}

function buildDefaultRoute(ctx: RouteContext, proxy: Proxy, svc: Service, port: number, dr: DestinationRuleSpec | undefined): EnvoyResource {
  const cluster = outboundClusterName(svc.hostname, port);
  const hash = hashPolicyOf(consistentHashFor(dr, {}, port));
  const action: Record<string, unknown> = { cluster };
  applyTimeout(action, routeTimeout(undefined, ctx.snapshot.mesh), proxy);
  const retry = translateRetry(undefined, ctx.snapshot.mesh, false);
  if (retry) action.retry_policy = retry;
  if (hash) action.hash_policy = [hash];
  return {
    name: DEFAULT_ROUTE_NAME,
    match: { prefix: '/', case_sensitive: { value: true } },
    route: action,
    decorator: { operation: `${svc.hostname}:${port}/*` },
  };
}

/** The sidecar's last virtual host: "*" to PassthroughCluster (ALLOW_ANY) or a 502 (REGISTRY_ONLY). */
export function catchAllVirtualHost(ctx: RouteContext, proxy: Proxy): EnvoyResource {
  if (ctx.outboundTrafficPolicy(proxy) === 'ALLOW_ANY') {
    return {
      name: 'allow_any',
      domains: ['*'],
      routes: [{
        name: 'allow_any',
        match: { prefix: '/' },
        route: { cluster: PASSTHROUGH, timeout: ZERO_DURATION, max_grpc_timeout: ZERO_DURATION },
      }],
      include_request_attempt_count: true,
    };
  }
  return {
    name: 'block_all',
    domains: ['*'],
    routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
    include_request_attempt_count: true,
  };
}

/** A gateway server port with no VirtualService bound answers 404 (Istio's "blackhole" virtual host). */
export function gatewayBlackholeVirtualHost(port: number): EnvoyResource {
  return {
    name: `blackhole:${port}`,
    domains: ['*'],
    routes: [{ name: DEFAULT_ROUTE_NAME, match: { prefix: '/' }, direct_response: { status: 404 } }],
    include_request_attempt_count: true,
  };
}
