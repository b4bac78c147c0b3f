// xds/translate/endpoints: ClusterLoadAssignments for EDS clusters (and the inline load_assignment of DNS
// clusters): endpoints filtered by subset labels, grouped by locality, each locality weighted (grpc-js-xds
// drops localities without a weight), health from the registry, tlsMode metadata, locality priorities.
import type { Endpoint, Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { clusterScopeKey, memo, list } from '../clusters/context.ts';
import type { ClusterPlan } from '../clusters/plan.ts';
import { planByName, scopePlans } from '../clusters/plan.ts';
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

/** What a CLA depends on besides the plan: the proxy's locality, and its labels/network for failoverPriority. */
function localityKey(proxy: Proxy, plan: ClusterPlan): string {
  if (!plan.locality) return '';
  const l = proxy.locality;
  let key = `${l.region ?? ''}/${l.zone ?? ''}/${l.subzone ?? ''}`;
  const fp = list(plan.locality.failoverPriority);
  if (fp.length && !list(plan.locality.distribute).length) {
    key += `|${String(proxy.metadata.NETWORK ?? '')}|${fp.map((k) => `${k}=${proxy.labels[k] ?? ''}`).join(',')}`;
  }
  return key;
}

/**
 * The CLAs for EDS cluster names as `proxy` sees them. Memoized per push: proxies that share a scope and
 * (when a locality setting applies) a locality share the result. Unknown or non-outbound names get an
 * empty assignment, as an EDS cluster with no endpoints does.
 */
export function buildLoadAssignments(ctx: TranslateContext, proxy: Proxy, names: readonly string[]): EnvoyResource[] {
  const plans = scopePlans(ctx, proxy);
  const out: EnvoyResource[] = [];
  for (const clusterName of names) {
    let plan = plans.get(clusterName);
    if (!plan) {
      // not in the proxy's scope (e.g. asked for explicitly): resolve it directly
      const parsed = parseClusterName(clusterName);
      plan = parsed?.direction === 'outbound' ? planByName(ctx, proxy, parsed.host, parsed.port, parsed.subset) : undefined;
      if (!plan) { out.push({ cluster_name: clusterName }); continue; }
    }
    const dr = plan.dr ? `${plan.dr.metadata.namespace}/${plan.dr.metadata.name}` : '-';
    const p = plan;
    out.push(memo(ctx, `cla|${clusterName}|${dr}|${localityKey(proxy, p)}`, () => loadAssignment(ctx, proxy, p)));
  }
  return out;
}

/**
 * Every CLA of the proxy's scope (the names of its EDS clusters), shared by proxies with the same scope and
 * locality — the common full-push path, one memo lookup per proxy instead of one per cluster.
 */
export function scopeLoadAssignments(ctx: TranslateContext, proxy: Proxy, edsNames: readonly string[]): EnvoyResource[] {
  const plans = scopePlans(ctx, proxy);
  const usesLabels = memo(ctx, `plans-fp|${clusterScopeKey(ctx, proxy)}`, () => [...plans.values()].some((p) => list(p.locality?.failoverPriority).length));
  const l = proxy.locality;
  let key = `eds-all|${clusterScopeKey(ctx, proxy)}|${l.region ?? ''}/${l.zone ?? ''}/${l.subzone ?? ''}`;
  if (usesLabels) key += `|${String(proxy.metadata.NETWORK ?? '')}|${Object.keys(proxy.labels).sort().map((k) => `${k}=${proxy.labels[k]}`).join(',')}`;
  return memo(ctx, key, () => buildLoadAssignments(ctx, proxy, edsNames));
}
