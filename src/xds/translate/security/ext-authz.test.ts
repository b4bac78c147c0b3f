// xds/translate/security: CUSTOM + extensionProviders — provider resolution (every unusable case names why) and the
// filters planned for a workload: RBAC shadow DENY + ext_authz for one usable HTTP provider, deny for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicySpec } from '../../../config/types/security.ts';
import type { ConfigObject } from '../../../config/types.ts';
import type { MeshConfig, Service } from '../../../model/types.ts';
import { normalize, TypeUrl } from '../../../envoy/protos.ts';
import { planCustom, resolveExtAuthzProvider, customProblems } from './ext-authz.ts';
import { httpCustomRbacFilters } from './rbac.ts';

const svc = { hostname: 'authz.foo.svc.cluster.local' } as Service;
const lookup = (h: string) => (h === svc.hostname ? svc : undefined);
const mesh = (providers: unknown[]) => ({ extensionProviders: providers }) as MeshConfig;
const http = (o: Record<string, unknown> = {}) => ({ name: 'ext', envoyExtAuthzHttp: { service: 'authz.foo.svc.cluster.local', port: 8000, ...o } });

let n = 0;
function ap(provider: string, rules: AuthorizationPolicySpec['rules'], annotations?: Record<string, string>): ConfigObject<AuthorizationPolicySpec> {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `p${n++}`, namespace: 'ns', annotations }, spec: { action: 'CUSTOM', provider: { name: provider }, rules } as AuthorizationPolicySpec };
}

test('provider resolution: defaults, short service names, and why a provider is unusable', () => {
  const ok = resolveExtAuthzProvider(mesh([http()]), 'ext', lookup);
  assert.equal(ok.provider?.cluster, 'outbound|8000||authz.foo.svc.cluster.local');
  assert.equal(ok.provider?.timeoutNs, 600e9, "Istio's 600s default");
  assert.equal(ok.provider?.statusOnError, 403);
  assert.equal(resolveExtAuthzProvider(mesh([http({ service: 'authz.foo', port: '8000' })]), 'ext', lookup).provider?.host, svc.hostname);
  const why = (providers: unknown[]) => resolveExtAuthzProvider(mesh(providers), 'ext', lookup).problem ?? '';
  assert.match(why([]), /not defined/);
  assert.match(why([{ name: 'ext', zipkin: {} }]), /not an ext_authz provider/);
  assert.match(why([http({ service: 'nowhere.foo.svc.cluster.local' })]), /could not find service nowhere/);
  assert.match(why([http({ port: 0 })]), /port/);
  assert.match(why([http({ timeout: 'soon' })]), /invalid timeout/);
  assert.match(why([http({ statusOnError: '999' })]), /invalid statusOnError/);
  assert.equal(why([http({ headersToDownstreamOnAllow: ['x-a'] })]), '', 'headersToDownstreamOnAllow is applied');
  assert.match(why([http({ includeRequestBodyInCheck: { maxRequestBytes: 10 } })]), /includeRequestBodyInCheck is not supported/);
});

