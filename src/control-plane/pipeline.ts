// control-plane (composition): the default pipeline — config objects -> immutable snapshot -> PushContext
// -> a per-proxy generator closure for the xDS server. No logic of its own: it only wires stages.
import type { ConfigObject, ConfigStore, ValidationIssue } from '../config/types.ts';
import type { Clock } from '../common/clock.ts';
import { buildSnapshot } from '../model/snapshot.ts';
import { PushContext } from '../model/push-context.ts';
import { generate, generateListeners, generateRoutes } from '../xds/translate/generate.ts';
import { referencedRouteNames } from '../xds/translate/listeners/index.ts';
import { telemetryIssues } from '../xds/translate/telemetry/index.ts';
import type { ProxyGenerator } from '../xds/server/server.ts';
import type { JwksResult, PushSnapshot } from '../model/types.ts';

/** Inputs resolved outside translation (network fetches), handed to the snapshot. */
export interface PipelineExtras {
  /** JWKS fetched for RequestAuthentication jwksUri values (xds/translate/security/jwks-resolver.ts). */
  jwks?: ReadonlyMap<string, JwksResult>;
}

/** A built push: the per-proxy generator, and (optionally) what translation could not do as configured. */
export type BuiltGenerator = ProxyGenerator & {
  /** Telemetry translation issues (unusable tracing providers, untranslated access-log filters), naming the object
   * and field; computed on first call. */
  issues?: () => ValidationIssue[];
  /** The snapshot this push was built from, for local readers of the same config (`rig up`'s service ports). */
  snapshot?: PushSnapshot;
};

export interface Pipeline {
  /** Build everything one push needs from the objects in force; the closure is called per proxy. */
  build(objects: ConfigObject[], version: string, extras?: PipelineExtras): BuiltGenerator;
}

export const defaultPipeline: Pipeline = {
  build(objects, version, extras) {
    const ctx = new PushContext(buildSnapshot(objects, version, { jwks: extras?.jwks }));
    const gen: ProxyGenerator = (proxy, watched) => {
      const all = generate(ctx, proxy);
      if (proxy.generator !== 'grpc' || !watched.listeners.length) return all;
      // Proxyless gRPC clients ask for listeners by name — "host:port", short names, xDS server
      // listeners — which only exist once asked for: add them and the route configs they use.
      const have = new Set(all.listeners.map((l) => String(l.name)));
      const wanted = watched.listeners.filter((n) => !have.has(n));
      if (!wanted.length) return all; // (no names would mean all listeners)
      const extra = generateListeners(ctx, proxy, wanted);
      if (!extra.length) return all;
      const routeNames = new Set(all.routes.map((r) => String(r.name)));
      const missing = referencedRouteNames(extra).filter((n) => !routeNames.has(n));
      const routes = missing.length ? generateRoutes(ctx, proxy, missing) : []; // no names would mean all
      return { ...all, listeners: [...all.listeners, ...extra], routes: [...all.routes, ...routes] };
    };
    let issues: ValidationIssue[] | undefined;
    return Object.assign(gen, { snapshot: ctx.snapshot, issues: () => (issues ??= telemetryIssues(ctx.snapshot, (h) => ctx.serviceByHost(h))) });
  },
};

export async function openFileStore(dir: string, opts: { clock?: Clock; debounceMs?: number }): Promise<ConfigStore> {
  // Loaded on demand: a control plane fed by another store never needs the file watcher.
  const { FileStore } = await import('../config/store/file.ts');
  return FileStore.open(dir, opts);
}
