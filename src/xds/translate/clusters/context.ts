// xds/translate: the slice of PushContext that listener/cluster/endpoint translation reads, declared
// structurally so pieces can be unit-tested with hand-built contexts; src/model/push-context.ts satisfies it.
// Also the per-context memo: outputs that do not depend on the individual proxy are computed once per push.
import type { ConfigObject } from '../../../config/types.ts';
import type { SidecarSpec } from '../../../config/types/networking.ts';
import type { Proxy, Service, ServicePort, Endpoint } from '../../../model/types.ts';
import type { RouteContext } from '../routes/context.ts';
import { memoIn } from '../routes/memo.ts';

export interface TranslateContext extends RouteContext {
  sidecarFor(proxy: Proxy): ConfigObject<SidecarSpec> | undefined;
  endpoints(hostname: string, port: number, subsetLabels?: Record<string, string>): Endpoint[];
  inboundServicesFor(proxy: Proxy): { service: Service; port: ServicePort; targetPort: number }[];
}

const memos = new WeakMap<object, Map<string, unknown>>();

/** Compute `fn` once per (ctx, key). The key must cover every input `fn` reads besides ctx. */
export function memo<T>(ctx: object, key: string, fn: () => T): T {
  return memoIn(memos, ctx, key, fn);
}

/** A workload's labels as one stable string (sorted k=v), for per-push memo keys. */
export function labelsKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

/** True when some DestinationRule selects workloads, so DR lookup depends on the proxy's labels. */
function drDependsOnLabels(ctx: TranslateContext): boolean {
  return memo(ctx, 'dr-selectors', () => ctx.snapshot.destinationRules.some((d) => d.spec?.workloadSelector?.matchLabels));
}

function sidecarKey(ctx: TranslateContext, proxy: Proxy): string {
  const sc = ctx.sidecarFor(proxy);
  return sc ? `${sc.metadata.namespace}/${sc.metadata.name}` : '-';
}

/**
 * What outbound clusters depend on: proxy kind and generator, namespace (exportTo, DR lookup), the Sidecar
 * in force (egress scoping, outbound policy), gateways (router) and labels when DRs select workloads.
 */
export function clusterScopeKey(ctx: TranslateContext, proxy: Proxy): string {
  const labels = drDependsOnLabels(ctx) ? labelsKey(proxy.labels) : '';
  return `${proxy.type}|${proxy.generator ?? ''}|${proxy.namespace}|${sidecarKey(ctx, proxy)}|${labels}`;
}

/** Outbound listeners may additionally depend on labels (L4 sourceLabels matches) and, for routers, the gateways. */
export function listenerScopeKey(ctx: TranslateContext, proxy: Proxy, withLabels = true): string {
  const gws = proxy.type === 'router' ? ctx.gatewaysFor(proxy).map((g) => `${g.metadata.namespace}/${g.metadata.name}`).join(',') : '';
  const labels = withLabels || drDependsOnLabels(ctx) ? labelsKey(proxy.labels) : '';
  return `${proxy.type}|${proxy.generator ?? ''}|${proxy.namespace}|${sidecarKey(ctx, proxy)}|${labels}|${gws}`;
}

/**
 * An array field of user config, or [] when absent or (in a store that kept a badly typed object) not an
 * array: translation must never throw on input, whatever validation let through.
 */
export function list<T>(v: readonly T[] | undefined | null): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** A plain-object field of user config, or undefined. */
export function record<T extends object>(v: T | undefined | null): T | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}