test('a usable HTTP provider: RBAC shadow DENY rules named istio-ext-authz-..., then ext_authz enabled by their metadata', () => {
  n = 0;
  const ps = [ap('ext', [{ to: [{ operation: { paths: ['/admin*'] } }] }]), ap('ext', [{}]), ap('ext', [{}], { 'istio.io/dry-run': 'true' })];
  const plan = planCustom(ps, mesh([http({ pathPrefix: '/check', failOpen: true, statusOnError: '503', includeRequestHeadersInCheck: ['x-a'], headersToUpstreamOnAllow: ['x-user'] })]), lookup);
  assert.equal(plan.bad.size, 0);
  assert.deepEqual(plan.filters.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz']);
  const rbac = plan.filters[0]!.typed_config as Record<string, any>;
  assert.equal(rbac.rules, undefined, 'nothing enforced: the shadow rules only select');
  assert.equal(rbac.shadow_rules.action, 'DENY');
  assert.equal(rbac.shadow_rules_stat_prefix, 'istio_ext_authz_');
  assert.deepEqual(Object.keys(rbac.shadow_rules.policies), ['istio-ext-authz-ns[ns]-policy[p0]-rule[0]', 'istio-ext-authz-ns[ns]-policy[p1]-rule[0]'], 'dry-run CUSTOM is left out');
  const ext = normalize(TypeUrl.ExtAuthz, plan.filters[1]!.typed_config as Record<string, unknown>) as Record<string, any>;
  assert.equal(ext.failure_mode_allow, true);
  assert.deepEqual(ext.status_on_error, { code: 'ServiceUnavailable' });
  assert.equal(ext.http_service.path_prefix, '/check');
  assert.deepEqual(ext.filter_enabled_metadata, { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz' } } });
  assert.deepEqual(ext.http_service.authorization_request.allowed_headers.patterns, [{ exact: 'x-a', ignore_case: true }]);
  assert.deepEqual(ext.http_service.authorization_response.allowed_upstream_headers.patterns, [{ exact: 'x-user', ignore_case: true }]);
  normalize(TypeUrl.HttpRbac, rbac);
  // no deny filter for the usable provider
  assert.deepEqual(httpCustomRbacFilters(ps, plan.bad), []);
});

test('an envoyExtAuthzGrpc provider: the same pair, ext_authz with an envoy_grpc service', () => {
  n = 0;
  const g = planCustom([ap('ext', [{}])], mesh([{ name: 'ext', envoyExtAuthzGrpc: { service: svc.hostname, port: 9000, timeout: '1s', failOpen: true } }]), lookup);
  assert.equal(g.bad.size, 0);
  const ext = normalize(TypeUrl.ExtAuthz, g.filters[1]!.typed_config as Record<string, unknown>) as Record<string, any>;
  assert.deepEqual(ext.grpc_service, { envoy_grpc: { cluster_name: 'outbound|9000||authz.foo.svc.cluster.local', authority: 'authz.foo.svc.cluster.local' }, timeout: { seconds: 1, nanos: 0 } });
  assert.equal(ext.http_service, undefined);
  assert.equal(ext.failure_mode_allow, true);
});

test('unusable or several providers: no ext_authz, every CUSTOM rule denies (and the issue names the cause)', () => {
  n = 0;
  const grpc = [ap('ext', [{}])];
  const g = planCustom(grpc, mesh([{ name: 'ext', envoyExtAuthzGrpc: { service: 'nowhere.foo.svc.cluster.local', port: 9000 } }]), lookup);
  assert.deepEqual(g.filters, []);
  assert.deepEqual([...g.bad], ['ext']);
  assert.equal(httpCustomRbacFilters(grpc, g.bad).length, 1);
  const two = [ap('ext', [{}]), ap('other', [{}])];
  const t = planCustom(two, mesh([http(), { ...http(), name: 'other' }]), lookup);
  assert.deepEqual(t.filters, []);
  assert.deepEqual([...t.bad].sort(), ['ext', 'other']);
  assert.equal(httpCustomRbacFilters(two, t.bad).length, 2);
  const probs = customProblems(grpc, mesh([]), lookup);
  assert.match(probs.get(grpc[0]!) ?? '', /not defined/);
});

test('two CUSTOM providers that can select one workload are reported once per pair, naming both', async () => {
  const { securityIssues } = await import('./issues.ts');
  const withSel = (p: ConfigObject<AuthorizationPolicySpec>, ns: string, labels?: Record<string, string>) => ({ ...p, metadata: { ...p.metadata, namespace: ns }, spec: { ...p.spec, ...(labels ? { selector: { matchLabels: labels } } : {}) } });
  const a = withSel(ap('oauth', [{}]), 'ns', { app: 'web' });
  const b = withSel(ap('ldap', [{}]), 'ns', { app: 'web', tier: 'front' });
  const c = withSel(ap('keys', [{}]), 'ns', { app: 'api' }); // other app: cannot meet a or b
  const d = withSel(ap('oauth', [{}]), 'other', {}); // same provider as a, other namespace
  const e = withSel(ap('mesh-wide', [{}]), 'istio-system'); // root namespace: meets everything
  const issues = securityIssues({ authorizationPolicies: [a, b, c, d, e], requestAuthentications: [], jwks: undefined })
    .filter((i) => /can apply to the same workload/.test(i.message));
  const pairs = issues.map((i) => `${i.name} ${/provider (\S+) and (\S+)'s provider (\S+)/.exec(i.message)!.slice(1).join(' ')}`).sort();
  assert.deepEqual(pairs, [
    `istio-system/${e.metadata.name} mesh-wide ns/${a.metadata.name} oauth`,
    `istio-system/${e.metadata.name} mesh-wide ns/${b.metadata.name} ldap`,
    `istio-system/${e.metadata.name} mesh-wide ns/${c.metadata.name} keys`,
    `istio-system/${e.metadata.name} mesh-wide other/${d.metadata.name} oauth`,
    `ns/${b.metadata.name} ldap ns/${a.metadata.name} oauth`,
  ]);
  assert.ok(issues.every((i) => i.path === 'spec.provider.name' && i.severity === 'warning'));
});
