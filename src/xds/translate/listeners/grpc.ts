// xds/translate/listeners: proxyless gRPC (GENERATOR=grpc) listeners as Istio's grpc generator serves them:
// one api_listener per requested "host:port" (names as the client asked, short names expanded within its
// namespace), an HCM whose RDS route config is named like the cluster, outbound|<port>||<host>.
import type { Proxy, Service } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { isHttpProtocol } from '../routes/context.ts';
import { memo, clusterScopeKey, type TranslateContext } from '../clusters/context.ts';
import { outboundCluster } from '../clusters/names.ts';
import { proxiedPorts } from '../clusters/plan.ts';
import { hcmConfig, socketAddress, HCM_FILTER } from './hcm.ts';

/** The route config name a proxyless listener for host:port uses (Istio: the cluster key). */
export function grpcRouteName(host: string, port: number): string {
  return outboundCluster(host, port);
}

function listenerFor(ctx: TranslateContext, svc: Service, port: number, name: string): EnvoyResource {
  return {
    name,
    address: socketAddress(svc.addresses.find((a) => !a.includes('/')) ?? '0.0.0.0', port),
    api_listener: { api_listener: hcmConfig({ statPrefix: name, rds: grpcRouteName(svc.hostname, port), kind: 'grpc', mesh: ctx.snapshot.mesh }) },
  };
}

function visible(ctx: TranslateContext, proxy: Proxy): Map<string, Service> {
  return memo(ctx, `grpc-visible|${clusterScopeKey(ctx, proxy)}`, () => new Map(ctx.servicesFor(proxy).map((s) => [s.hostname, s])));
}

/** Expand a name a gRPC client asked for ("reviews", "reviews.default", "reviews.default.svc") to the FQDN. */
function candidates(host: string, proxy: Proxy): string[] {
  const out = [host];
  if (!host.includes('.')) out.push(`${host}.${proxy.dnsDomain}`);
  else {
    for (const suffix of [proxy.namespace, `${proxy.namespace}.svc`]) {
      if (host.endsWith(`.${suffix}`)) out.push(`${host.slice(0, -suffix.length - 1)}.${proxy.dnsDomain}`);
    }
  }
  return out;
}

/** Name prefix xDS-enabled gRPC servers use to ask for their serving listener ("…/inbound/0.0.0.0:7070"). */
const GRPC_SERVER_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/**
 * A gRPC server's listener: plaintext, every request accepted by a non-forwarding route (the server
 * handles it itself). Authorization filters would sit before the router.
 */
function serverListener(ctx: TranslateContext, name: string): EnvoyResource | undefined {
  const hostPort = name.slice(GRPC_SERVER_LISTENER_PREFIX.length);
  const i = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const routeConfig = {
    name: 'inbound',
    virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }],
  };
  return {
    name,
    address: socketAddress(host, port),
    traffic_direction: 'INBOUND',
    filter_chains: [{
      name: 'inbound-plaintext',
      filters: [{ name: HCM_FILTER, typed_config: hcmConfig({ statPrefix: `inbound_${port}`, routeConfig, kind: 'grpc-server', mesh: ctx.snapshot.mesh }) }],
    }],
  };
}

export function grpcListeners(ctx: TranslateContext, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  const services = visible(ctx, proxy);
  if (!names || names.length === 0) {
    return memo(ctx, `grpc-lds|${clusterScopeKey(ctx, proxy)}`, () => {
      const out: EnvoyResource[] = [];
      for (const svc of services.values()) {
        for (const p of proxiedPorts(svc)) if (isHttpProtocol(p.protocol)) out.push(listenerFor(ctx, svc, p.port, `${svc.hostname}:${p.port}`));
      }
      return out;
    });
  }
  const out: EnvoyResource[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (name.startsWith(GRPC_SERVER_LISTENER_PREFIX)) {
      const l = seen.has(name) ? undefined : serverListener(ctx, name);
      if (l) { seen.add(name); out.push(l); }
      continue;
    }
    const i = name.lastIndexOf(':');
    const hasPort = i > 0 && /^\d+$/.test(name.slice(i + 1));
    const host = hasPort ? name.slice(0, i) : name;
    const port = hasPort ? Number(name.slice(i + 1)) : undefined;
    const svc = candidates(host, proxy).map((h) => services.get(h)).find((s) => s);
    if (!svc) continue;
    for (const p of proxiedPorts(svc)) {
      if (port !== undefined && p.port !== port) continue;
      // the listener keeps the name the client subscribed to, or the client would not recognise it
      const lname = hasPort ? name : `${name}:${p.port}`;
      if (seen.has(lname)) continue;
      seen.add(lname);
      out.push(listenerFor(ctx, svc, p.port, lname));
    }
  }
  return out;
}
