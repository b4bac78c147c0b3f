// xds/translate/listeners: proxyless gRPC (GENERATOR=grpc) listeners as Istio's grpc generator serves them:
// one api_listener per requested "host:port" (names as the client asked, short names expanded within its
// namespace), an HCM whose RDS route config is named like the cluster, outbound|<port>||<host>.
import type { Proxy, Service } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { isHttpProtocol } from '../routes/context.ts';
import { memo, clusterScopeKey, type TranslateContext } from '../clusters/context.ts';
import { outboundCluster } from '../clusters/names.ts';
import { hcmConfig, socketAddress } from './hcm.ts';

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

export function grpcListeners(ctx: TranslateContext, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  const services = visible(ctx, proxy);
  if (!names || names.length === 0) {
    return memo(ctx, `grpc-lds|${clusterScopeKey(ctx, proxy)}`, () => {
      const out: EnvoyResource[] = [];
      for (const svc of services.values()) {
        for (const p of svc.ports) if (isHttpProtocol(p.protocol)) out.push(listenerFor(ctx, svc, p.port, `${svc.hostname}:${p.port}`));
      }
      return out;
    });
  }
  const out: EnvoyResource[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const i = name.lastIndexOf(':');
    const hasPort = i > 0 && /^\d+$/.test(name.slice(i + 1));
    const host = hasPort ? name.slice(0, i) : name;
    const port = hasPort ? Number(name.slice(i + 1)) : undefined;
    const svc = candidates(host, proxy).map((h) => services.get(h)).find((s) => s);
    if (!svc) continue;
    for (const p of svc.ports) {
      if (port !== undefined && p.port !== port) continue;
      if (p.protocol === 'UDP') continue;
      // the listener keeps the name the client subscribed to, or the client would not recognise it
      const lname = hasPort ? name : `${name}:${p.port}`;
      if (seen.has(lname)) continue;
      seen.add(lname);
      out.push(listenerFor(ctx, svc, p.port, lname));
    }
  }
  return out;
}
