// xds/translate/telemetry: the listener walk tracing and access logging share — rewrite every network filter of a
// generated listener's chains, copying only what changes, and cache the copy per (listener, wanted-config key) so
// proxies of one scope that want the same thing share one object (listeners come from a per-scope memo).
import type { EnvoyResource } from '../types.ts';
import { isObj } from './providers.ts';

/** Copies of generated listeners by wanted-config key; dies with the push's listener objects. */
export type RewriteCache = WeakMap<EnvoyResource, Map<string, EnvoyResource>>;

/** `listeners` rewritten by `rewrite`, each result cached under `key` (which must name everything `rewrite` reads). */
export function rewriteListeners(cache: RewriteCache, listeners: EnvoyResource[], key: string, rewrite: (l: EnvoyResource) => EnvoyResource): EnvoyResource[] {
  return listeners.map((l) => {
    let byKey = cache.get(l);
    if (!byKey) cache.set(l, byKey = new Map());
    let out = byKey.get(key);
    if (!out) byKey.set(key, out = rewrite(l));
    return out;
  });
}

/** The listener with `fn` applied to each filter of its filter_chains and default_filter_chain; the same object when nothing changes. */
export function mapFilters(l: EnvoyResource, fn: (f: EnvoyResource) => EnvoyResource): EnvoyResource {
  const chain = (c: EnvoyResource): EnvoyResource => {
    if (!Array.isArray(c.filters)) return c;
    const filters = (c.filters as EnvoyResource[]).map(fn);
    return filters.every((f, i) => f === (c.filters as EnvoyResource[])[i]) ? c : { ...c, filters };
  };
  let out = l;
  if (Array.isArray(l.filter_chains)) {
    const chains = (l.filter_chains as EnvoyResource[]).map(chain);
    if (chains.some((c, i) => c !== (l.filter_chains as EnvoyResource[])[i])) out = { ...out, filter_chains: chains };
  }
  if (isObj(l.default_filter_chain)) {
    const d = chain(l.default_filter_chain as EnvoyResource);
    if (d !== l.default_filter_chain) out = { ...out, default_filter_chain: d };
  }
  return out;
}
