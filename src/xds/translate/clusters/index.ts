// xds/translate/clusters: CDS for a proxy — one outbound cluster per visible service port and per
// DestinationRule subset (with the DR's merged traffic policy), the fixed BlackHole / Passthrough clusters,
// and inbound|port|| clusters for the workload's own ports.
import type { Proxy, Service, ServicePort } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { clusterScopeKey, memo, type TranslateContext } from './context.ts';
import {
  BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, inboundCluster,
} from './names.ts';
import { planServicePort, proxiedPorts, type ClusterPlan } from './plan.ts';
import {
  circuitBreakers, connectTimeout, explicitHttp2, httpProtocolOptions, loadBalancer, outlierDetection, upstreamConnectionOptions,
} from './policy.ts';
import { spiffeId, upstreamTransportSocket, ADS_CONFIG_SOURCE } from './tls.ts';
import { localityEndpoints } from '../endpoints/index.ts';
import { namespaceMtlsMode } from '../listeners/mtls.ts';

export * from './names.ts';

export function isHttp2(p: ServicePort['protocol']): boolean {
  return p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB';
}

export function isGrpcProxy(proxy: Proxy): boolean {
  return proxy.generator === 'grpc';
}

function serviceMetadata(svc: Service, subset: string | undefined): EnvoyResource {
  const s = (v: string) => ({ stringValue: v });
  const svcFields: Record<string, unknown> = {
    host: s(svc.hostname), name: s(svc.origin.name), namespace: s(svc.namespace),
  };
  const istio: Record<string, unknown> = { services: { listValue: { values: [{ structValue: { fields: svcFields } }] } } };
  if (subset) istio.subset = s(subset);
  return { filter_metadata: { istio: { fields: istio } } };
}

/** SPIFFE identities of the workloads behind a service port (for ISTIO_MUTUAL SAN checks). */
function identities(ctx: TranslateContext, plan: ClusterPlan): string[] {
  const td = ctx.snapshot.mesh.trustDomain || 'cluster.local';
  const sans = Array.isArray(plan.service.subjectAltNames) ? plan.service.subjectAltNames : [];
  const out = new Set<string>(sans.filter((s) => typeof s === 'string' && s));
  for (const e of ctx.endpoints(plan.service.hostname, plan.port.port, plan.labels)) {
    if (typeof e.serviceAccount === 'string' && e.serviceAccount) out.add(spiffeId(td, e.workload?.namespace ?? plan.service.namespace, e.serviceAccount));
  }
  return [...out].sort();
}

/**
 * Istio's auto mTLS: with no TLS in the DestinationRule, a mesh-internal service whose namespace does not disable
 * mTLS gets ISTIO_MUTUAL to endpoints labelled tlsMode=istio (they run a sidecar) and plaintext to the rest.
 */
function autoMtlsApplies(ctx: TranslateContext, svc: Service): boolean {
  return svc.location !== 'MESH_EXTERNAL' && namespaceMtlsMode(ctx.snapshot, svc.namespace) !== 'DISABLE';
}

