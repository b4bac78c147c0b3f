// xds/translate/security: unit tests for RBAC filter assembly (order, actions, allow-nothing, dry-run, CUSTOM, TCP)
// and the jwt_authn filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicySpec, RequestAuthenticationSpec } from '../../../config/types/security.ts';
import type { ConfigObject } from '../../../config/types.ts';
import { buildSnapshot } from '../../../model/snapshot.ts';
import { normalize, TypeUrl } from '../../../envoy/protos.ts';
import { httpCustomRbacFilters, httpRbacFilters, networkRbacFilters } from './rbac.ts';
import { jwtAuthnFilter } from './jwt.ts';
import { FAKE_JWKS } from './jwks.ts';

let n = 0;
function ap(spec: AuthorizationPolicySpec, annotations?: Record<string, string>): ConfigObject<AuthorizationPolicySpec> {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: `p${n++}`, namespace: 'ns', annotations }, spec };
}
const cfg = (f: Record<string, unknown>) => f.typed_config as Record<string, any>;

test('one filter per action, Istio\'s order AUDIT (LOG) then DENY then ALLOW, rules named Istio\'s way', () => {
  n = 0;
  const fs = httpRbacFilters([ap({ action: 'AUDIT', rules: [{}] }), ap({ rules: [{}, {}] }), ap({ action: 'DENY', rules: [{}] })]);
  assert.deepEqual(fs.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac']);
  assert.deepEqual(fs.map((f) => cfg(f).rules.action), ['LOG', 'DENY', 'ALLOW']);
  assert.deepEqual(Object.keys(cfg(fs[2]!).rules.policies), ['ns[ns]-policy[p1]-rule[0]', 'ns[ns]-policy[p1]-rule[1]']);
  for (const f of fs) normalize(TypeUrl.HttpRbac, cfg(f));
});

test('allow-nothing: an ALLOW without rules denies everything; a DENY without rules does nothing', () => {
  assert.deepEqual(httpRbacFilters([ap({})]).map((f) => cfg(f).rules), [{ action: 'ALLOW', policies: {} }]);
  assert.deepEqual(httpRbacFilters([ap({ rules: [] })]).map((f) => cfg(f).rules), [{ action: 'ALLOW', policies: {} }]);
  assert.deepEqual(httpRbacFilters([ap({ action: 'DENY' })]), []);
  assert.deepEqual(httpRbacFilters([]), []);
});

test('dry-run policies go to shadow_rules only; enforced ones of the same action share the filter', () => {
  n = 0;
  const dry = { 'istio.io/dry-run': 'true' };
  const only = httpRbacFilters([ap({ action: 'DENY', rules: [{}] }, dry)]);
  assert.equal(only.length, 1);
  assert.equal(cfg(only[0]!).rules, undefined, 'nothing enforced');
  assert.deepEqual(Object.keys(cfg(only[0]!).shadow_rules.policies), ['ns[ns]-policy[p0]-rule[0]']);
  assert.equal(cfg(only[0]!).shadow_rules_stat_prefix, 'istio_dry_run_deny_');
  const both = httpRbacFilters([ap({ action: 'DENY', rules: [{}] }, dry), ap({ action: 'DENY', rules: [{}] })]);
  assert.deepEqual(Object.keys(cfg(both[0]!).rules.policies), ['ns[ns]-policy[p2]-rule[0]']);
  assert.deepEqual(Object.keys(cfg(both[0]!).shadow_rules.policies), ['ns[ns]-policy[p1]-rule[0]']);
  // a dry-run allow-nothing is a shadow deny-all, not an enforced one
  const allowDry = httpRbacFilters([ap({}, dry)]);
  assert.equal(cfg(allowDry[0]!).rules, undefined);
  assert.deepEqual(cfg(allowDry[0]!).shadow_rules, { action: 'ALLOW', policies: {} });
});

test('CUSTOM (no usable provider): Istio\'s deny filter per provider with only its rules, separate from DENY; dry-run and rule-less ones deny nothing', () => {
  n = 0;
  const custom = ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ to: [{ operation: { paths: ['/x'] } }] }] });
  const other = ap({ action: 'CUSTOM', provider: { name: 'another' }, rules: [{}] });
  const none = ap({ action: 'CUSTOM', provider: { name: 'ext' } });
  const dry = ap({ action: 'CUSTOM', provider: { name: 'dry' }, rules: [{}] }, { 'istio.io/dry-run': 'true' });
  const deny = ap({ action: 'DENY', rules: [{}] });
  const all = [custom, other, none, dry, deny];
  assert.deepEqual(httpRbacFilters(all).map((f) => Object.keys(cfg(f).rules.policies)), [['ns[ns]-policy[p4]-rule[0]']], 'CUSTOM rules are not in the DENY filter');
  const fs = httpCustomRbacFilters(all);
  assert.deepEqual(fs.map((f) => cfg(f).rules.action), ['DENY', 'DENY']);
  assert.deepEqual(fs.map((f) => Object.keys(cfg(f).rules.policies)), [
    ['istio-ext-authz-another-ns[ns]-policy[p1]-rule[0]-deny-due-to-bad-CUSTOM-action'],
    ['istio-ext-authz-ext-ns[ns]-policy[p0]-rule[0]-deny-due-to-bad-CUSTOM-action'],
  ]);
  assert.deepEqual(cfg(fs[1]!).rules.policies['istio-ext-authz-ext-ns[ns]-policy[p0]-rule[0]-deny-due-to-bad-CUSTOM-action'].permissions, [{ url_path: { path: { exact: '/x' } } }]);
  // on TCP the CUSTOM deny comes first, HTTP-only fields dropped (a broader deny, as for DENY)
  const tcp = networkRbacFilters([custom, deny]);
  assert.deepEqual(tcp.map((f) => Object.keys(cfg(f).rules.policies)[0]), ['istio-ext-authz-ext-ns[ns]-policy[p0]-rule[0]-deny-due-to-bad-CUSTOM-action', 'ns[ns]-policy[p4]-rule[0]']);
  for (const f of [...fs, ...tcp]) normalize(f === fs[0] || f === fs[1] ? TypeUrl.HttpRbac : TypeUrl.NetworkRbac, cfg(f));
});

