// model: tests for parsing xDS nodes into proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RigError, ErrorCodes } from '../common/errors.ts';
import { parseProxy, parseLocality } from './proxy.ts';
import type { Proxy } from './types.ts';

function ok(p: Proxy | RigError): Proxy {
  if (p instanceof RigError) assert.fail(p.message);
  return p;
}

test('parses an Istio sidecar node id with metadata', () => {
  const p = ok(parseProxy({
    id: 'sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local',
    metadata: { NAMESPACE: 'default', LABELS: { app: 'reviews', version: 'v1' }, SERVICE_ACCOUNT: 'bookinfo-reviews',
      WORKLOAD_NAME: 'reviews-v1', INSTANCE_IPS: '10.0.0.1,10.0.0.2', CLUSTER_ID: 'Kubernetes', EXTRA: 7 },
    locality: { region: 'us', zone: 'us-a', sub_zone: 'r1' },
  }));
  assert.equal(p.type, 'sidecar');
  assert.equal(p.ip, '10.0.0.1');
  assert.deepEqual(p.ips, ['10.0.0.1', '10.0.0.2']);
  assert.equal(p.name, 'reviews-v1-abc');
  assert.equal(p.namespace, 'default');
  assert.equal(p.dnsDomain, 'default.svc.cluster.local');
  assert.deepEqual(p.labels, { app: 'reviews', version: 'v1' });
  assert.equal(p.serviceAccount, 'bookinfo-reviews');
  assert.equal(p.workloadName, 'reviews-v1');
  assert.equal(p.clusterId, 'Kubernetes');
  assert.deepEqual(p.locality, { region: 'us', zone: 'us-a', subzone: 'r1' });
  assert.equal(p.metadata.EXTRA, 7);
});

test('router nodes and namespace from the id when metadata has none', () => {
  const p = ok(parseProxy({ id: 'router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local' }));
  assert.equal(p.type, 'router');
  assert.equal(p.namespace, 'istio-system');
  assert.deepEqual(p.labels, {});
  assert.equal(p.generator, undefined);
});

test('metadata as a protobuf Struct (proto-loader form) is understood', () => {
  const p = ok(parseProxy({
    id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local',
    metadata: { fields: {
      GENERATOR: { string_value: 'grpc', kind: 'string_value' },
      LABELS: { kind: 'struct_value', struct_value: { fields: { app: { kind: 'string_value', string_value: 'client' } } } },
    } },
  }));
  assert.equal(p.generator, 'grpc');
  assert.deepEqual(p.labels, { app: 'client' });
});

test('bad node ids give a clear RigError naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['sidecar~10.0.0.1~x.default', /3 "~"-separated parts/],
    ['gateway~10.0.0.1~x.default~default.svc.cluster.local', /unknown proxy type "gateway"/],
    ['sidecar~not-an-ip~x.default~default.svc.cluster.local', /"not-an-ip" is not an IP/],
    ['sidecar~10.0.0.1~~default.svc.cluster.local', /empty NAME.NAMESPACE/],
  ];
  for (const [id, re] of cases) {
    const r = parseProxy({ id });
    assert.ok(r instanceof RigError, id);
    assert.equal(r.code, ErrorCodes.XDS_BAD_NODE);
    assert.match(r.message, re);
  }
  const r = parseProxy({ id: 'sidecar~10.0.0.1~x.default~default.svc.cluster.local', metadata: { INSTANCE_IPS: '10.0.0.1,nope' } });
  assert.ok(r instanceof RigError);
  assert.match(r.message, /INSTANCE_IPS holds "nope"/);
});

test('parseLocality', () => {
  assert.deepEqual(parseLocality('us-east/us-east-1a/rack1'), { region: 'us-east', zone: 'us-east-1a', subzone: 'rack1' });
  assert.deepEqual(parseLocality('eu'), { region: 'eu' });
  assert.deepEqual(parseLocality(undefined), {});
});
