// xds/translate/listeners: LDS for a proxy — picks the shape by proxy kind: proxyless gRPC api_listeners,
// gateway listeners, local-mode listeners (explicit ports) or Istio's captured sidecar listeners.
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { grpcListeners } from './grpc.ts';
import { gatewayListeners } from './gateway.ts';
import { localListeners } from './local.ts';
import { localMode } from './local-mode.ts';
import { sidecarListeners } from './sidecar.ts';
import { HCM_FILTER } from './hcm.ts';

export { localMode } from './local-mode.ts';
export { grpcRouteName } from './grpc.ts';
export { gatewayHttpRouteName, gatewayHttpsRouteName } from './gateway.ts';

export function buildListeners(ctx: TranslateContext, proxy: Proxy, names?: readonly string[]): EnvoyResource[] {
  if (proxy.generator === 'grpc') return grpcListeners(ctx, proxy, names);
  let out: EnvoyResource[];
  if (proxy.type === 'router') out = gatewayListeners(ctx, proxy);
  else {
    const lm = localMode(proxy);
    out = lm ? localListeners(ctx, proxy, lm) : sidecarListeners(ctx, proxy);
  }
  // a repeated name would get the whole response rejected (e.g. a RIG_TCP_PORTS port equal to an inbound
  // listener on 127.0.0.1): the first one wins
  const seen = new Set<string>();
  out = out.filter((l) => !seen.has(String(l.name)) && (seen.add(String(l.name)), true));
  if (names?.length) {
    const want = new Set(names);
    out = out.filter((l) => want.has(String(l.name)));
  }
  return out;
}

function hcmOf(filter: EnvoyResource): EnvoyResource | undefined {
  const tc = filter.typed_config as EnvoyResource | undefined;
  return filter.name === HCM_FILTER && tc ? tc : undefined;
}

/** Every RDS route config name the listeners refer to, in first-seen order. */
export function referencedRouteNames(listeners: readonly EnvoyResource[]): string[] {
  const out = new Set<string>();
  const visit = (hcm: EnvoyResource | undefined) => {
    const rds = hcm?.rds as { route_config_name?: string } | undefined;
    if (rds?.route_config_name !== undefined) out.add(rds.route_config_name);
  };
  for (const l of listeners) {
    const api = l.api_listener as { api_listener?: EnvoyResource } | undefined;
    if (api?.api_listener) visit(api.api_listener);
    for (const fc of (l.filter_chains as EnvoyResource[] | undefined) ?? []) {
      for (const f of (fc.filters as EnvoyResource[] | undefined) ?? []) visit(hcmOf(f));
    }
    const dfc = l.default_filter_chain as EnvoyResource | undefined;
    for (const f of (dfc?.filters as EnvoyResource[] | undefined) ?? []) visit(hcmOf(f));
  }
  return [...out];
}
