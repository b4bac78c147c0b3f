// xds/translate/routes: the slice of PushContext that route translation reads, plus small shared helpers
// (cluster names, destination resolution). Declared structurally so routes can be unit-tested with
// hand-built contexts; the real PushContext (src/model/push-context.ts) satisfies it.
import type { ConfigObject } from '../../../config/types.ts';
import type { VirtualServiceSpec, DestinationRuleSpec, GatewaySpec, Destination } from '../../../config/types/networking.ts';
import type { PushSnapshot, Proxy, Service, Protocol } from '../../../model/types.ts';
import { fqdn } from '../../../model/hosts.ts';

export interface RouteContext {
  readonly snapshot: PushSnapshot;
  serviceByHost(hostname: string): Service | undefined;
  servicesFor(proxy: Proxy): Service[];
  virtualServicesFor(proxy: Proxy, gateways: string[]): ConfigObject<VirtualServiceSpec>[];
  delegate(name: string, namespace: string): ConfigObject<VirtualServiceSpec> | undefined;
  destinationRuleFor(proxy: Proxy, hostname: string): ConfigObject<DestinationRuleSpec> | undefined;
  gatewaysFor(proxy: Proxy): ConfigObject<GatewaySpec>[];
  outboundTrafficPolicy(proxy: Proxy): 'ALLOW_ANY' | 'REGISTRY_ONLY';
}

/** Istio's cluster naming: outbound|9080|v1|reviews.default.svc.cluster.local (empty subset: outbound|9080||host). */
export function outboundClusterName(host: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** Parse an outbound cluster name (also used by proxyless gRPC route config names). */
export function parseClusterName(name: string): { direction: string; port: number; subset: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const port = Number(parts[1]);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { direction: parts[0]!, port, subset: parts[2]!, host: parts[3]! };
}

/** Ports whose traffic goes through the HTTP connection manager (Istio's IsHTTPOrSniffed; UNKNOWN = sniffed). */
export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB' || p === 'UNKNOWN';
}

/** Resolve a destination host as written in config of namespace `ns` (Istio's short-name rule, hosts.ts fqdn()). */
function resolveHost(ctx: RouteContext, host: string, ns: string): string {
  return fqdn(host, ns, ctx.snapshot.domainSuffix);
}

/**
 * Istio's GetDestinationCluster: the destination's port if given, else the service's only port,
 * else the port the route is generated for.
 */
export function destinationCluster(ctx: RouteContext, dest: Destination, ns: string, listenPort: number): { cluster: string; host: string; port: number } {
  const host = resolveHost(ctx, dest.host, ns);
  const svc = ctx.serviceByHost(host);
  let port = listenPort;
  if (dest.port?.number) port = dest.port.number;
  else if (svc && svc.ports.length === 1) port = svc.ports[0]!.port;
  return { cluster: outboundClusterName(host, port, dest.subset ?? ''), host, port };
}
