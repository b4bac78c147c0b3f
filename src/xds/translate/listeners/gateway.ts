// xds/translate/listeners: a gateway's (router's) listeners from the Gateway servers selecting it. One
// listener "0.0.0.0_<port>" per server port: HTTP -> HCM with RDS "http.<port>"; HTTPS terminated with
// SIMPLE/MUTUAL/ISTIO_MUTUAL -> a filter chain per server (SNI from its hosts) with a DownstreamTlsContext
// and RDS "https.<port>.<portName>.<gateway>.<ns>"; PASSTHROUGH -> SNI chains from VirtualService tls routes;
// AUTO_PASSTHROUGH -> one chain per cluster by its Istio SNI;
// TCP (and terminated TLS) -> tcp_proxy from tcp routes of VirtualServices bound to the gateway.
import type { ConfigObject } from '../../../config/types.ts';
import type { GatewaySpec, GatewayServer, ServerTLSSettings } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { listenerScopeKey, memo, list, type TranslateContext } from '../clusters/context.ts';
import { BLACKHOLE_CLUSTER, istioMutualSni } from '../clusters/names.ts';
import { scopePlans } from '../clusters/plan.ts';
import { sdsSecret } from '../clusters/tls.ts';
import { hcmFilter, tcpProxyFilter, socketAddress, TCP_PROXY_FILTER } from './hcm.ts';
import { securityHttpFilters, securityNetworkFilters } from '../security/index.ts';
import { tlsInspector } from './sidecar.ts';
import { firstTcpRouteTarget, tlsRouteChains, outboundTcpProxy } from './tcp-routes.ts';

export function gatewayHttpRouteName(port: number): string { return `http.${port}`; }
export function gatewayHttpsRouteName(port: number, portName: string, gw: ConfigObject<GatewaySpec>): string {
  return `https.${port}.${portName}.${gw.metadata.name}.${gw.metadata.namespace}`;
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** Gateway hosts may be "ns/host"; SNI uses the host part, and "*" means no SNI restriction. */
function serverNames(hosts: string[]): string[] {
  const names = hosts.map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h));
  if (names.some((h) => h === '*')) return [];
  return [...new Set(names)];
}

