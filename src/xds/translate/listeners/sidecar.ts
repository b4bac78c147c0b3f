// xds/translate/listeners: a sidecar's listeners in Istio's captured shape — virtualOutbound (15001) handing
// connections to per-port outbound listeners "0.0.0.0_<port>" (bind_to_port false), and virtualInbound
// (15006) with a filter chain per workload port. Outbound listeners depend only on the proxy's scope and are
// shared between proxies; inbound ones depend on the proxy's own ports.
import type { Proxy, Service, ServicePort } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import { isHttpProtocol, destinationCluster } from '../routes/context.ts';
import { clusterScopeKey, listenerScopeKey, memo, list, type TranslateContext } from '../clusters/context.ts';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, inboundCluster, outboundCluster } from '../clusters/names.ts';
import { inboundPorts, httpish, type InboundPort } from '../clusters/inbound.ts';
import { proxiedPorts, isPortNumber } from '../clusters/plan.ts';
import { parseEgressHost, egressAdmits } from '../../../model/visibility.ts';
import { hcmFilter, tcpProxyFilter, socketAddress } from './hcm.ts';
import { mtlsChains, needsTlsInspector, workloadMtlsMode, TLS_INSPECTOR } from './mtls.ts';
import { tcpRouteTarget, tlsRouteChains, outboundTcpProxy, VsIndex, type WeightedTarget } from './tcp-routes.ts';
import { securityHttpFilters, securityNetworkFilters } from '../security/index.ts';

const VIRTUAL_OUTBOUND_PORT = 15001;
const VIRTUAL_INBOUND_PORT = 15006;

const originalDstFilter = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': TypeUrl.OriginalDst } };
export const tlsInspector = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TypeUrl.TlsInspector } };

const isTls = (p: ServicePort['protocol']): boolean => p === 'TLS' || p === 'HTTPS';

/** Sidecar outboundTrafficPolicy.egressProxy (ALLOW_ANY only): unknown destinations go to that service's cluster. */
function egressProxyCluster(ctx: TranslateContext, proxy: Proxy): string | undefined {
  const sc = ctx.sidecarFor(proxy);
  const ep = sc?.spec?.outboundTrafficPolicy?.egressProxy;
  if (!ep || typeof ep.host !== 'string' || !ep.host) return undefined;
  return destinationCluster(ctx, ep, sc!.metadata.namespace, isPortNumber(ep.port?.number) ? ep.port!.number : 80).cluster;
}

export function virtualOutbound(ctx: TranslateContext, proxy: Proxy): EnvoyResource {
  const mode = ctx.outboundTrafficPolicy(proxy);
  const egress = mode === 'ALLOW_ANY' ? egressProxyCluster(ctx, proxy) : undefined;
  const cluster = mode === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : egress ?? PASSTHROUGH_CLUSTER;
  return {
    name: 'virtualOutbound',
    address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
    use_original_dst: { value: true },
    listener_filters: [originalDstFilter],
    traffic_direction: 'OUTBOUND',
    // connections to destinations no per-port listener claims fall through here
    filter_chains: [{ name: cluster === BLACKHOLE_CLUSTER ? 'BlackHoleFilterChain' : 'PassthroughFilterChain', filters: [tcpProxyFilter(cluster, ctx.snapshot.mesh, { cluster })] }],
  };
}

interface PortEntry { svc: Service; port: ServicePort }

/** The tcp_proxy filter for one TCP/TLS service port, honouring VirtualService tcp routes. */
function tcpFilterFor(ctx: TranslateContext, proxy: Proxy, e: PortEntry, gateways: string[], index: VsIndex): EnvoyResource {
  const t: WeightedTarget[] = tcpRouteTarget(ctx, index, e.svc.hostname, e.port.port, proxy, gateways)
    ?? [{ name: outboundCluster(e.svc.hostname, e.port.port), weight: 100 }];
  const stat = t.length === 1 ? t[0]!.name : outboundCluster(e.svc.hostname, e.port.port);
  return outboundTcpProxy(ctx, proxy, stat, t);
}

function prefixRanges(addresses: string[]): EnvoyResource[] {
  return addresses.map((a) => {
    const [ip, len] = a.split('/');
    return { address_prefix: ip, prefix_len: { value: len ? Number(len) : ip!.includes(':') ? 128 : 32 } };
  });
}

