// xds/translate: the top-level generator — (PushContext, Proxy) -> every Envoy resource the proxy needs.
// Pure. Per-type functions let the server build only what a proxy subscribed to; work that does not depend
// on the individual proxy is memoized per push (see clusters/context.ts), so 200 proxies cost little more
// than the distinct scopes among them.
import type { Proxy } from '../../model/types.ts';
import type { PushContext } from '../../model/push-context.ts';
import type { EnvoyResource, GeneratedConfig } from './types.ts';
import type { TranslateContext } from './clusters/context.ts';
import {
  outboundClusters, inboundStaticCluster, inboundPassthroughCluster, isHttp2, isGrpcProxy,
} from './clusters/index.ts';
import { inboundPorts } from './clusters/inbound.ts';
import { buildLoadAssignments, scopeLoadAssignments } from './endpoints/index.ts';
import { buildListeners, referencedRouteNames, localMode } from './listeners/index.ts';
import { buildRouteConfiguration } from './routes/index.ts';
import { applyTracing, applyAccessLogging, collectorClusters } from './telemetry/index.ts';

/** Anything shaped like PushContext (tests may hand-build one). */
export type Ctx = PushContext | TranslateContext;

function byName(resources: EnvoyResource[], names: readonly string[] | undefined, key = 'name'): EnvoyResource[] {
  if (!names?.length) return resources;
  const want = new Set(names);
  return resources.filter((r) => want.has(String(r[key])));
}

/** LDS. `names` narrows the result (proxyless gRPC clients ask for "host:port" names, expanded as Istio does). */
export function generateListeners(ctx: Ctx, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  // tracing and access logging (Telemetry / MeshConfig providers) are per proxy, applied after the per-scope listener memo
  const c = ctx as TranslateContext;
  return applyAccessLogging(c, proxy, applyTracing(c, proxy, buildListeners(c, proxy, names)));
}

/** CDS: outbound clusters for visible services and subsets, fixed clusters, and the workload's inbound clusters. */
export function generateClusters(ctx: Ctx, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  const base = scopedClusters(ctx, proxy);
  return byName([...base, ...collectorClusters(ctx as TranslateContext, proxy, base)], names);
}

function scopedClusters(ctx: Ctx, proxy: Proxy): EnvoyResource[] {
  const c = ctx as TranslateContext;
  const out = [...outboundClusters(c, proxy)];
  if (proxy.type === 'sidecar' && !isGrpcProxy(proxy)) {
    for (const p of inboundPorts(c, proxy)) out.push(inboundStaticCluster(c, p.endpointPort, p.appPort, isHttp2(p.protocol)));
    if (!localMode(proxy)) out.push(inboundPassthroughCluster(c));
  }
  return out;
}

/** Names of the EDS clusters among `clusters` (each needs a ClusterLoadAssignment). */
function edsClusterNames(clusters: readonly EnvoyResource[]): string[] {
  return clusters.filter((c) => c.type === 'EDS').map((c) => {
    const eds = c.eds_cluster_config as { service_name?: string } | undefined;
    return eds?.service_name || String(c.name);
  });
}

/** EDS: one ClusterLoadAssignment per requested name, or per EDS cluster the proxy gets when none are given. */
export function generateEndpoints(ctx: Ctx, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  const c = ctx as TranslateContext;
  const list = names?.length ? names : edsClusterNames(generateClusters(c, proxy));
  return buildLoadAssignments(c, proxy, list);
}

/** RDS: the named route configurations, or every one the proxy's listeners refer to when none are given. */
export function generateRoutes(ctx: Ctx, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  const c = ctx as TranslateContext;
  const list = names?.length ? names : referencedRouteNames(generateListeners(c, proxy));
  const out: EnvoyResource[] = [];
  for (const n of list) {
    const rc = buildRouteConfiguration(c, proxy, n);
    if (rc) out.push(rc);
  }
  return out;
}

/** Everything for one proxy; consistent: every EDS cluster has a CLA, every RDS name a route configuration. */
export function generate(ctx: Ctx, proxy: Proxy): GeneratedConfig {
  const c = ctx as TranslateContext;
  const listeners = generateListeners(c, proxy);
  const base = scopedClusters(c, proxy);
  // the tracing collector (outside the scope memo: it depends on the proxy's Telemetry, not only its scope)
  const extra = collectorClusters(c, proxy, base);
  const clusters = [...base, ...extra];
  const routes = generateRoutes(c, proxy, referencedRouteNames(listeners));
  // EDS clusters are all outbound, so the scope-wide memo applies (inbound clusters are STATIC)
  const scoped = scopeLoadAssignments(c, proxy, edsClusterNames(base));
  // the scoped list is a shared memo: never push into it
  const endpoints = extra.length ? [...scoped, ...buildLoadAssignments(c, proxy, edsClusterNames(extra))] : scoped;
  return { listeners, routes, clusters, endpoints, secrets: [] };
}

/** go-control-plane's Consistent(): names a config refers to but does not carry (empty = consistent). */
export function missingReferences(cfg: GeneratedConfig): { routes: string[]; endpoints: string[] } {
  const routeNames = new Set(cfg.routes.map((r) => String(r.name)));
  const claNames = new Set(cfg.endpoints.map((e) => String(e.cluster_name)));
  return {
    routes: referencedRouteNames(cfg.listeners).filter((n) => !routeNames.has(n)),
    endpoints: edsClusterNames(cfg.clusters).filter((n) => !claNames.has(n)),
  };
}