const tlsVersion: Record<string, string> = { TLSV1_0: 'TLSv1_0', TLSV1_1: 'TLSv1_1', TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3', TLS_AUTO: 'TLS_AUTO' };

function downstreamTlsContext(tls: ServerTLSSettings, http: boolean): EnvoyResource {
  const common: Record<string, unknown> = {};
  const mutual = tls.mode === 'MUTUAL' || tls.mode === 'ISTIO_MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL';
  if (tls.mode === 'ISTIO_MUTUAL') {
    common.tls_certificate_sds_secret_configs = [sdsSecret('default')];
    common.combined_validation_context = { default_validation_context: {}, validation_context_sds_secret_config: sdsSecret('ROOTCA') };
  } else if (tls.credentialName) {
    // Istio's gateway credentials: cert+key in the secret, the client CA in "<name>-cacert"
    common.tls_certificate_sds_secret_configs = [sdsSecret(`kubernetes://${tls.credentialName}`)];
    if (mutual) {
      const dflt: Record<string, unknown> = {};
      if (tls.subjectAltNames?.length) dflt.match_subject_alt_names = tls.subjectAltNames.map((s) => ({ exact: s }));
      common.combined_validation_context = { default_validation_context: dflt, validation_context_sds_secret_config: sdsSecret(`kubernetes://${tls.credentialName}-cacert`) };
    }
  } else {
    if (tls.serverCertificate && tls.privateKey) {
      common.tls_certificates = [{ certificate_chain: { filename: tls.serverCertificate }, private_key: { filename: tls.privateKey } }];
    }
    if (mutual && tls.caCertificates) {
      const vc: Record<string, unknown> = { trusted_ca: { filename: tls.caCertificates } };
      if (tls.subjectAltNames?.length) vc.match_subject_alt_names = tls.subjectAltNames.map((s) => ({ exact: s }));
      common.validation_context = vc;
    }
  }
  if (http) common.alpn_protocols = ['h2', 'http/1.1'];
  const params: Record<string, unknown> = {};
  if (tls.minProtocolVersion && tlsVersion[tls.minProtocolVersion]) params.tls_minimum_protocol_version = tlsVersion[tls.minProtocolVersion];
  if (tls.maxProtocolVersion && tlsVersion[tls.maxProtocolVersion]) params.tls_maximum_protocol_version = tlsVersion[tls.maxProtocolVersion];
  if (tls.cipherSuites?.length) params.cipher_suites = tls.cipherSuites;
  if (Object.keys(params).length) common.tls_params = params;
  const ctx: Record<string, unknown> = { '@type': TypeUrl.DownstreamTls, common_tls_context: common };
  if (mutual && tls.mode !== 'OPTIONAL_MUTUAL') ctx.require_client_certificate = { value: true };
  return ctx;
}

function transportSocket(tls: ServerTLSSettings, http: boolean): EnvoyResource {
  return { name: 'envoy.transport_sockets.tls', typed_config: downstreamTlsContext(tls, http) };
}

interface BoundServer { gw: ConfigObject<GatewaySpec>; server: GatewayServer; gwName: string }

/** TCP routing for a server: the first applicable tcp route of a VirtualService bound to its gateway. */
function tcpFilter(ctx: TranslateContext, proxy: Proxy, b: BoundServer, port: number): EnvoyResource {
  const gws = [b.gwName];
  const t = firstTcpRouteTarget(ctx, ctx.virtualServicesFor(proxy, gws), port, proxy, gws);
  if (t) return outboundTcpProxy(ctx, proxy, t.length === 1 ? t[0]!.name : `tcp.${port}`, t);
  return tcpProxyFilter(BLACKHOLE_CLUSTER, ctx.snapshot.mesh, { cluster: BLACKHOLE_CLUSTER });
}

function portListener(ctx: TranslateContext, proxy: Proxy, bind: string, port: number, servers: BoundServer[]): EnvoyResource | undefined {
  const chains: EnvoyResource[] = [];
  let inspector = false;
  const mesh = ctx.snapshot.mesh;
  let plainHttp = false;
  const sniSeen = new Set<string>();
  for (const b of servers) {
    const proto = String(b.server.port.protocol ?? '').toUpperCase();
    const tls = b.server.tls;
    if (HTTP_PROTOCOLS.has(proto)) { plainHttp = true; continue; }
    const names = serverNames(list(b.server.hosts).filter((h) => typeof h === 'string')).filter((n) => !sniSeen.has(n));
    if ((proto === 'HTTPS' || proto === 'TLS') && tls && tls.mode !== 'PASSTHROUGH' && tls.mode !== 'AUTO_PASSTHROUGH') {
      // Envoy rejects two chains with the same match: one catch-all (no SNI) chain per port
      if (!names.length && chains.some((c) => !c.filter_chain_match)) continue;
      names.forEach((n) => sniSeen.add(n));
      inspector = true;
      const chain: Record<string, unknown> = {
        name: `${b.gwName}.${b.server.port.name}`,
        transport_socket: transportSocket(tls, proto === 'HTTPS'),
        filters: [proto === 'HTTPS'
          ? hcmFilter({ statPrefix: `outbound_0.0.0.0_${port}`, rds: gatewayHttpsRouteName(port, b.server.port.name, b.gw), kind: 'gateway', mesh, authFilters: securityHttpFilters(ctx, proxy) })
          : tcpFilter(ctx, proxy, b, port)],
      };
      if (names.length) chain.filter_chain_match = { server_names: names };
      chains.push(chain);
      continue;
    }
    if ((proto === 'HTTPS' || proto === 'TLS') && tls?.mode === 'PASSTHROUGH') {
      inspector = true;
      const gws = [b.gwName];
      const vss = ctx.virtualServicesFor(proxy, gws);
      const hosts = list(b.server.hosts).filter((h) => typeof h === 'string').map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h));
      for (const r of tlsRouteChains(ctx, vss, hosts, port, proxy, gws)) {
        const sni = r.sniHosts.filter((s) => !sniSeen.has(s));
        if (!sni.length) continue;
        sni.forEach((s) => sniSeen.add(s));
        chains.push({
          name: `${b.gwName}.${b.server.port.name}.${sni[0]}`,
          filter_chain_match: { server_names: sni },
          filters: [outboundTcpProxy(ctx, proxy, r.targets.length === 1 ? r.targets[0]!.name : `tls.${port}`, r.targets)],
        });
      }
      continue;
    }
    if ((proto === 'HTTPS' || proto === 'TLS') && tls?.mode === 'AUTO_PASSTHROUGH') {
      // mTLS passes through to the cluster its SNI names (outbound_.<port>_.<subset>_.<host>, the SNI
      // sidecars send with ISTIO_MUTUAL): one SNI chain per cluster the gateway knows
      inspector = true;
      for (const plan of scopePlans(ctx, proxy).values()) {
        const sni = istioMutualSni(plan.name);
        if (sniSeen.has(sni)) continue;
        sniSeen.add(sni);
        chains.push({
          name: `${b.gwName}.${b.server.port.name}.${plan.name}`,
          filter_chain_match: { server_names: [sni] },
          filters: [outboundTcpProxy(ctx, proxy, plan.name, [{ name: plan.name, weight: 100 }])],
        });
      }
      continue;
    }
    if (proto === 'TCP' || proto === 'MONGO' || proto === 'REDIS' || proto === 'MYSQL' || proto === 'TLS' || proto === 'HTTPS') {
      if (!chains.some((c) => !c.filter_chain_match)) chains.push({ name: `${b.gwName}.${b.server.port.name}`, filters: [tcpFilter(ctx, proxy, b, port)] });
    }
  }
  if (plainHttp && !chains.some((c) => !c.filter_chain_match)) {
    chains.push({ name: gatewayHttpRouteName(port), filters: [hcmFilter({ statPrefix: `outbound_0.0.0.0_${port}`, rds: gatewayHttpRouteName(port), kind: 'gateway', mesh, authFilters: securityHttpFilters(ctx, proxy) })] });
  }
  if (!chains.length) return undefined;
  // AuthorizationPolicies selecting the gateway workload apply to its TCP servers too (network RBAC first)
  const net = securityNetworkFilters(ctx, proxy);
  if (net.length) {
    for (const c of chains) {
      const fs = c.filters as EnvoyResource[];
      if (fs[0]?.name === TCP_PROXY_FILTER) c.filters = [...net, ...fs];
    }
  }
  // chain names must be unique within a listener (servers may repeat a port name)
  const used = new Map<string, number>();
  for (const c of chains) {
    const n = String(c.name);
    const k = used.get(n) ?? 0;
    used.set(n, k + 1);
    if (k) c.name = `${n}.${k}`;
  }
  const l: Record<string, unknown> = {
    name: `${bind}_${port}`,
    address: socketAddress(bind, port),
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
  };
  if (inspector) l.listener_filters = [tlsInspector];
  return l;
}

export function gatewayListeners(ctx: TranslateContext, proxy: Proxy): EnvoyResource[] {
  return memo(ctx, `lds-gw|${listenerScopeKey(ctx, proxy)}`, () => {
    // servers sharing a port (and bind address) share one listener; a bound server gets its own address
    const byAddr = new Map<string, { bind: string; port: number; servers: BoundServer[] }>();
    for (const gw of ctx.gatewaysFor(proxy)) {
      const gwName = `${gw.metadata.namespace}/${gw.metadata.name}`;
      for (const server of gw.spec?.servers ?? []) {
        if (!server?.port?.number) continue;
        const bind = server.bind && !server.bind.startsWith('unix:') ? server.bind : '0.0.0.0';
        const key = `${bind}_${server.port.number}`;
        const e = byAddr.get(key) ?? { bind, port: server.port.number, servers: [] };
        e.servers.push({ gw, server, gwName });
        byAddr.set(key, e);
      }
    }
    const out: EnvoyResource[] = [];
    for (const e of [...byAddr.values()].sort((a, b) => a.port - b.port || (a.bind < b.bind ? -1 : 1))) {
      const l = portListener(ctx, proxy, e.bind, e.port, e.servers);
      if (l) out.push(l);
    }
    return out;
  });
}