test('network RBAC: stat_prefix, HTTP-only ALLOW rules dropped (so an all-HTTP ALLOW denies every connection)', () => {
  const fs = networkRbacFilters([ap({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })]);
  assert.equal(fs[0]!.name, 'envoy.filters.network.rbac');
  assert.equal(cfg(fs[0]!).stat_prefix, 'tcp.');
  assert.deepEqual(cfg(fs[0]!).rules, { action: 'ALLOW', policies: {} });
  normalize(TypeUrl.NetworkRbac, cfg(fs[0]!));
});

function ra(spec: RequestAuthenticationSpec): ConfigObject<RequestAuthenticationSpec> {
  return { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: { name: 'ra', namespace: 'ns' }, spec };
}

test('jwt_authn: providers per rule, allow_missing, defaults, inline / fetched / failed JWKS', () => {
  const snap = buildSnapshot([], 'v', { jwks: new Map([['https://ok/jwks', { jwks: '{"keys":[1]}' }], ['https://bad/jwks', { error: 'HTTP 500' }]]) });
  assert.equal(jwtAuthnFilter(snap, [ra({})]), undefined);
  const f = jwtAuthnFilter(snap, [ra({ jwtRules: [
    { issuer: 'a', jwks: '{"keys":[]}', audiences: ['x'] },
    { issuer: 'b', jwksUri: 'https://ok/jwks', fromHeaders: [{ name: 'x-token' }], forwardOriginalToken: true },
    { issuer: 'c', jwks_uri: 'https://bad/jwks', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] },
    { issuer: 'd' },
  ] })])!;
  const c = cfg(f);
  assert.equal(f.name, 'envoy.filters.http.jwt_authn');
  assert.deepEqual(Object.keys(c.providers), ['origins-0', 'origins-1', 'origins-2', 'origins-3']);
  assert.equal(c.providers['origins-0'].local_jwks.inline_string, '{"keys":[]}');
  assert.deepEqual(c.providers['origins-0'].audiences, ['x']);
  assert.deepEqual(c.providers['origins-0'].from_headers, [{ name: 'Authorization', value_prefix: 'Bearer ' }]);
  assert.deepEqual(c.providers['origins-0'].from_params, ['access_token']);
  assert.equal(c.providers['origins-1'].local_jwks.inline_string, '{"keys":[1]}');
  assert.deepEqual(c.providers['origins-1'].from_headers, [{ name: 'x-token' }]);
  assert.equal(c.providers['origins-1'].from_params, undefined);
  assert.equal(c.providers['origins-1'].forward, true);
  assert.equal(c.providers['origins-2'].local_jwks.inline_string, FAKE_JWKS, 'failed fetch: fail closed');
  assert.deepEqual(c.providers['origins-2'].claim_to_headers, [{ header_name: 'x-sub', claim_name: 'sub' }]);
  assert.equal(c.providers['origins-3'].local_jwks.inline_string, FAKE_JWKS, 'OIDC discovery not resolved');
  for (const p of Object.values(c.providers) as Record<string, unknown>[]) assert.equal(p.payload_in_metadata, 'payload');
  assert.deepEqual(c.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [
    { provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { provider_name: 'origins-2' }, { provider_name: 'origins-3' }, { allow_missing: {} },
  ] } } }]);
  const round = normalize(TypeUrl.JwtAuthn, c);
  assert.deepEqual(Object.keys(round.providers as object), Object.keys(c.providers));
});

test('the unverifiable JWKS is a well-formed RSA JWKS', () => {
  const j = JSON.parse(FAKE_JWKS) as { keys: { kty: string; n: string; e: string }[] };
  assert.equal(j.keys[0]!.kty, 'RSA');
  assert.ok(Buffer.from(j.keys[0]!.n, 'base64url').length >= 256, '2048-bit modulus');
});

test('an inline jwks that is not a JWKS fails closed for its issuer only, and is reported', async () => {
  const { securityIssues } = await import('./issues.ts');
  const bad = ra({ jwtRules: [{ issuer: 'a', jwks: '{not json' }, { issuer: 'b', jwks: '{"keys":[]}' }] });
  const snap = buildSnapshot([bad], 'v');
  const c = cfg(jwtAuthnFilter(snap, [bad])!);
  assert.equal(c.providers['origins-0'].local_jwks.inline_string, FAKE_JWKS);
  assert.equal(c.providers['origins-1'].local_jwks.inline_string, '{"keys":[]}');
  const issues = securityIssues({ authorizationPolicies: [], requestAuthentications: [bad], jwks: undefined });
  assert.deepEqual(issues.map((i) => [i.path, i.code]), [['spec.jwtRules[0].jwks', 'RIG305']]);
  assert.match(issues[0]!.message, /inline jwks: not JSON/);
});
