// test: endpoint translation — ClusterLoadAssignments (subset filtering, health, weights, tlsMode metadata,
// empty assignments) and locality-aware load balancing relative to the proxy's locality.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor, makeProxy, parseValidConfig } from '../helpers/golden.ts';
import { applyLocalitySetting, localityMatches, localityDistance, type LocalityGroup } from '../../src/xds/translate/endpoints/locality.ts';
import { generateEndpoints } from '../../src/xds/translate/generate.ts';
import type { Endpoint, Locality } from '../../src/model/types.ts';

function ep(address: string, locality: Locality, labels: Record<string, string> = {}, weight = 1): Endpoint {
  return { hostname: 'h', servicePortName: 'http', servicePort: 80, address, port: 80, labels, locality, weight, healthy: true, tlsMode: 'istio' };
}
function group(locality: Locality, ...eps: Endpoint[]): LocalityGroup {
  return { locality, endpoints: eps, weight: eps.reduce((s, e) => s + (e.weight ?? 1), 0), priority: 0 };
}
const proxyAt = (region: string, zone?: string, subzone?: string, labels: Record<string, string> = {}) =>
  makeProxy({ name: 'p', labels: { ...labels, 'istio-locality': [region, zone, subzone].filter(Boolean).join('.') } });

test('locality patterns and distance', () => {
  const l = { region: 'us', zone: 'z1', subzone: 's1' };
  assert.ok(localityMatches(l, 'us'));
  assert.ok(localityMatches(l, 'us/*'));
  assert.ok(localityMatches(l, 'us/z1/s1'));
  assert.ok(localityMatches(l, '*'));
  assert.ok(!localityMatches(l, 'us/z2'));
  assert.ok(!localityMatches(l, 'eu/*'));
  assert.equal(localityDistance(l, { region: 'us', zone: 'z1', subzone: 's1' }), 0);
  assert.equal(localityDistance(l, { region: 'us', zone: 'z1', subzone: 's2' }), 1);
  assert.equal(localityDistance(l, { region: 'us', zone: 'z2' }), 2);
  assert.equal(localityDistance(l, { region: 'eu' }), 3);
});

test('failover: priorities by distance, compacted without gaps; failover target region before others', () => {
  const groups = [
    group({ region: 'us', zone: 'z1' }, ep('a', { region: 'us', zone: 'z1' })),
    group({ region: 'eu', zone: 'z1' }, ep('b', { region: 'eu', zone: 'z1' })),
    group({ region: 'ap', zone: 'z1' }, ep('c', { region: 'ap', zone: 'z1' })),
  ];
  const out = applyLocalitySetting(proxyAt('us', 'z1'), groups, { failover: [{ from: 'us', to: 'ap' }] }, true);
  const prio = Object.fromEntries(out.map((g) => [g.locality.region, g.priority]));
  assert.deepEqual(prio, { us: 0, ap: 1, eu: 2 });
});

test('failover needs outlier detection: without it priorities stay 0', () => {
  const groups = [group({ region: 'us' }, ep('a', { region: 'us' })), group({ region: 'eu' }, ep('b', { region: 'eu' }))];
  const out = applyLocalitySetting(proxyAt('us'), groups, {}, false);
  assert.deepEqual(out.map((g) => g.priority), [0, 0]);
});

test('distribute: weights split by the localities a wildcard covers; unnamed localities dropped', () => {
  const groups = [
    group({ region: 'us', zone: 'z1' }, ep('a', { region: 'us', zone: 'z1' })),
    group({ region: 'us', zone: 'z2' }, ep('b', { region: 'us', zone: 'z2' }, {}, 3)),
    group({ region: 'eu', zone: 'z1' }, ep('c', { region: 'eu', zone: 'z1' })),
    group({ region: 'ap', zone: 'z1' }, ep('d', { region: 'ap', zone: 'z1' })),
  ];
  const out = applyLocalitySetting(proxyAt('us', 'z1'), groups, { distribute: [{ from: 'us/*', to: { 'us/*': 60, 'eu/*': 40 } }] }, false);
  assert.deepEqual(out.map((g) => [g.locality.region, g.locality.zone, g.weight]), [['us', 'z1', 15], ['us', 'z2', 45], ['eu', 'z1', 40]]);
});

