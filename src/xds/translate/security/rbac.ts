// xds/translate/security: the AuthorizationPolicies applying to a proxy -> Envoy RBAC filters (HTTP and network),
// one per action in Istio's order AUDIT (Envoy RBAC action LOG), DENY, ALLOW — so a denied request is still
// audited. Rules are named Istio's way, "ns[<ns>]-policy[<name>]-rule[<i>]". Dry-run policies (annotation
// istio.io/dry-run: "true") go to shadow_rules only. CUSTOM with a usable HTTP provider is ext-authz.ts; Istio, for a
// provider it cannot use (and on TCP chains, where an HTTP provider cannot check), emits one DENY RBAC filter per provider holding the CUSTOM rules (renamed
// "istio-ext-authz-<provider>-ns[..]-policy[..]-rule[i]-deny-due-to-bad-CUSTOM-action"), placed before every other
// auth filter: the requests those rules select are refused (a rule-less CUSTOM policy selects nothing).
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { actionOf, isDryRun, type AuthzPolicy } from './select.ts';
import { translateRule } from './rule.ts';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
const TCP_RBAC_STAT_PREFIX = 'tcp.';

type Group = 'DENY' | 'ALLOW' | 'AUDIT';
/** Istio's filter order for the non-CUSTOM actions. */
const ORDER: readonly Group[] = ['AUDIT', 'DENY', 'ALLOW'];
const ENVOY_ACTION: Record<Group, string> = { DENY: 'DENY', ALLOW: 'ALLOW', AUDIT: 'LOG' };
const DRY_RUN_PREFIX: Record<Group, string> = { DENY: 'istio_dry_run_deny_', ALLOW: 'istio_dry_run_allow_', AUDIT: 'istio_dry_run_audit_' };

export function rbacPolicyName(p: AuthzPolicy, index: number): string {
  return `ns[${p.metadata.namespace}]-policy[${p.metadata.name}]-rule[${index}]`;
}

interface Collected { enforced: boolean; shadow: boolean; rules: Record<string, EnvoyResource>; shadowRules: Record<string, EnvoyResource> }

/** Group the policies by action and translate each rule; `tcp` applies Istio's HTTP-only attribute handling. */
function collect(policies: readonly AuthzPolicy[], tcp: boolean): Map<Group, Collected> {
  const out = new Map<Group, Collected>();
  for (const p of policies) {
    const action = actionOf(p);
    if (action === 'CUSTOM') continue;
    const group: Group = action;
    let c = out.get(group);
    if (!c) { c = { enforced: false, shadow: false, rules: {}, shadowRules: {} }; out.set(group, c); }
    const dry = isDryRun(p);
    if (dry) c.shadow = true; else c.enforced = true;
    const rules = Array.isArray(p.spec.rules) ? p.spec.rules : [];
    rules.forEach((rule, i) => {
      // on TCP an ALLOW/AUDIT rule needing HTTP attributes matches nothing; a DENY one ignores them (denies more)
      const r = translateRule(rule, { namespace: p.metadata.namespace, tcp, onHttpOnly: group === 'DENY' ? 'drop-field' : 'drop-rule' });
      if (r.policy) (dry ? c.shadowRules : c.rules)[rbacPolicyName(p, i)] = r.policy;
    });
  }
  return out;
}

/**
 * The typed_config bodies in filter order. An ALLOW filter is emitted whenever an enforced ALLOW policy applies,
 * even with no rules (empty policies = deny everything, Istio's allow-nothing); DENY and AUDIT only with rules.
 */
function rbacConfigs(policies: readonly AuthzPolicy[], tcp: boolean): { group: Group; config: EnvoyResource }[] {
  const groups = collect(policies, tcp);
  const out: { group: Group; config: EnvoyResource }[] = [];
  for (const group of ORDER) {
    const c = groups.get(group);
    if (!c) continue;
    const body: EnvoyResource = {};
    const hasRules = Object.keys(c.rules).length > 0;
    if (c.enforced && (group === 'ALLOW' || hasRules)) body.rules = { action: ENVOY_ACTION[group], policies: c.rules };
    if (c.shadow && (group === 'ALLOW' || Object.keys(c.shadowRules).length > 0)) {
      body.shadow_rules = { action: ENVOY_ACTION[group], policies: c.shadowRules };
      body.shadow_rules_stat_prefix = DRY_RUN_PREFIX[group];
    }
    if (body.rules || body.shadow_rules) out.push({ group, config: body });
  }
  return out;
}

const BAD_CUSTOM_SUFFIX = '-deny-due-to-bad-CUSTOM-action';

/** The CUSTOM provider's name as written (Istio keys the deny rules by it). */
function providerOf(p: AuthzPolicy): string {
  const n = (p.spec as { provider?: { name?: unknown } }).provider?.name;
  return typeof n === 'string' ? n : '';
}

/**
 * CUSTOM policies, one DENY config per provider (sorted by name). Only enforced policies count (Istio drops dry-run
 * ones when the provider is unusable); a provider left with no rules gets no filter (it would deny nothing).
 */
function customConfigs(policies: readonly AuthzPolicy[], tcp: boolean, only?: ReadonlySet<string>): EnvoyResource[] {
  const byProvider = new Map<string, Record<string, EnvoyResource>>();
  for (const p of policies) {
    if (actionOf(p) !== 'CUSTOM' || isDryRun(p)) continue;
    const provider = providerOf(p);
    if (only && !only.has(provider)) continue;
    let rules = byProvider.get(provider);
    if (!rules) byProvider.set(provider, rules = {});
    const list = Array.isArray(p.spec.rules) ? p.spec.rules : [];
    list.forEach((rule, i) => {
      const r = translateRule(rule, { namespace: p.metadata.namespace, tcp, onHttpOnly: 'drop-field' });
      const prefix = provider ? `istio-ext-authz-${provider}-` : 'istio-ext-authz-';
      if (r.policy) rules[`${prefix}${rbacPolicyName(p, i)}${BAD_CUSTOM_SUFFIX}`] = r.policy;
    });
  }
  return [...byProvider.keys()].sort().flatMap((k) => {
    const policies = byProvider.get(k)!;
    return Object.keys(policies).length ? [{ rules: { action: 'DENY', policies } }] : [];
  });
}

/**
 * The CUSTOM deny filters: Istio puts them first in the HCM, before jwt_authn. `only`: the providers that cannot be
 * used (the usable one becomes ext_authz, ext-authz.ts); absent: every provider is denied.
 */
export function httpCustomRbacFilters(policies: readonly AuthzPolicy[], only?: ReadonlySet<string>): EnvoyResource[] {
  return customConfigs(policies, false, only).map((config) => ({ name: HTTP_RBAC_FILTER, typed_config: { '@type': TypeUrl.HttpRbac, ...config } }));
}

export function httpRbacFilters(policies: readonly AuthzPolicy[]): EnvoyResource[] {
  return rbacConfigs(policies, false).map(({ config }) => ({ name: HTTP_RBAC_FILTER, typed_config: { '@type': TypeUrl.HttpRbac, ...config } }));
}

/** Network RBAC filters: the CUSTOM deny filters first (Istio), then AUDIT, DENY, ALLOW. */
export function networkRbacFilters(policies: readonly AuthzPolicy[]): EnvoyResource[] {
  return [...customConfigs(policies, true), ...rbacConfigs(policies, true).map(({ config }) => config)].map((config) => ({
    name: NETWORK_RBAC_FILTER,
    typed_config: { '@type': TypeUrl.NetworkRbac, stat_prefix: TCP_RBAC_STAT_PREFIX, ...config },
  }));
}
