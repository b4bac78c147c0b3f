// xds/translate/telemetry: applies the Telemetry accessLogging plan to a proxy's generated listeners — every HTTP
// connection manager and tcp_proxy gets its side's access_log (INBOUND listeners = SERVER, the rest = CLIENT, so
// gateways are CLIENT). Runs after listener generation, like tracing; without a plan hcm.ts's MeshConfig log stays.
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { memo, labelsKey } from '../clusters/context.ts';
import { isGrpcProxy } from '../clusters/index.ts';
import { HCM_FILTER, TCP_PROXY_FILTER } from '../listeners/hcm.ts';
import { accessLogEntries, accessLogPlan, type AccessLogPlan } from './accesslog.ts';
import { isObj } from './providers.ts';
import { mapFilters, rewriteListeners, type RewriteCache } from './rewrite.ts';

/** The proxy's access log plan (memoized per push, namespace and labels: the only proxy inputs scoping reads). */
export function proxyAccessLogPlan(ctx: TranslateContext, proxy: Proxy): AccessLogPlan | undefined {
  return memo(ctx, `accesslog-plan|${proxy.namespace}|${labelsKey(proxy.labels)}`, () => accessLogPlan(ctx.snapshot, proxy));
}

interface Want { client: EnvoyResource[]; server: EnvoyResource[] }

function withLog(f: EnvoyResource, logs: EnvoyResource[]): EnvoyResource {
  const tc = f.typed_config;
  if ((f.name !== HCM_FILTER && f.name !== TCP_PROXY_FILTER) || !isObj(tc)) return f;
  if (!logs.length && tc.access_log === undefined) return f;
  const next: Record<string, unknown> = { ...tc };
  if (logs.length) next.access_log = logs; else delete next.access_log;
  return { ...f, typed_config: next };
}

function logListener(l: EnvoyResource, want: Want): EnvoyResource {
  const logs = l.traffic_direction === 'INBOUND' ? want.server : want.client;
  return mapFilters(l, (f) => withLog(f, logs));
}

/** Each plan's access_log entries and their cache key; dies with the push's plans. */
const wants = new WeakMap<AccessLogPlan, { want: Want; key: string }>();

/** Logged copies of listeners by plan; dies with the push's listener objects. */
const logged: RewriteCache = new WeakMap();

/** The proxy's listeners with Telemetry access logging applied; unchanged when no Telemetry/default provider applies. */
export function applyAccessLogging(ctx: TranslateContext, proxy: Proxy, listeners: EnvoyResource[]): EnvoyResource[] {
  if (isGrpcProxy(proxy)) return listeners; // proxyless gRPC has no access log
  const plan = proxyAccessLogPlan(ctx, proxy);
  if (!plan) return listeners;
  // the plan is shared by every proxy of a scope (memo): build its entries and their key once per plan
  let w = wants.get(plan);
  if (!w) {
    const want: Want = { client: accessLogEntries(plan.client), server: accessLogEntries(plan.server) };
    wants.set(plan, w = { want, key: JSON.stringify(want) });
  }
  const { want, key } = w;
  return rewriteListeners(logged, listeners, key, (l) => logListener(l, want));
}
