// xds/translate/endpoints: ClusterLoadAssignments for EDS clusters (and the inline load_assignment of DNS
// clusters): endpoints filtered by subset labels, grouped by locality, each locality weighted (grpc-js-xds
// drops localities without a weight), health from the registry, tlsMode metadata, locality priorities.
import type { Endpoint, Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { memo } from '../clusters/context.ts';
import type { ClusterPlan } from '../clusters/plan.ts';
import { planByName } from '../clusters/plan.ts';
import { parseClusterName } from '../clusters/names.ts';
import { applyLocalitySetting, localityString, type LocalityGroup } from './locality.ts';

function socketAddress(address: string, port: number): EnvoyResource {
  return { socket_address: { address, port_value: port } };
}

function lbEndpoint(e: Endpoint): EnvoyResource {
  const out: Record<string, unknown> = {
    endpoint: { address: socketAddress(e.address, e.port) },
    health_status: e.healthy ? 'HEALTHY' : 'UNHEALTHY',
    load_balancing_weight: { value: e.weight && e.weight > 0 ? e.weight : 1 },
  };
  // transport socket matching (auto mTLS) and telemetry read these, as in Istio
  const md: Record<string, unknown> = { 'envoy.transport_socket_match': { fields: { tlsMode: { stringValue: e.tlsMode } } } };
  if (e.workload) md.istio = { fields: { workload: { stringValue: `${e.workload.name};${e.workload.namespace}` } } };
  out.metadata = { filter_metadata: md };
  return out;
}

function groupByLocality(eps: readonly Endpoint[]): LocalityGroup[] {
  const groups = new Map<string, LocalityGroup>();
  for (const e of eps) {
    const key = localityString(e.locality);
    let g = groups.get(key);
    if (!g) { g = { locality: e.locality ?? {}, endpoints: [], weight: 0, priority: 0 }; groups.set(key, g); }
    g.endpoints.push(e);
    g.weight += e.weight && e.weight > 0 ? e.weight : 1;
  }
  return [...groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((x) => x[1]);
}

function localityProto(l: LocalityGroup['locality']): EnvoyResource {
  const out: Record<string, unknown> = {};
  if (l.region) out.region = l.region;
  if (l.zone) out.zone = l.zone;
  if (l.subzone) out.sub_zone = l.subzone;
  return out;
}

/** LocalityLbEndpoints for a plan's endpoints, as seen from `proxy` (priorities depend on its locality). */
export function localityEndpoints(ctx: TranslateContext, proxy: Proxy, plan: ClusterPlan, limitOne = false): EnvoyResource[] {
  let eps = ctx.endpoints(plan.service.hostname, plan.port.port, plan.labels);
  if (limitOne) eps = eps.slice(0, 1);
  let groups = groupByLocality(eps);
  if (plan.locality) groups = applyLocalitySetting(proxy, groups, plan.locality, plan.policy?.outlierDetection !== undefined);
  groups.sort((a, b) => a.priority - b.priority || (localityString(a.locality) < localityString(b.locality) ? -1 : 1));
  return groups.map((g) => {
    const out: Record<string, unknown> = {
      locality: localityProto(g.locality),
      lb_endpoints: g.endpoints.map(lbEndpoint),
      load_balancing_weight: { value: Math.max(1, g.weight) },
    };
    if (g.priority) out.priority = g.priority;
    return out;
  });
}

export function loadAssignment(ctx: TranslateContext, proxy: Proxy, plan: ClusterPlan): EnvoyResource {
  return { cluster_name: plan.name, endpoints: localityEndpoints(ctx, proxy, plan) };
}

function localityKey(proxy: Proxy): string {
  return `${proxy.locality.region ?? ''}/${proxy.locality.zone ?? ''}/${proxy.locality.subzone ?? ''}|${proxy.metadata.NETWORK ?? ''}|${
    Object.keys(proxy.labels).sort().map((k) => `${k}=${proxy.labels[k]}`).join(',')}`;
}

/**
 * The CLA for one EDS cluster name as `proxy` sees it. Memoized per push: when no locality setting applies
 * the result is the same for every proxy with the same DestinationRule.
 */
export function buildLoadAssignment(ctx: TranslateContext, proxy: Proxy, clusterName: string): EnvoyResource {
  const parsed = parseClusterName(clusterName);
  if (!parsed || parsed.direction !== 'outbound') return { cluster_name: clusterName };
  const plan = planByName(ctx, proxy, parsed.host, parsed.port, parsed.subset);
  if (!plan) return { cluster_name: clusterName };
  const dr = plan.dr ? `${plan.dr.metadata.namespace}/${plan.dr.metadata.name}` : '-';
  const key = `cla|${clusterName}|${dr}|${plan.locality ? localityKey(proxy) : ''}`;
  return memo(ctx, key, () => loadAssignment(ctx, proxy, plan));
}
