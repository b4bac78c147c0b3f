// xds/translate: which outbound clusters a service port yields (the default one plus one per DestinationRule
// subset) and the merged traffic policy of each. Shared by the cluster and endpoint builders so CDS and EDS
// always agree on names, subset labels and locality settings.
import type { ConfigObject } from '../../../config/types.ts';
import type { DestinationRuleSpec, LocalityLoadBalancerSetting } from '../../../config/types/networking.ts';
import type { Proxy, Service, ServicePort } from '../../../model/types.ts';
import { clusterScopeKey, memo, type TranslateContext } from './context.ts';
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

export function planServicePort(svc: Service, port: ServicePort, dr: ConfigObject<DestinationRuleSpec> | undefined): ClusterPlan[] {
  const top = dr?.spec?.trafficPolicy;
  const policy = effectivePolicy(top, undefined, port.port);
  const out: ClusterPlan[] = [{
    name: outboundCluster(svc.hostname, port.port), service: svc, port, policy,
    locality: localitySetting(policy?.loadBalancer, policy?.outlierDetection), dr,
  }];
  for (const ss of dr?.spec?.subsets ?? []) {
    if (!ss?.name) continue;
    const p = effectivePolicy(top, ss.trafficPolicy, port.port);
    out.push({
      name: outboundCluster(svc.hostname, port.port, ss.name), service: svc, port, subset: ss.name,
      labels: ss.labels ?? {}, policy: p, locality: localitySetting(p?.loadBalancer, p?.outlierDetection), dr,
    });
  }
  return out;
}

/** Ports that get outbound clusters (UDP is not proxied). */
export function proxiedPorts(svc: Service): ServicePort[] {
  return svc.ports.filter((p) => p.protocol !== 'UDP');
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
