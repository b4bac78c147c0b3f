// xds/translate/listeners: local-mode listeners (see local-mode.ts): the HTTP_PROXY egress listener
// "127.0.0.1_<port>" with RDS "http_proxy", inbound listeners on <proxy ip>:<endpointPort> sending to
// inbound|<endpointPort>||, and one 127.0.0.1 listener per RIG_TCP_PORTS service.
import type { Proxy } from '../../../model/types.ts';
import { fqdn } from '../../../model/hosts.ts';
import type { EnvoyResource } from '../types.ts';
import { isHttpProtocol } from '../routes/context.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { BLACKHOLE_CLUSTER, inboundCluster, outboundCluster } from '../clusters/names.ts';
import { inboundPorts } from '../clusters/inbound.ts';
import { hcmFilter, tcpProxyFilter, socketAddress } from './hcm.ts';
import { inboundFilters, meshVsIndex } from './sidecar.ts';
import { tcpRouteTarget, outboundTcpProxy } from './tcp-routes.ts';
import type { LocalMode } from './local-mode.ts';
import { mtlsChains, needsTlsInspector, workloadMtlsMode, TLS_INSPECTOR } from './mtls.ts';
import { HTTP_PROXY_ROUTE } from '../routes/index.ts';


function httpProxyListener(ctx: TranslateContext, port: number): EnvoyResource {
  return {
    name: `127.0.0.1_${port}`,
    address: socketAddress('127.0.0.1', port),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ name: HTTP_PROXY_ROUTE, filters: [hcmFilter({ statPrefix: `outbound_127.0.0.1_${port}`, rds: HTTP_PROXY_ROUTE, kind: 'sidecar', mesh: ctx.snapshot.mesh })] }],
  };
}

function tcpPortListener(ctx: TranslateContext, proxy: Proxy, t: { host: string; port: number; localPort: number }): EnvoyResource {
  const svc = ctx.serviceByHost(t.host) ?? ctx.serviceByHost(fqdn(t.host, proxy.namespace, ctx.snapshot.domainSuffix));
  const sp = svc?.ports.find((p) => p.port === t.port);
  let filter: EnvoyResource;
  if (!svc || !sp) {
    // keep the port bound so the application sees a clean refusal rather than a missing listener
    filter = tcpProxyFilter(BLACKHOLE_CLUSTER, ctx.snapshot.mesh, { cluster: BLACKHOLE_CLUSTER });
  } else if (isHttpProtocol(sp.protocol)) {
    // a route config for this one service answering any Host: the app dials 127.0.0.1:<localPort>
    filter = hcmFilter({ statPrefix: `outbound_127.0.0.1_${t.localPort}`, rds: `${svc.hostname}:${t.port}`, kind: 'sidecar', mesh: ctx.snapshot.mesh });
  } else {
    const gws = ['mesh'];
    const target = tcpRouteTarget(ctx, meshVsIndex(ctx, proxy), svc.hostname, t.port, proxy, gws)
      ?? [{ name: outboundCluster(svc.hostname, t.port), weight: 100 }];
    filter = outboundTcpProxy(ctx, proxy, target.length === 1 ? target[0]!.name : outboundCluster(svc.hostname, t.port), target);
  }
  return {
    name: `127.0.0.1_${t.localPort}`,
    address: socketAddress('127.0.0.1', t.localPort),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ name: `${t.host}:${t.port}`, filters: [filter] }],
  };
}

export function localListeners(ctx: TranslateContext, proxy: Proxy, lm: LocalMode): EnvoyResource[] {
  const out: EnvoyResource[] = [];
  if (lm.httpProxyPort) out.push(httpProxyListener(ctx, lm.httpProxyPort));
  for (const t of lm.tcpPorts ?? []) {
    if (t.localPort === lm.httpProxyPort) continue;
    out.push(tcpPortListener(ctx, proxy, t));
  }
  if (lm.inboundPorts) {
    for (const p of inboundPorts(ctx, proxy)) {
      const chains = mtlsChains(workloadMtlsMode(ctx.snapshot, proxy, p.endpointPort), { name: inboundCluster(p.endpointPort), filters: inboundFilters(ctx, proxy, p, proxy.ip) });
      const l: EnvoyResource = {
        name: `${proxy.ip}_${p.endpointPort}`,
        address: socketAddress(proxy.ip, p.endpointPort),
        traffic_direction: 'INBOUND',
        filter_chains: chains,
      };
      if (needsTlsInspector(chains)) l.listener_filters = [TLS_INSPECTOR];
      out.push(l);
    }
  }
  return out;
}