function autoMtlsMatches(ctx: TranslateContext, plan: ClusterPlan, h2: boolean): EnvoyResource[] {
  const mtls = upstreamTransportSocket({ tls: { mode: 'ISTIO_MUTUAL' }, clusterName: plan.name, identities: identities(ctx, plan), http2: h2, protocol: plan.port.protocol });
  return [
    { name: 'tlsMode-istio', match: { fields: { tlsMode: { stringValue: 'istio' } } }, transport_socket: mtls },
    { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
  ];
}

/** One outbound cluster from its plan. */
function buildCluster(ctx: TranslateContext, proxy: Proxy, plan: ClusterPlan): EnvoyResource {
  const grpc = isGrpcProxy(proxy);
  const { service: svc, port, policy } = plan;
  const lb = loadBalancer(policy?.loadBalancer, grpc);
  const c: Record<string, unknown> = { name: plan.name };
  let resolution = svc.resolution;
  if (lb.originalDst) resolution = 'NONE';
  switch (resolution) {
    case 'NONE':
      c.type = 'ORIGINAL_DST';
      c.lb_policy = 'CLUSTER_PROVIDED';
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      // Istio: DNS -> STRICT_DNS (every address resolved and balanced); DNS_ROUND_ROBIN -> LOGICAL_DNS (one name)
      const logical = resolution === 'DNS_ROUND_ROBIN';
      c.type = logical ? 'LOGICAL_DNS' : 'STRICT_DNS';
      c.dns_lookup_family = 'V4_ONLY';
      c.respect_dns_ttl = true;
      c.load_assignment = { cluster_name: plan.name, endpoints: localityEndpoints(ctx, proxy, plan, logical) };
      break;
    }
    default:
      c.type = 'EDS';
      c.eds_cluster_config = { service_name: plan.name, eds_config: ADS_CONFIG_SOURCE };
  }
  if (c.lb_policy === undefined && lb.lb_policy && lb.lb_policy !== 'ROUND_ROBIN') c.lb_policy = lb.lb_policy;
  if (lb.ring_hash_lb_config) c.ring_hash_lb_config = lb.ring_hash_lb_config;
  if (lb.maglev_lb_config) c.maglev_lb_config = lb.maglev_lb_config;
  c.connect_timeout = connectTimeout(policy?.connectionPool, ctx.snapshot.mesh.connectTimeout);
  if (grpc) {
    // proxyless gRPC reads only the basics; keep the cluster minimal as Istio's grpc generator does
    return c;
  }
  c.circuit_breakers = circuitBreakers(policy?.connectionPool);
  const od = outlierDetection(policy?.outlierDetection);
  if (od) c.outlier_detection = od;
  const common: Record<string, unknown> = {};
  if (plan.locality && resolution !== 'NONE') common.locality_weighted_lb_config = {};
  // with outlier detection, Istio's minHealthPercent (default 0: panic mode off) sets the panic threshold
  if (policy?.outlierDetection) {
    const mh = policy.outlierDetection.minHealthPercent;
    common.healthy_panic_threshold = { value: typeof mh === 'number' && mh >= 0 && mh <= 100 ? mh : 0 };
  }
  if (Object.keys(common).length) c.common_lb_config = common;
  const h2 = isHttp2(port.protocol);
  const hpo = httpProtocolOptions(policy?.connectionPool, h2);
  if (hpo) c.typed_extension_protocol_options = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TypeUrl.HttpProtocolOptions, ...hpo } };
  const uco = upstreamConnectionOptions(policy?.connectionPool);
  if (uco) c.upstream_connection_options = uco;
  const tls = policy?.tls;
  // An h2 cluster by its port or by h2UpgradePolicy UPGRADE gets Istio's h2 ALPN list either way (Istio sets the TLS
  // context after the upgrade, from the cluster's own protocol options).
  const speaksH2 = explicitHttp2(policy?.connectionPool, h2);
  const ts = upstreamTransportSocket({ tls, clusterName: plan.name, identities: tls?.mode === 'ISTIO_MUTUAL' ? identities(ctx, plan) : [], http2: speaksH2, hostname: svc.hostname, protocol: port.protocol });
  if (ts) c.transport_socket = ts;
  else if (!tls && autoMtlsApplies(ctx, svc)) c.transport_socket_matches = autoMtlsMatches(ctx, plan, speaksH2);
  c.metadata = serviceMetadata(svc, plan.subset);
  return c;
}

/** Clusters of one service (every proxied port, every subset), for `proxy`'s view of its DestinationRule. */
export function serviceClusters(ctx: TranslateContext, proxy: Proxy, svc: Service): EnvoyResource[] {
  const grpc = isGrpcProxy(proxy);
  // proxyless gRPC balances over EDS only: no ORIGINAL_DST or DNS clusters
  if (grpc && svc.resolution !== 'STATIC') return [];
  const dr = ctx.destinationRuleFor(proxy, svc.hostname);
  const out: EnvoyResource[] = [];
  for (const port of proxiedPorts(svc)) {
    for (const plan of planServicePort(svc, port, dr)) out.push(buildCluster(ctx, proxy, plan));
  }
  return out;
}

function blackHoleCluster(ctx: TranslateContext): EnvoyResource {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: connectTimeout(undefined, ctx.snapshot.mesh.connectTimeout) };
}

function passthroughCluster(ctx: TranslateContext, name = PASSTHROUGH_CLUSTER): EnvoyResource {
  return {
    name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: connectTimeout(undefined, ctx.snapshot.mesh.connectTimeout),
    circuit_breakers: circuitBreakers(undefined),
  };
}

/** Outbound clusters for a proxy, computed once per (push, scope) since they do not depend on the individual proxy. */
export function outboundClusters(ctx: TranslateContext, proxy: Proxy): EnvoyResource[] {
  return memo(ctx, `cds|${clusterScopeKey(ctx, proxy)}`, () => {
    const out: EnvoyResource[] = [];
    for (const svc of ctx.servicesFor(proxy)) out.push(...serviceClusters(ctx, proxy, svc));
    if (!isGrpcProxy(proxy)) out.push(blackHoleCluster(ctx), passthroughCluster(ctx));
    return out;
  });
}

/** A STATIC cluster sending to the application on 127.0.0.1:<appPort>. */
export function inboundStaticCluster(ctx: TranslateContext, endpointPort: number, appPort: number, h2: boolean): EnvoyResource {
  const name = inboundCluster(endpointPort);
  const c: Record<string, unknown> = {
    name, type: 'STATIC',
    connect_timeout: connectTimeout(undefined, ctx.snapshot.mesh.connectTimeout),
    circuit_breakers: circuitBreakers(undefined),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }], load_balancing_weight: { value: 1 } }],
    },
  };
  if (h2) c.typed_extension_protocol_options = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TypeUrl.HttpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } } };
  return c;
}

export function inboundPassthroughCluster(ctx: TranslateContext): EnvoyResource {
  return passthroughCluster(ctx, INBOUND_PASSTHROUGH_CLUSTER);
}