test('failoverPriority: endpoints matching more of the listed labels come first', () => {
  const groups = [group({ region: 'us' },
    ep('a', { region: 'us' }, { net: 'n1', tier: 'gold' }),
    ep('b', { region: 'us' }, { net: 'n1', tier: 'silver' }),
    ep('c', { region: 'us' }, { net: 'n2', tier: 'gold' }))];
  const out = applyLocalitySetting(proxyAt('us', undefined, undefined, { net: 'n1', tier: 'gold' }), groups, { failoverPriority: ['net', 'tier'] }, true);
  const prio = Object.fromEntries(out.flatMap((g) => g.endpoints.map((e) => [e.address, g.priority])));
  assert.deepEqual(prio, { a: 0, b: 1, c: 2 });
});

const YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}, locality: us/z1, weight: 5, serviceAccount: reviews}
  - {address: 10.0.0.2, labels: {version: v2}, locality: eu/z1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: default}
spec:
  host: web
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v9, labels: {version: v9}}
`;

test('CLA: subset filtering, locality weight = sum of endpoint weights, tlsMode metadata, empty subset still assigned', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'web.yaml'));
  const proxy = proxyAt('us', 'z1');
  const clas = generateEndpoints(ctx, proxy);
  const byName = new Map(clas.map((c) => [c.cluster_name, c as any]));
  assert.deepEqual([...byName.keys()].sort(), [
    'outbound|80|v1|web.default.svc.cluster.local', 'outbound|80|v9|web.default.svc.cluster.local', 'outbound|80||web.default.svc.cluster.local']);
  const v1 = byName.get('outbound|80|v1|web.default.svc.cluster.local');
  assert.equal(v1.endpoints.length, 1);
  assert.deepEqual(v1.endpoints[0].load_balancing_weight, { value: 5 });
  const lbe = v1.endpoints[0].lb_endpoints[0];
  assert.equal(lbe.endpoint.address.socket_address.address, '10.0.0.1');
  assert.deepEqual(lbe.load_balancing_weight, { value: 5 });
  assert.equal(lbe.health_status, 'HEALTHY');
  assert.deepEqual(lbe.metadata.filter_metadata['envoy.transport_socket_match'], { fields: { tlsMode: { stringValue: 'istio' } } }, 'an endpoint with a service account is mTLS capable (Istio: no tlsMode label and no service account = disabled)');
  assert.deepEqual(byName.get('outbound|80|v9|web.default.svc.cluster.local').endpoints, []);
  // outlier detection turns on default failover: the proxy's own locality first
  const all = byName.get('outbound|80||web.default.svc.cluster.local');
  assert.deepEqual(all.endpoints.map((l: any) => [l.locality.region, l.priority ?? 0]), [['us', 0], ['eu', 1]]);
  const fromEu = generateEndpoints(ctx, proxyAt('eu', 'z1'), ['outbound|80||web.default.svc.cluster.local'])[0] as any;
  assert.deepEqual(fromEu.endpoints.map((l: any) => [l.locality.region, l.priority ?? 0]), [['eu', 0], ['us', 1]]);
});

test('CLA: unhealthy endpoints are sent with their health status', () => {
  const yaml = `
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: api, namespace: default}
subsets:
- addresses: [{ip: 10.1.0.1}]
  notReadyAddresses: [{ip: 10.1.0.2}]
  ports: [{name: http, port: 8080}]
`;
  const ctx = contextFor(parseValidConfig(yaml, 'k.yaml'));
  const [cla] = generateEndpoints(ctx, makeProxy({ name: 'c' }), ['outbound|80||api.default.svc.cluster.local']) as any[];
  const eps = cla.endpoints.flatMap((l: any) => l.lb_endpoints);
  const status = Object.fromEntries(eps.map((e: any) => [e.endpoint.address.socket_address.address, e.health_status]));
  assert.equal(status['10.1.0.1'], 'HEALTHY');
  assert.equal(status['10.1.0.2'], 'UNHEALTHY');
  assert.equal(eps[0].endpoint.address.socket_address.port_value, 8080, 'endpoints use the workload port');
});
