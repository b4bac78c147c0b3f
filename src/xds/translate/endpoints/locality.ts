// xds/translate/endpoints: locality-aware load balancing on a ClusterLoadAssignment, relative to the
// proxy's own locality, following Istio's documented semantics: `distribute` re-weights localities,
// `failover` / default failover assigns priorities (same subzone 0, zone 1, region 2, elsewhere 3, regions
// outside a failover target last), `failoverPriority` ranks endpoints by how many listed labels match.
// Priorities are then compacted so they run 0..N without gaps, as Envoy requires.
import type { Endpoint, Locality, Proxy } from '../../../model/types.ts';
import type { LocalityLoadBalancerSetting } from '../../../config/types/networking.ts';
import { list, record } from '../clusters/context.ts';

export interface LocalityGroup {
  locality: Locality;
  endpoints: Endpoint[];
  weight: number; // load_balancing_weight of the locality
  priority: number;
}

export function localityString(l: Locality | undefined): string {
  if (!l) return '';
  return [l.region ?? '', l.zone ?? '', l.subzone ?? ''].join('/').replace(/\/+$/, '');
}

/** Istio's locality pattern match: "region", "region/zone", "region/zone/subzone", with "*" segments. */
export function localityMatches(l: Locality | undefined, pattern: string | undefined): boolean {
  if (typeof pattern !== 'string' || !pattern || pattern === '*') return true;
  const want = pattern.split('/');
  const have = [l?.region ?? '', l?.zone ?? '', l?.subzone ?? ''];
  for (let i = 0; i < want.length && i < 3; i++) {
    if (want[i] === '*') return true;
    if (want[i] !== have[i]) return false;
  }
  return true;
}

/** How far a locality is from the proxy's: 0 same subzone, 1 same zone, 2 same region, 3 other region. */
export function localityDistance(proxy: Locality, l: Locality): number {
  if ((proxy.region ?? '') !== (l.region ?? '')) return 3;
  if ((proxy.zone ?? '') !== (l.zone ?? '')) return 2;
  if ((proxy.subzone ?? '') !== (l.subzone ?? '')) return 1;
  return 0;
}

function compactPriorities(groups: LocalityGroup[]): void {
  const used = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  const rank = new Map(used.map((p, i) => [p, i]));
  for (const g of groups) g.priority = rank.get(g.priority)!;
}

function applyDistribute(proxy: Locality, groups: LocalityGroup[], rules: NonNullable<LocalityLoadBalancerSetting['distribute']>): LocalityGroup[] {
  const rule = rules.find((r) => r && localityMatches(proxy, r.from));
  if (!rule) return groups;
  const unmatched = new Set(groups.map((_, i) => i));
  for (const [pattern, weight] of Object.entries(record(rule.to) ?? {})) {
    if (typeof weight !== 'number' || !(weight > 0)) continue;
    const hit: number[] = [];
    let total = 0;
    for (const i of unmatched) {
      if (localityMatches(groups[i]!.locality, pattern)) { hit.push(i); total += groups[i]!.weight; }
    }
    // a wildcard target shares its weight among the localities it covers, in proportion to their size
    for (const i of hit) {
      unmatched.delete(i);
      const w = total > 0 ? Math.ceil((groups[i]!.weight * weight) / total) : 0;
      groups[i]!.weight = w;
    }
  }
  // localities the rule does not name get no traffic
  return groups.filter((g, i) => !unmatched.has(i) && g.weight > 0);
}

function applyFailover(proxy: Locality, groups: LocalityGroup[], failover: NonNullable<LocalityLoadBalancerSetting['failover']>): void {
  for (const g of groups) {
    let p = localityDistance(proxy, g.locality);
    if (p === 3) {
      const rule = failover.find((f) => f?.from === (proxy.region ?? ''));
      if (rule && (g.locality.region ?? '') !== rule.to) p = 4;
    }
    g.priority = p;
  }
  compactPriorities(groups);
}

/** Value of a failoverPriority label for an endpoint or the proxy; topology labels map to locality fields. */
function labelValue(labels: Record<string, string>, locality: Locality, network: string | undefined, key: string): string | undefined {
  switch (key) {
    case 'topology.kubernetes.io/region': return locality.region ?? labels[key];
    case 'topology.kubernetes.io/zone': return locality.zone ?? labels[key];
    case 'topology.istio.io/subzone': return locality.subzone ?? labels[key];
    case 'topology.istio.io/network': return network ?? labels[key];
    default: return labels[key];
  }
}

function applyFailoverPriority(proxy: Proxy, groups: LocalityGroup[], keys: string[]): LocalityGroup[] {
  const proxyNetwork = typeof proxy.metadata.NETWORK === 'string' ? proxy.metadata.NETWORK : undefined;
  const out: LocalityGroup[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, Endpoint[]>();
    for (const e of g.endpoints) {
      let matched = 0;
      for (const k of keys) {
        const want = labelValue(proxy.labels, proxy.locality, proxyNetwork, k);
        if (want === undefined || labelValue(e.labels, e.locality, e.network, k) !== want) break;
        matched++;
      }
      const p = keys.length - matched;
      const list = byPriority.get(p) ?? [];
      list.push(e);
      byPriority.set(p, list);
    }
    for (const [p, eps] of [...byPriority].sort((a, b) => a[0] - b[0])) {
      out.push({ locality: g.locality, endpoints: eps, weight: eps.reduce((s, e) => s + (e.weight ?? 1), 0), priority: p });
    }
  }
  compactPriorities(out);
  return out;
}

/**
 * Apply a locality setting to groups (already split by locality). `failoverEnabled` is Istio's rule that
 * failover needs outlier detection: without it Envoy would never move traffic to a lower priority.
 */
export function applyLocalitySetting(proxy: Proxy, groups: LocalityGroup[], setting: LocalityLoadBalancerSetting, failoverEnabled: boolean): LocalityGroup[] {
  const distribute = list(setting.distribute);
  if (distribute.length) return applyDistribute(proxy.locality, groups, distribute);
  if (!failoverEnabled) return groups;
  const fp = list(setting.failoverPriority).filter((k) => typeof k === 'string');
  if (fp.length) return applyFailoverPriority(proxy, groups, fp);
  applyFailover(proxy.locality, groups, list(setting.failover));
  return groups;
}