/** One outbound listener for a port shared by several services: TLS by SNI, TCP by VIP, HTTP as the default chain. */
function portListener(ctx: TranslateContext, proxy: Proxy, portNum: number, entries: PortEntry[], index: VsIndex): EnvoyResource | undefined {
  const gateways = ['mesh'];
  const chains: EnvoyResource[] = [];
  let needsTlsInspector = false;
  const tlsEntries = entries.filter((e) => isTls(e.port.protocol));
  if (tlsEntries.length) {
    const routed = tlsRouteChains(ctx, index.all, tlsEntries.map((e) => e.svc.hostname), portNum, proxy, gateways);
    const claimed = new Set<string>();
    for (const r of routed) {
      r.sniHosts.forEach((h) => claimed.add(h));
      chains.push({
        name: `tls_${r.sniHosts[0]}_${portNum}`,
        filter_chain_match: { server_names: r.sniHosts },
        filters: [outboundTcpProxy(ctx, proxy, r.targets.length === 1 ? r.targets[0]!.name : `tls_${portNum}`, r.targets)],
      });
    }
    for (const e of tlsEntries) {
      if (claimed.has(e.svc.hostname)) continue;
      claimed.add(e.svc.hostname);
      chains.push({
        name: `${e.svc.hostname}_${portNum}`,
        filter_chain_match: { server_names: [e.svc.hostname] },
        filters: [tcpFilterFor(ctx, proxy, e, gateways, index)],
      });
    }
    needsTlsInspector = chains.length > 0;
  }
  const tcpEntries = entries.filter((e) => !isTls(e.port.protocol) && !isHttpProtocol(e.port.protocol));
  const seenVip = new Set<string>();
  let defaultTcp: PortEntry | undefined;
  for (const e of tcpEntries) {
    const vips = e.svc.addresses.filter((a) => a && a !== '0.0.0.0' && !seenVip.has(a));
    if (!vips.length) { defaultTcp ??= e; continue; }
    vips.forEach((a) => seenVip.add(a));
    // several TCP services can share a port: the destination VIP tells them apart
    chains.push({ name: `${vips[0]}_${portNum}`, filter_chain_match: { prefix_ranges: prefixRanges(vips) }, filters: [tcpFilterFor(ctx, proxy, e, gateways, index)] });
  }
  const http = entries.some((e) => isHttpProtocol(e.port.protocol));
  if (http) {
    chains.push({ name: `0.0.0.0_${portNum}`, filters: [hcmFilter({ statPrefix: `outbound_0.0.0.0_${portNum}`, rds: String(portNum), kind: 'sidecar', mesh: ctx.snapshot.mesh })] });
  } else if (defaultTcp) {
    chains.push({ name: `0.0.0.0_${portNum}`, filters: [tcpFilterFor(ctx, proxy, defaultTcp, gateways, index)] });
  }
  if (!chains.length) return undefined;
  const l: Record<string, unknown> = {
    name: `0.0.0.0_${portNum}`,
    address: socketAddress('0.0.0.0', portNum),
    bind_to_port: { value: false },
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
  };
  if (needsTlsInspector) l.listener_filters = [tlsInspector];
  return l;
}

/** Visible service ports grouped by port number, ascending. */
function servicesByPort(services: readonly Service[]): Map<number, PortEntry[]> {
  const byPort = new Map<number, PortEntry[]>();
  for (const svc of services) {
    for (const port of proxiedPorts(svc)) {
      const list = byPort.get(port.port) ?? [];
      list.push({ svc, port });
      byPort.set(port.port, list);
    }
  }
  return new Map([...byPort].sort((a, b) => a[0] - b[0]));
}

/** The sidecar's ("mesh") VirtualServices indexed for L4 routing; depends on the same scope as its clusters. */
export function meshVsIndex(ctx: TranslateContext, proxy: Proxy): VsIndex {
  return memo(ctx, `vs-mesh|${clusterScopeKey(ctx, proxy)}`, () => new VsIndex(ctx.virtualServicesFor(proxy, ['mesh'])));
}

/**
 * Sidecar egress listeners that name a port admit their hosts on that port only, as in Istio; ones without
 * a port admit them on every port. undefined when no egress listener names a port (nothing to filter).
 */
function egressPortFilter(ctx: TranslateContext, proxy: Proxy): ((svc: Service, port: number) => boolean) | undefined {
  const egress = list(ctx.sidecarFor(proxy)?.spec?.egress);
  if (!egress.some((l) => isPortNumber(l?.port?.number))) return undefined;
  const parsed = egress.map((l) => ({
    port: isPortNumber(l?.port?.number) ? l.port!.number : undefined,
    hosts: list(l?.hosts).filter((h) => typeof h === 'string').map((h) => parseEgressHost(h, proxy.namespace)),
  }));
  return (svc, port) => parsed.some((p) => (p.port === undefined || p.port === port) && egressAdmits(p.hosts, svc.namespace, svc.hostname));
}

