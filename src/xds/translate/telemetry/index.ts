// xds/translate/telemetry: applies tracing (Telemetry API / MeshConfig providers) to a proxy's generated config —
// each HTTP connection manager gets the tracing block of its side (inbound = SERVER, outbound/gateway = CLIENT),
// and the collector's outbound cluster is added to CDS even when a Sidecar scope hides the service.
// Runs after listener generation (which memoizes per scope) so per-proxy Telemetry never leaks into shared objects.
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { memo, labelsKey } from '../clusters/context.ts';
import { serviceClusters, isGrpcProxy } from '../clusters/index.ts';
import { HCM_FILTER } from '../listeners/hcm.ts';
import { isObj, legacyProvider } from './providers.ts';
import { mapFilters, rewriteListeners, type RewriteCache } from './rewrite.ts';
import { hcmTracing, legacyHcmTracing, tracingPlan, type TracingPlan } from './tracing.ts';

export { tracingPlan, applicableTelemetries, hcmTracing } from './tracing.ts';
export type { TracingPlan, TracingSpec } from './tracing.ts';
export type { ZipkinProvider } from './providers.ts';
export { telemetryIssues } from './issues.ts';
export { applyAccessLogging, proxyAccessLogPlan } from './accesslog-apply.ts';
export { accessLogPlan, accessLogIssues, resolveLogProvider } from './accesslog.ts';
export type { AccessLogPlan, LogSpec, FileLogProvider } from './accesslog.ts';
export { celToAccessLogFilter } from './accesslog-cel.ts';

/** The proxy's tracing plan (memoized per push, namespace and labels: the only proxy inputs scoping reads). */
function proxyTracingPlan(ctx: TranslateContext, proxy: Proxy): TracingPlan | undefined {
  return memo(ctx, `tracing-plan|${proxy.namespace}|${labelsKey(proxy.labels)}`, () => tracingPlan(ctx.snapshot, proxy, (h) => ctx.serviceByHost(h)));
}

type Side = 'client' | 'server';
/** What each side's HCMs get: a tracing block, none (undefined), or whatever hcm.ts emitted ('unchanged'). */
type Want = Record<Side, EnvoyResource | undefined | 'unchanged'>;

function wanted(ctx: TranslateContext, proxy: Proxy): Want {
  const plan = proxyTracingPlan(ctx, proxy);
  const mesh = ctx.snapshot.mesh;
  if (!plan) {
    const legacy = legacyHcmTracing(mesh, proxy, (h) => ctx.serviceByHost(h), ctx.snapshot.domainSuffix ?? 'cluster.local');
    return { client: legacy, server: legacy };
  }
  return { client: hcmTracing(plan.client, mesh, proxy), server: hcmTracing(plan.server, mesh, proxy) };
}

/** Returns the HCM filter with `tracing` set as wanted, or the same object when nothing changes. */
function withTracing(f: EnvoyResource, want: Want): EnvoyResource {
  const tc = f.typed_config;
  if (f.name !== HCM_FILTER || !isObj(tc)) return f;
  const side: Side = String(tc.stat_prefix ?? '').startsWith('inbound_') ? 'server' : 'client';
  const w = want[side];
  if (w === 'unchanged') return f;
  if (w === undefined && tc.tracing === undefined) return f;
  const next: Record<string, unknown> = { ...tc };
  if (w === undefined) delete next.tracing; else next.tracing = w;
  return { ...f, typed_config: next };
}

/** The proxy's listeners with tracing applied; untouched listeners are returned as they are (shared memo objects). */
export function applyTracing(ctx: TranslateContext, proxy: Proxy, listeners: EnvoyResource[]): EnvoyResource[] {
  // proxyless gRPC (grpc-js-xds) does not trace; api_listeners are skipped for the same reason
  if (isGrpcProxy(proxy)) return listeners;
  const want = wanted(ctx, proxy);
  if (want.client === 'unchanged' && want.server === 'unchanged') return listeners;
  // proxies of one scope share listener objects (memo) and, mostly, their tracing: share the traced copies too
  return rewriteListeners(traced, listeners, JSON.stringify(want), (l) => mapFilters(l, (f) => withTracing(f, want)));
}

/** Traced copies of generated listeners by tracing wanted; dies with the push's listener objects. */
const traced: RewriteCache = new WeakMap();

/** Collector clusters (outbound|port||host) the proxy's tracing reports to. */
function collectorClusterNames(ctx: TranslateContext, proxy: Proxy): string[] {
  if (isGrpcProxy(proxy)) return [];
  const plan = proxyTracingPlan(ctx, proxy);
  const out = new Set<string>();
  if (plan) {
    for (const s of [plan.client, plan.server]) if (s.provider && !s.disableSpanReporting) out.add(s.provider.cluster);
  } else {
    const p = legacyProvider(ctx.snapshot.mesh, (h) => ctx.serviceByHost(h), ctx.snapshot.domainSuffix ?? 'cluster.local');
    if (p) out.add(p.cluster);
  }
  return [...out];
}

/**
 * Clusters for the collectors that `have` lacks: the collector must be reachable even when a Sidecar's egress
 * hosts hide its service (Istio adds it the same way). Only the collector's port is added.
 */
export function collectorClusters(ctx: TranslateContext, proxy: Proxy, have: readonly EnvoyResource[]): EnvoyResource[] {
  const names = collectorClusterNames(ctx, proxy);
  if (!names.length) return [];
  const present = new Set(have.map((c) => String(c.name)));
  const out: EnvoyResource[] = [];
  for (const n of names) {
    if (present.has(n)) continue;
    const host = n.slice(n.lastIndexOf('|') + 1);
    const svc = ctx.serviceByHost(host);
    if (!svc) continue;
    const c = serviceClusters(ctx, proxy, svc).find((x) => x.name === n);
    if (c) { out.push(c); present.add(n); }
  }
  return out;
}
