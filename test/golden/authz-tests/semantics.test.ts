// test: what the emitted RBAC means — AuthorizationPolicies translated by xds/translate/security, then decoded and
// evaluated by the data plane's own RBAC engine (src/proxy/http/filters), for requests and connections described
// as Istio would see them. Checks Istio's semantics end to end through the Envoy contract: DENY before ALLOW,
// allow-nothing, dry-run, requestPrincipals against the JWT payload, TCP handling of HTTP-only fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseValidConfig, makeProxy, type ProxySpec } from '../../helpers/golden.ts';
import { buildSnapshot } from '../../../src/model/snapshot.ts';
import { PushContext } from '../../../src/model/push-context.ts';
import { securityHttpFilters, securityNetworkFilters } from '../../../src/xds/translate/security/index.ts';
import { normalize, TypeUrl } from '../../../src/envoy/protos.ts';
import { Ctx } from '../../../src/proxy/config/decode-common.ts';
import { decodeHttpRbac, decodeNetworkRbac } from '../../../src/proxy/config/decode-rbac.ts';
import { RbacFilter } from '../../../src/proxy/http/filters/rbac.ts';
import type { RbacInput } from '../../../src/proxy/http/filters/rbac-match.ts';

const POLICIES = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-blocked, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {ipBlocks: ["203.0.113.0/24"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/productpage"]}}]
    to: [{operation: {methods: ["GET"], paths: ["/reviews/*"]}}]
  - from: [{source: {requestPrincipals: ["https://issuer.example.com/alice"]}}]
    when: [{key: "request.auth.claims[groups]", values: ["admins"]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-delete, namespace: default, annotations: {istio.io/dry-run: "true"}}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {methods: ["DELETE"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: templates, namespace: tmpl}
spec:
  rules:
  - to: [{operation: {paths: ["/users/{*}/profile", "/files/{**}"]}}]
    from: [{source: {requestPrincipals: ["*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: locked}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db, namespace: default}
spec:
  selector: {matchLabels: {app: db}}
  rules:
  - from: [{source: {namespaces: ["default"]}}]
    to: [{operation: {ports: ["3306"]}}]
  - to: [{operation: {methods: ["GET"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db-deny, namespace: default}
spec:
  selector: {matchLabels: {app: db}}
  action: DENY
  rules: [{from: [{source: {namespaces: ["legacy"]}}], to: [{operation: {paths: ["/admin"]}}]}]
`;

const ctx = new PushContext(buildSnapshot(parseValidConfig(POLICIES, 'inline.yaml'), 'test'));

interface Req { method?: string; path?: string; ip?: string; peer?: string; port?: number; jwt?: Record<string, unknown> }

function input(r: Req, http: boolean): RbacInput {
  const headers = new Map<string, string>([[':method', r.method ?? 'GET'], [':path', r.path ?? '/'], [':authority', 'reviews']]);
  return {
    headers: http ? { get: (n: string) => headers.get(n) } : undefined,
    path: http ? (r.path ?? '/') : undefined,
    directRemoteIp: r.ip ?? '10.0.0.9', remoteIp: r.ip ?? '10.0.0.9', destinationIp: '10.0.0.5', destinationPort: r.port ?? 9080,
    tls: !!r.peer, peer: r.peer ? { uris: [`spiffe://${r.peer}`], dns: [] } : undefined, sni: '',
    metadata: r.jwt ? new Map([['envoy.filters.http.jwt_authn', { payload: r.jwt }]]) : undefined,
  };
}

/** Run the proxy's RBAC filters in order; the first denial wins. Returns "allow" or the denial details. */
function decide(spec: ProxySpec, r: Req, http = true): { verdict: string; shadow: Map<string, number> } {
  const proxy = makeProxy(spec);
  const filters = http ? securityHttpFilters(ctx, proxy) : securityNetworkFilters(ctx, proxy);
  const stats = new Map<string, number>();
  for (const f of filters) {
    const tc = f.typed_config as Record<string, unknown>;
    if (!String(f.name).endsWith('.rbac')) continue;
    const url = http ? TypeUrl.HttpRbac : TypeUrl.NetworkRbac;
    const dctx = new Ctx('test');
    const cfg = http ? decodeHttpRbac(normalize(url, tc), dctx, 'rbac') : decodeNetworkRbac(normalize(url, tc), dctx, 'rbac');
    assert.deepEqual(dctx.errors, [], 'the proxy decodes what the control plane emits');
    const d = new RbacFilter(String(f.name), cfg, '').check(input(r, http), stats);
    if (!d.allowed) return { verdict: d.details!, shadow: stats };
  }
  return { verdict: 'allow', shadow: stats };
}

const reviews: ProxySpec = { name: 'reviews-1', ip: '10.0.0.5', labels: { app: 'reviews' } };
const PP = 'cluster.local/ns/default/sa/productpage';

test('ALLOW rules: principal + method + path; anything else is denied with [none]', () => {
  assert.equal(decide(reviews, { peer: PP, path: '/reviews/1' }).verdict, 'allow');
  assert.equal(decide(reviews, { peer: PP, path: '/ratings/1' }).verdict, 'rbac_access_denied_matched_policy[none]');
  assert.equal(decide(reviews, { peer: PP, method: 'POST', path: '/reviews/1' }).verdict, 'rbac_access_denied_matched_policy[none]');
  assert.equal(decide(reviews, { peer: 'cluster.local/ns/default/sa/other', path: '/reviews/1' }).verdict, 'rbac_access_denied_matched_policy[none]');
  assert.equal(decide(reviews, { path: '/reviews/1' }).verdict, 'rbac_access_denied_matched_policy[none]', 'no mTLS peer');
});

test('mesh-wide DENY wins over a matching ALLOW and names its policy', () => {
  assert.equal(decide(reviews, { peer: PP, path: '/reviews/1', ip: '203.0.113.9' }).verdict, 'rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-blocked]-rule[0]]');
});

test('requestPrincipals "iss/sub" (iss containing "/") and a list claim', () => {
  const alice = { iss: 'https://issuer.example.com', sub: 'alice', groups: ['dev', 'admins'] };
  assert.equal(decide(reviews, { method: 'POST', jwt: alice }).verdict, 'allow');
  assert.equal(decide(reviews, { method: 'POST', jwt: { ...alice, groups: 'admins' } }).verdict, 'allow', 'string claim');
  assert.notEqual(decide(reviews, { method: 'POST', jwt: { ...alice, groups: ['dev'] } }).verdict, 'allow');
  assert.notEqual(decide(reviews, { method: 'POST', jwt: { ...alice, sub: 'bob' } }).verdict, 'allow');
  assert.notEqual(decide(reviews, { method: 'POST', jwt: { ...alice, iss: 'https://issuer.example.com/alice', sub: '' } }).verdict, 'allow');
});

test('dry-run DENY only counts (shadow_denied), never denies', () => {
  const d = decide(reviews, { peer: PP, method: 'DELETE', path: '/reviews/1', jwt: { iss: 'https://issuer.example.com', sub: 'alice', groups: 'admins' } });
  assert.equal(d.verdict, 'allow');
  assert.equal(d.shadow.get('rbac.istio_dry_run_deny_shadow_denied'), 1);
});

test('allow-nothing denies every request of its namespace; other namespaces are unaffected', () => {
  assert.equal(decide({ name: 'x', namespace: 'locked', labels: {} }, { peer: PP }).verdict, 'rbac_access_denied_matched_policy[none]');
  assert.equal(decide({ name: 'y', namespace: 'open', labels: {} }, { peer: PP }).verdict, 'allow');
});

test('TCP: HTTP-only ALLOW rule matches nothing, HTTP-only DENY fields are dropped (broader deny)', () => {
  const db: ProxySpec = { name: 'db-1', labels: { app: 'db' } };
  assert.equal(decide(db, { peer: 'cluster.local/ns/default/sa/api', port: 3306 }, false).verdict, 'allow');
  assert.equal(decide(db, { peer: 'cluster.local/ns/other/sa/api', port: 3306 }, false).verdict, 'rbac_access_denied_matched_policy[none]', 'the methods rule does not open TCP');
  assert.equal(decide(db, { peer: 'cluster.local/ns/legacy/sa/x', port: 3306 }, false).verdict, 'rbac_access_denied_matched_policy[ns[default]-policy[db-deny]-rule[0]]');
  // on HTTP the same DENY needs the path
  assert.equal(decide(db, { peer: 'cluster.local/ns/legacy/sa/x', path: '/x' }, true).verdict, 'allow');
});

test('path templates and "any request principal"', () => {
  const p: ProxySpec = { name: 't', namespace: 'tmpl', labels: {} };
  const jwt = { iss: 'i', sub: 's' };
  assert.equal(decide(p, { path: '/users/42/profile', jwt }).verdict, 'allow');
  assert.equal(decide(p, { path: '/files/a/b/c', jwt }).verdict, 'allow');
  assert.notEqual(decide(p, { path: '/users/4/2/profile', jwt }).verdict, 'allow', '{*} is one segment');
  assert.notEqual(decide(p, { path: '/users/42/profile' }).verdict, 'allow', 'no token, no request principal');
});