function outboundPortListeners(ctx: TranslateContext, proxy: Proxy): EnvoyResource[] {
  // labels matter only when an L4 route matches on source labels
  const labels = meshVsIndex(ctx, proxy).usesSourceLabels();
  return memo(ctx, `lds-out|${listenerScopeKey(ctx, proxy, labels)}|${ctx.outboundTrafficPolicy(proxy)}`, () => {
    const out: EnvoyResource[] = [];
    const index = meshVsIndex(ctx, proxy);
    const admits = egressPortFilter(ctx, proxy);
    for (const [port, all] of servicesByPort(ctx.servicesFor(proxy))) {
      if (port === VIRTUAL_OUTBOUND_PORT || port === VIRTUAL_INBOUND_PORT) continue;
      const entries = admits ? all.filter((e) => admits(e.svc, port)) : all;
      if (!entries.length) continue;
      const l = portListener(ctx, proxy, port, entries, index);
      if (l) out.push(l);
    }
    return out;
  });
}

/** Inline inbound route config: everything arriving on the port goes to the local application. */
function inboundRouteConfig(p: InboundPort): EnvoyResource {
  return {
    name: inboundCluster(p.endpointPort),
    virtual_hosts: [{
      name: `inbound|http|${p.endpointPort}`,
      domains: ['*'],
      routes: [{
        name: 'default',
        match: { prefix: '/' },
        route: { cluster: inboundCluster(p.endpointPort), timeout: { seconds: 0, nanos: 0 }, max_stream_duration: { max_stream_duration: { seconds: 0, nanos: 0 }, grpc_timeout_header_max: { seconds: 0, nanos: 0 } } },
      }],
    }],
    validate_clusters: { value: false },
  };
}

/**
 * The network filters for one inbound port: HCM with the inline route (and the workload's jwt_authn / RBAC HTTP
 * filters) for HTTP; the workload's network RBAC then tcp_proxy otherwise.
 */
export function inboundFilters(ctx: TranslateContext, proxy: Proxy, p: InboundPort, statAddress: string): EnvoyResource[] {
  if (httpish(p.protocol)) {
    return [hcmFilter({ statPrefix: `inbound_${statAddress}_${p.endpointPort}`, routeConfig: inboundRouteConfig(p), kind: 'inbound', mesh: ctx.snapshot.mesh, authFilters: securityHttpFilters(ctx, proxy) })];
  }
  return [...securityNetworkFilters(ctx, proxy), tcpProxyFilter(inboundCluster(p.endpointPort), ctx.snapshot.mesh, { cluster: inboundCluster(p.endpointPort) })];
}

export function virtualInbound(ctx: TranslateContext, proxy: Proxy): EnvoyResource {
  const chains: EnvoyResource[] = inboundPorts(ctx, proxy).flatMap((p) => mtlsChains(workloadMtlsMode(ctx.snapshot, proxy, p.endpointPort), {
    name: inboundCluster(p.endpointPort),
    filter_chain_match: { destination_port: { value: p.endpointPort } },
    filters: inboundFilters(ctx, proxy, p, '0.0.0.0'),
  }));
  // ports the workload does not declare: Istio applies the workload-wide mode to passthrough traffic too
  // and authorization: undeclared ports are still the workload's (network RBAC, as on its TCP ports)
  const passthrough = {
    name: 'InboundPassthroughFilterChain',
    filters: [...securityNetworkFilters(ctx, proxy), tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, ctx.snapshot.mesh, { cluster: INBOUND_PASSTHROUGH_CLUSTER })],
  };
  chains.push(...mtlsChains(workloadMtlsMode(ctx.snapshot, proxy, 0), passthrough));
  return {
    name: 'virtualInbound',
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    use_original_dst: { value: true },
    listener_filters: needsTlsInspector(chains) ? [originalDstFilter, TLS_INSPECTOR] : [originalDstFilter],
    traffic_direction: 'INBOUND',
    filter_chains: chains,
  };
}

export function sidecarListeners(ctx: TranslateContext, proxy: Proxy): EnvoyResource[] {
  return [virtualOutbound(ctx, proxy), ...outboundPortListeners(ctx, proxy), virtualInbound(ctx, proxy)];
}
