// xds/translate: which outbound clusters a service port yields (the default one plus one per DestinationRule
// subset) and the merged traffic policy of each. Shared by the cluster and endpoint builders so CDS and EDS
// always agree on names, subset labels and locality settings.
import type { ConfigObject } from '../../../config/types.ts';
import type { DestinationRuleSpec, LocalityLoadBalancerSetting } from '../../../config/types/networking.ts';
import type { Proxy, Service, ServicePort } from '../../../model/types.ts';
import { clusterScopeKey, memo, list, record, type TranslateContext } from './context.ts';
import { outboundCluster } from './names.ts';
import { effectivePolicy, localitySetting, type PortPolicy } from './policy.ts';

export interface ClusterPlan {
  name: string;
  service: Service;
  port: ServicePort;
  subset?: string;
  /** Labels endpoints must carry (subset); undefined = every endpoint of the port. */
  labels?: Record<string, string>;
  policy?: PortPolicy;
  locality?: LocalityLoadBalancerSetting;
  dr?: ConfigObject<DestinationRuleSpec>;
}

/** Subset labels as a string map (anything else would match nothing or everything by accident). */
function stringLabels(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' ? x : String(x);
  }
  return out;
}

export function planServicePort(svc: Service, port: ServicePort, dr: ConfigObject<DestinationRuleSpec> | undefined): ClusterPlan[] {
  const top = record(dr?.spec?.trafficPolicy);
  const policy = effectivePolicy(top, undefined, port.port);
  const out: ClusterPlan[] = [{
    name: outboundCluster(svc.hostname, port.port), service: svc, port, policy,
    locality: localitySetting(policy?.loadBalancer, policy?.outlierDetection), dr,
  }];
  for (const ss of list(dr?.spec?.subsets)) {
    // a subset name becomes part of a cluster name: only plain names are usable
    if (typeof ss?.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(ss.name)) continue;
    const p = effectivePolicy(top, ss.trafficPolicy, port.port);
    out.push({
      name: outboundCluster(svc.hostname, port.port, ss.name), service: svc, port, subset: ss.name,
      labels: stringLabels(ss.labels), policy: p, locality: localitySetting(p?.loadBalancer, p?.outlierDetection), dr,
    });
  }
  return out;
}

/** A usable port number (the registry should only hand out these; translation does not trust it to). */
export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 65535;
}

/** Ports that get outbound clusters (UDP is not proxied). */
export function proxiedPorts(svc: Service): ServicePort[] {
  return (svc.ports ?? []).filter((p) => p && p.protocol !== 'UDP' && isPortNumber(p.port));
}

/** The plan behind one outbound cluster name, as seen by `proxy` (undefined if the proxy would not have it). */
export function planByName(ctx: TranslateContext, proxy: Proxy, host: string, portNum: number, subset: string): ClusterPlan | undefined {
  const svc = ctx.serviceByHost(host);
  if (!svc) return undefined;
  const port = svc.ports.find((p) => p.port === portNum);
  if (!port) return undefined;
  const plans = planServicePort(svc, port, ctx.destinationRuleFor(proxy, host));
  return plans.find((p) => (p.subset ?? '') === subset);
}

/** Every outbound cluster plan a proxy's scope has, by cluster name (computed once per scope and push). */
export function scopePlans(ctx: TranslateContext, proxy: Proxy): Map<string, ClusterPlan> {
  return memo(ctx, `plans|${clusterScopeKey(ctx, proxy)}`, () => {
    const out = new Map<string, ClusterPlan>();
    for (const svc of ctx.servicesFor(proxy)) {
      const dr = ctx.destinationRuleFor(proxy, svc.hostname);
      for (const port of proxiedPorts(svc)) for (const p of planServicePort(svc, port, dr)) out.set(p.name, p);
    }
    return out;
  });
}
