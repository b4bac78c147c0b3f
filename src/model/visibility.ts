// model: Istio's visibility rules — exportTo lists, Sidecar egress "namespace/host" entries and workload selectors.
import { hostsOverlap } from './hosts.ts';

/**
 * Is config/service owned by `ownerNs` with this exportTo visible from `viewerNs`?
 * "*" everywhere, "." the owner's namespace, "~" nowhere, otherwise the named namespaces. Empty/absent means "*".
 */
export function exportedTo(exportTo: readonly string[] | undefined, ownerNs: string, viewerNs: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === '*') return true;
    if (e === '.' ? ownerNs === viewerNs : e === viewerNs) return true;
  }
  return false;
}

/** One Sidecar egress host entry, "ns/host": ns may be "*", "." (the proxy's namespace) or "~" (none). */
export interface EgressHost { namespace: string; host: string }

export function parseEgressHost(entry: string, proxyNs: string): EgressHost {
  const slash = entry.indexOf('/');
  if (slash < 0) return { namespace: '*', host: entry.toLowerCase() };
  let ns = entry.slice(0, slash);
  if (ns === '.') ns = proxyNs;
  return { namespace: ns, host: entry.slice(slash + 1).toLowerCase() };
}

/**
 * Does any egress entry admit a service `host` declared in namespace `ns`? Matching is by overlap, as Istio's
 * Name.Matches: "*.example.com" admits "a.example.com", and "a.example.com" admits a "*.example.com" service.
 */
export function egressAdmits(entries: readonly EgressHost[], ns: string, host: string): boolean {
  for (const e of entries) {
    if (e.namespace === '~') continue;
    if (e.namespace !== '*' && e.namespace !== ns) continue;
    if (hostsOverlap(e.host, host)) return true;
  }
  return false;
}

/** Like egressAdmits for config with several (possibly wildcard) hosts, e.g. a VirtualService. */
export function egressAdmitsAny(entries: readonly EgressHost[], ns: string, hosts: readonly string[]): boolean {
  for (const e of entries) {
    if (e.namespace === '~') continue;
    if (e.namespace !== '*' && e.namespace !== ns) continue;
    if (hosts.some((h) => hostsOverlap(e.host, h))) return true;
  }
  return false;
}

/** All of `selector`'s labels present with equal values in `labels`; an empty or absent selector selects all. */
export function labelsMatch(selector: Record<string, string> | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const k of Object.keys(selector)) if (labels?.[k] !== selector[k]) return false;
  return true;
}
