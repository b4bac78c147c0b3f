// proxy/telemetry: label derivation from node metadata, cluster names, SPIFFE ids and peer metadata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePeer, encodePeer, hostService, parseClusterName, selfWorkload, spiffeNamespace } from './labels.ts';

test('self workload from Istio node metadata', () => {
  const w = selfWorkload({
    id: 'sidecar~10.0.0.7~reviews-v2-abc.shop~shop.svc.cluster.local',
    metadata: { NAMESPACE: 'shop', WORKLOAD_NAME: 'reviews-v2', SERVICE_ACCOUNT: 'bookinfo-reviews', CLUSTER_ID: 'Kubernetes', LABELS: { app: 'reviews', version: 'v2' } },
  });
  assert.deepEqual(w, { workload: 'reviews-v2', namespace: 'shop', principal: 'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews', app: 'reviews', version: 'v2', cluster: 'Kubernetes' });
});

test('self workload falls back to the node id and to unknown; canonical labels win over app/version', () => {
  const w = selfWorkload({ id: 'sidecar~10.0.0.7~ratings-1.ns1~ns1.svc.cluster.local', metadata: { LABELS: { 'service.istio.io/canonical-name': 'rate', app: 'ratings' }, TRUST_DOMAIN: 'x.org' } });
  assert.equal(w.workload, 'ratings-1');
  assert.equal(w.namespace, 'ns1');
  assert.equal(w.app, 'rate');
  assert.equal(w.version, 'unknown');
  assert.equal(w.principal, 'unknown');
  assert.equal(w.cluster, 'unknown');
});

test('cluster names: outbound|port|subset|host and inbound', () => {
  assert.deepEqual(parseClusterName('outbound|9080|v2|reviews.default.svc.cluster.local'), { direction: 'outbound', port: '9080', subset: 'v2', host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' });
  const i = parseClusterName('inbound|9080||');
  assert.equal(i.direction, 'inbound');
  assert.equal(i.host, '');
  const o = parseClusterName('PassthroughCluster');
  assert.equal(o.direction, 'other');
  assert.equal(o.name, 'PassthroughCluster');
  assert.deepEqual(hostService('api.example.com'), { name: 'api.example.com', namespace: 'unknown' });
});

test('SPIFFE namespace and peer metadata round trip; malformed peer headers are ignored', () => {
  assert.equal(spiffeNamespace('spiffe://cluster.local/ns/shop/sa/web'), 'shop');
  assert.equal(spiffeNamespace('spiffe://cluster.local/weird'), undefined);
  const w = { workload: 'web', namespace: 'shop', principal: 'p', app: 'web;x', version: 'v 1', cluster: 'c' };
  assert.deepEqual(decodePeer(encodePeer(w)), { workload: 'web', namespace: 'shop', app: 'web_x', version: 'v_1', cluster: 'c' });
  assert.equal(decodePeer('a;b'), undefined);
  assert.equal(decodePeer('a;;c;d;e'), undefined);
  assert.equal(decodePeer('x'.repeat(600)), undefined);
});
