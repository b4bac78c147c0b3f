// config/validation: AuthorizationPolicy, RequestAuthentication, PeerAuthentication and Telemetry rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorPaths, issuesOf } from './testkit.ts';

test('AuthorizationPolicy: actions, providers, empty sources/operations, conditions', () => {
  const allow = { selector: { matchLabels: { app: 'ratings' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/reviews'] } }], to: [{ operation: { methods: ['GET'], paths: ['/ratings/*'] } }] }] };
  assert.deepEqual(errorPaths('AuthorizationPolicy', allow), []);
  assert.deepEqual(errorPaths('AuthorizationPolicy', {}), []); // allow-nothing
  assert.deepEqual(errorPaths('AuthorizationPolicy', { action: 'DENY' }), ['spec.rules']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { action: 'BLOCK', rules: [{}] }), ['spec.action']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { action: 'CUSTOM', rules: [{}] }), ['spec.provider.name']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ from: [{ source: { namespaces: ['a'] } }] }] }), ['spec.rules[0].from[0].source.namespaces']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { provider: { name: 'ext' }, rules: [{}] }), ['spec.provider']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { rules: [{ from: [{ source: {} }], to: [] }] }), ['spec.rules[0].from[0].source', 'spec.rules[0].to']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33', 'x'] } }] }] }), ['spec.rules[0].from[0].source.ipBlocks[0]', 'spec.rules[0].from[0].source.ipBlocks[1]']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { rules: [{ to: [{ operation: { ports: ['80', '99999'], paths: ['/{**}/a/{**}'] } }] }] }), ['spec.rules[0].to[0].operation.ports[1]', 'spec.rules[0].to[0].operation.paths[0]']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { rules: [{ when: [{ key: 'request.headers[x-token]', values: ['a'] }, { key: 'destination.labels[app]', values: ['x'] }, { key: 'source.ip' }, { key: 'request.headers', values: ['a'] }] }] }), ['spec.rules[0].when[1].key', 'spec.rules[0].when[2]', 'spec.rules[0].when[3].key']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { selector: { matchLabels: { a: 'b' } }, targetRef: { kind: 'Service', name: 's' } }), ['spec.targetRef']);
  assert.deepEqual(errorPaths('AuthorizationPolicy', { targetRefs: [{ kind: 'Deployment', group: 'apps', name: 'd' }] }), ['spec.targetRefs[0].kind']);
  assert.deepEqual(issuesOf('AuthorizationPolicy', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }, 'warning').length, 1);
});

test('RequestAuthentication: issuer/jwksUri, jwks JSON, token locations, claim headers', () => {
  const rule = (r: object) => ({ selector: { matchLabels: { app: 'a' } }, jwtRules: [{ issuer: 'https://issuer.example.com', ...r }] });
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ jwksUri: 'https://issuer.example.com/jwks', audiences: ['a'], fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }] })), []);
  assert.deepEqual(errorPaths('RequestAuthentication', { jwtRules: [{}] }), ['spec.jwtRules[0].issuer']);
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ jwksUri: 'ftp://x/jwks' })), ['spec.jwtRules[0].jwksUri']);
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ jwksUri: 'https://x/jwks', jwks: '{"keys":[]}' })), ['spec.jwtRules[0].jwks']);
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ jwks: 'not json' })), ['spec.jwtRules[0].jwks']);
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ timeout: '0s' })), ['spec.jwtRules[0].timeout']);
  assert.deepEqual(errorPaths('RequestAuthentication', rule({ outputClaimToHeaders: [{ claim: 'sub' }] })), ['spec.jwtRules[0].outputClaimToHeaders[0].header']);
});

test('PeerAuthentication: modes and port-level mTLS', () => {
  assert.deepEqual(errorPaths('PeerAuthentication', { mtls: { mode: 'STRICT' } }), []);
  assert.deepEqual(errorPaths('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }), []);
  assert.deepEqual(errorPaths('PeerAuthentication', { selector: { matchLabels: { 'a*': 'b' } }, mtls: { mode: 'STRICT' } }), ['spec.selector.matchLabels["a*"]']);
  assert.deepEqual(errorPaths('PeerAuthentication', { mtls: { mode: 'strict' } }), ['spec.mtls.mode']);
});

test('Telemetry: providers, overrides, tag operations, sampling range, custom tags', () => {
  assert.deepEqual(errorPaths('Telemetry', { tracing: [{ providers: [{ name: 'zipkin' }], randomSamplingPercentage: 10 }], accessLogging: [{ providers: [{ name: 'envoy' }] }] }), []);
  assert.deepEqual(errorPaths('Telemetry', { tracing: [{ randomSamplingPercentage: 101 }] }), ['spec.tracing[0].randomSamplingPercentage']);
  assert.deepEqual(errorPaths('Telemetry', { tracing: [{ customTags: { a: { literal: { value: 'x' }, header: { name: 'h' } } } }] }), ['spec.tracing[0].customTags.a.header']);
  assert.deepEqual(errorPaths('Telemetry', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT', customMetric: 'x' } }] }] }), ['spec.metrics[0].overrides[0].match.customMetric']);
  assert.deepEqual(errorPaths('Telemetry', { metrics: [{ overrides: [{ tagOverrides: { t: {} } }] }] }), ['spec.metrics[0].overrides[0].tagOverrides.t.value']);
  assert.deepEqual(errorPaths('Telemetry', { metrics: [{ reportingInterval: '0.1ms' }] }), ['spec.metrics[0].reportingInterval']);
});

test('annotations: istio.io/dry-run only on ALLOW/DENY AuthorizationPolicy; internal annotations are refused', async () => {
  const { validateObject } = await import('../validate.ts');
  const { objectOf } = await import('./testkit.ts');
  const withAnn = (kind: string, spec: object, annotations: Record<string, string>) => {
    const o = objectOf(kind, spec);
    o.metadata.annotations = annotations;
    return validateObject(o).filter((i) => i.severity === 'error').map((i) => i.path);
  };
  assert.deepEqual(withAnn('AuthorizationPolicy', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' }), []);
  assert.deepEqual(withAnn('AuthorizationPolicy', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'maybe' }), ['metadata.annotations["istio.io/dry-run"]']);
  assert.deepEqual(withAnn('PeerAuthentication', {}, { 'istio.io/dry-run': 'true' }), ['metadata.annotations["istio.io/dry-run"]']);
  assert.deepEqual(withAnn('PeerAuthentication', {}, { 'internal.istio.io/parents': 'x' }), ['metadata.annotations["internal.istio.io/parents"]']);
});
