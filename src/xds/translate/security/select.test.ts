// xds/translate/security: unit tests for policy selection (root namespace, namespace, selector, targetRef).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectsFromYaml } from '../../../model/test-helpers.ts';
import { buildSnapshot } from '../../../model/snapshot.ts';
import { authorizationPoliciesFor, requestAuthenticationsFor, actionOf, isDryRun } from './select.ts';

const snap = buildSnapshot(objectsFromYaml(`
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: mesh-root}
data: {mesh: "rootNamespace: mesh-root"}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh, namespace: mesh-root}
spec: {action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-selected, namespace: mesh-root}
spec: {selector: {matchLabels: {app: a}}, action: AUDIT, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: old-root, namespace: istio-system}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ns-wide, namespace: n1, annotations: {istio.io/dry-run: "true"}}
spec: {selector: {matchLabels: {}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-a, namespace: n1}
spec: {selector: {matchLabels: {app: a, tier: web}}, action: CUSTOM, provider: {name: x}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: attached, namespace: n1}
spec: {targetRef: {kind: Gateway, name: gw}, action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: ra, namespace: n1}
spec: {selector: {matchLabels: {app: a}}, jwtRules: [{issuer: x}]}
`, 'sel.yaml'), 'v');

const names = (ps: { metadata: { namespace: string; name: string } }[]) => ps.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);

test('root namespace (from MeshConfig) applies mesh-wide; its selector narrows across namespaces', () => {
  assert.equal(snap.mesh.rootNamespace, 'mesh-root');
  assert.deepEqual(names(authorizationPoliciesFor(snap, { namespace: 'n2', labels: {} })), ['mesh-root/mesh']);
  assert.deepEqual(names(authorizationPoliciesFor(snap, { namespace: 'n2', labels: { app: 'a' } })), ['mesh-root/mesh', 'mesh-root/mesh-selected']);
});

test('namespace policies apply to their namespace; selectors must match every label; targetRef never applies', () => {
  assert.deepEqual(names(authorizationPoliciesFor(snap, { namespace: 'n1', labels: { app: 'a' } })), ['mesh-root/mesh', 'mesh-root/mesh-selected', 'n1/ns-wide']);
  assert.deepEqual(names(authorizationPoliciesFor(snap, { namespace: 'n1', labels: { app: 'a', tier: 'web', x: 'y' } })),
    ['mesh-root/mesh', 'mesh-root/mesh-selected', 'n1/ns-wide', 'n1/only-a']);
  assert.deepEqual(names(requestAuthenticationsFor(snap, { namespace: 'n1', labels: { app: 'a' } })), ['n1/ra']);
  assert.deepEqual(names(requestAuthenticationsFor(snap, { namespace: 'n1', labels: { app: 'b' } })), []);
});

test('action and dry-run', () => {
  const byName = new Map(snap.authorizationPolicies.map((p) => [p.metadata.name, p]));
  assert.equal(actionOf(byName.get('ns-wide')!), 'ALLOW');
  assert.equal(actionOf(byName.get('only-a')!), 'CUSTOM');
  assert.equal(actionOf({ ...byName.get('mesh')!, spec: { action: 'BOGUS' as never } }), 'DENY', 'unknown action fails closed');
  assert.equal(isDryRun(byName.get('ns-wide')!), true);
  assert.equal(isDryRun(byName.get('mesh')!), false);
});
