// model: tests for exportTo, Sidecar egress host entries and label selectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { egressAdmits, egressAdmitsAny, exportedTo, labelsMatch, parseEgressHost } from './visibility.ts';

test('exportTo', () => {
  assert.ok(exportedTo(undefined, 'a', 'b'));
  assert.ok(exportedTo([], 'a', 'b'));
  assert.ok(exportedTo(['*'], 'a', 'b'));
  assert.ok(exportedTo(['.'], 'a', 'a'));
  assert.ok(!exportedTo(['.'], 'a', 'b'));
  assert.ok(!exportedTo(['~'], 'a', 'a'));
  assert.ok(exportedTo(['.', 'b'], 'a', 'b'));
  assert.ok(!exportedTo(['c'], 'a', 'b'));
});

test('Sidecar egress entries', () => {
  const e = ['./*', 'istio-system/*', 'prod/api.prod.svc.cluster.local', '*/*.example.com', '~/*'].map((x) => parseEgressHost(x, 'app'));
  assert.deepEqual(e[0], { namespace: 'app', host: '*' });
  assert.ok(egressAdmits(e, 'app', 'anything.app.svc.cluster.local'));
  assert.ok(egressAdmits(e, 'istio-system', 'x.istio-system.svc.cluster.local'));
  assert.ok(egressAdmits(e, 'prod', 'api.prod.svc.cluster.local'));
  assert.ok(!egressAdmits(e, 'prod', 'other.prod.svc.cluster.local'));
  assert.ok(egressAdmits(e, 'ext', 'www.example.com'));
  assert.ok(!egressAdmits(e, 'ext', 'example.com'));
  assert.ok(egressAdmits([parseEgressHost('*/a.example.com', 'x')], 'ext', '*.example.com'), 'specific entry admits a wildcard service');
  assert.ok(!egressAdmits([parseEgressHost('~/*', 'x')], 'x', 'a.x.svc.cluster.local'));
  assert.deepEqual(parseEgressHost('api.example.com', 'x'), { namespace: '*', host: 'api.example.com' });
  assert.ok(egressAdmitsAny(e, 'prod', ['nope.prod.svc.cluster.local', 'api.prod.svc.cluster.local']));
  assert.ok(!egressAdmitsAny(e, 'prod', ['nope.prod.svc.cluster.local']));
});

test('label selectors', () => {
  assert.ok(labelsMatch(undefined, { a: '1' }));
  assert.ok(labelsMatch({}, undefined));
  assert.ok(labelsMatch({ a: '1' }, { a: '1', b: '2' }));
  assert.ok(!labelsMatch({ a: '1', c: '3' }, { a: '1', b: '2' }));
  assert.ok(!labelsMatch({ a: '1' }, undefined));
});
