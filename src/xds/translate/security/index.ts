// xds/translate/security: what listener translation asks for — the authn/authz HTTP filters (Istio's order: the
// CUSTOM ext_authz (RBAC shadow + ext_authz) or deny RBAC, jwt_authn, then RBAC AUDIT, DENY, ALLOW) that go before the router in a workload's inbound (or a gateway's) HCM, and the network
// RBAC filters that go before tcp_proxy on its TCP chains. Memoized per push by what selection reads (namespace
// and labels), so proxies of one deployment share the work.
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import type { TranslateContext } from '../clusters/context.ts';
import { memo, labelsKey } from '../clusters/context.ts';
import { authorizationPoliciesFor, requestAuthenticationsFor } from './select.ts';
import { httpCustomRbacFilters, httpRbacFilters, networkRbacFilters } from './rbac.ts';
import { jwtAuthnFilter } from './jwt.ts';
import { planCustom } from './ext-authz.ts';

export { HTTP_RBAC_FILTER, NETWORK_RBAC_FILTER, rbacPolicyName } from './rbac.ts';
export { authorizationPoliciesFor, requestAuthenticationsFor } from './select.ts';
export { securityIssues } from './issues.ts';
export { FAKE_JWKS } from './jwks.ts';
export { EXT_AUTHZ_FILTER, resolveExtAuthzProvider } from './ext-authz.ts';

type Who = Pick<Proxy, 'namespace' | 'labels'>;

/** HTTP filters to put before the existing ones (fault, cors, router) of an inbound or gateway HCM. */
export function securityHttpFilters(ctx: TranslateContext, proxy: Who): EnvoyResource[] {
  const s = ctx.snapshot;
  if (!s.authorizationPolicies.length && !s.requestAuthentications.length) return [];
  return memo(ctx, `sec-http|${proxy.namespace}|${labelsKey(proxy.labels)}`, () => {
    const policies = authorizationPoliciesFor(s, proxy);
    const custom = planCustom(policies, s.mesh, (h) => ctx.serviceByHost(h), s.domainSuffix);
    const out: EnvoyResource[] = [...custom.filters, ...httpCustomRbacFilters(policies, custom.bad)];
    const jwt = jwtAuthnFilter(s, requestAuthenticationsFor(s, proxy));
    if (jwt) out.push(jwt);
    out.push(...httpRbacFilters(policies));
    return out;
  });
}

/** Network filters to put before tcp_proxy on an inbound (or gateway) TCP filter chain. */
export function securityNetworkFilters(ctx: TranslateContext, proxy: Who): EnvoyResource[] {
  const s = ctx.snapshot;
  if (!s.authorizationPolicies.length) return [];
  return memo(ctx, `sec-tcp|${proxy.namespace}|${labelsKey(proxy.labels)}`, () => networkRbacFilters(authorizationPoliciesFor(s, proxy)));
}
