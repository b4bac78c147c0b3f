// xds/translate/routes: per-push memo of route configurations. A route configuration depends on the proxy
// only through its type, generator, namespace, DNS domain and which label selectors in config select it
// (VirtualService sourceLabels, DestinationRule/Sidecar workloadSelectors, Gateway selectors), so proxies
// alike in those share one (immutable) result. The key covers every proxy input translation reads.
import type { Proxy } from '../../../model/types.ts';
import type { RouteContext } from './context.ts';

type Selector = Record<string, string>;

const selectorCache = new WeakMap<object, Selector[]>();
const resultCache = new WeakMap<object, Map<string, unknown>>();

/** Every label selector in the snapshot that can make routes differ between proxies. */
function selectors(ctx: RouteContext): Selector[] {
  let s = selectorCache.get(ctx);
  if (s) return s;
  const out: Selector[] = [];
  const seen = new Set<string>();
  const add = (sel: Selector | undefined): void => {
    if (!sel || Object.keys(sel).length === 0) return;
    const k = JSON.stringify(Object.entries(sel).sort());
    if (seen.has(k)) return;
    seen.add(k);
    out.push(sel);
  };
  const snap = ctx.snapshot;
  for (const vs of snap.virtualServices) for (const r of vs.spec?.http ?? []) for (const m of r.match ?? []) add(m.sourceLabels);
  for (const dr of snap.destinationRules) add(dr.spec?.workloadSelector?.matchLabels);
  for (const sc of snap.sidecars) add(sc.spec?.workloadSelector?.labels);
  for (const gw of snap.gateways) add(gw.spec?.selector);
  s = out;
  selectorCache.set(ctx, s);
  return s;
}

function proxyKey(ctx: RouteContext, proxy: Proxy): string {
  const sig = selectors(ctx).map((sel) => (Object.entries(sel).every(([k, v]) => proxy.labels[k] === v) ? '1' : '0')).join('');
  return `${proxy.type}|${proxy.generator ?? ''}|${proxy.namespace}|${proxy.dnsDomain}|${sig}`;
}

export function memoRoute<T>(ctx: RouteContext, proxy: Proxy, routeName: string, build: () => T): T {
  return memoIn(resultCache, ctx, `${proxyKey(ctx, proxy)}|${routeName}`, build);
}

const partCache = new WeakMap<object, Map<string, unknown>>();

/** Memoize a piece of a route configuration per push; `key` must name every input `build` reads besides ctx. */
export function memoPart<T>(ctx: RouteContext, key: string, build: () => T): T {
  return memoIn(partCache, ctx, key, build);
}

/** Compute `build` once per (ctx, key) in `cache` (one map of results per push context). */
export function memoIn<T>(cache: WeakMap<object, Map<string, unknown>>, ctx: object, key: string, build: () => T): T {
  let m = cache.get(ctx);
  if (!m) { m = new Map(); cache.set(ctx, m); }
  if (m.has(key)) return m.get(key) as T;
  const v = build();
  m.set(key, v);
  return v;
}
