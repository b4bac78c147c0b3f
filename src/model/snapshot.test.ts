// model: tests for building the push snapshot (sorting, registries, endpoints, mesh config) from config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { objectsFromYaml } from './test-helpers.ts';
import { buildSnapshot } from './snapshot.ts';
import { meshConfigFrom, parseMeshConfig } from './mesh.ts';

test('objects are sorted by namespace/name and duplicates dropped (first wins)', () => {
  const objs = objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: z}
spec: {hosts: [b]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: a}
spec: {hosts: [first]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: z}
spec: {hosts: [a]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: a}
spec: {hosts: [second]}
`);
  const snap = buildSnapshot(objs, 'v7');
  assert.equal(snap.version, 'v7');
  assert.deepEqual(snap.virtualServices.map((v) => `${v.metadata.namespace}/${v.metadata.name}`), ['a/b', 'z/a', 'z/b']);
  assert.deepEqual(snap.virtualServices[0]!.spec.hosts, ['first']);
  assert.ok(Object.isFrozen(snap.virtualServices));
  assert.equal(snap.mesh.trustDomain, 'cluster.local');
});

test('mesh config: Istio defaults, overridden by the istio ConfigMap', () => {
  const d = meshConfigFrom([]);
  assert.equal(d.outboundTrafficPolicy.mode, 'ALLOW_ANY');
  assert.equal(d.enableTracing, true);
  assert.equal(d.rootNamespace, 'istio-system');
  assert.equal(d.connectTimeout, '10s');
  const objs = objectsFromYaml(`
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: example.org
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    enableTracing: false
    accessLogFile: /dev/stdout
    accessLogEncoding: JSON
    defaultConfig: {tracing: {sampling: 50}, proxyMetadata: {A: "1"}}
`);
  const m = meshConfigFrom(objs);
  assert.equal(m.trustDomain, 'example.org');
  assert.equal(m.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  assert.equal(m.enableTracing, false);
  assert.equal(m.accessLogFile, '/dev/stdout');
  assert.equal(m.accessLogEncoding, 'JSON');
  assert.equal(m.defaultConfig.tracing?.sampling, 50);
  assert.deepEqual(m.defaultConfig.proxyMetadata, { A: '1' });
  assert.equal(m.connectTimeout, '10s');
  const bad = parseMeshConfig('outboundTrafficPolicy: {mode: SOMETIMES}\nenableTracing: "yes"');
  assert.equal(bad.mesh.outboundTrafficPolicy.mode, 'ALLOW_ANY');
  assert.deepEqual(bad.issues.map((i) => i.path).sort(), ['data.mesh.enableTracing', 'data.mesh.outboundTrafficPolicy.mode']);
});

test('Kubernetes Service wins over a ServiceEntry for the same host and namespace; the conflict is reported', () => {
  const snap = buildSnapshot(objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {clusterIP: 10.96.0.5, selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: reviews, namespace: default}
subsets: [{addresses: [{ip: 10.1.0.1}], ports: [{name: http, port: 9080}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shadow, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http}]
  resolution: STATIC
  endpoints: [{address: 10.9.9.9}]
`), 'v1');
  assert.equal(snap.services.length, 1);
  assert.equal(snap.services[0]!.origin.kind, 'Service');
  assert.deepEqual(snap.services[0]!.addresses, ['10.96.0.5']);
  assert.deepEqual(snap.endpoints.get('reviews.default.svc.cluster.local')!.map((e) => e.address), ['10.1.0.1']);
  assert.ok(snap.issues!.some((i) => i.code === 'RIG201' && /Service wins/.test(i.message)));
});

const bookinfo = resolve(process.cwd(), '../shared/conformance/istio/bookinfo/platform-kube-bookinfo.yaml');
test('Bookinfo manifest gives the four services with HTTP ports', { skip: existsSync(bookinfo) ? false : `missing ${bookinfo}` }, () => {
  const snap = buildSnapshot(objectsFromYaml(readFileSync(bookinfo, 'utf8'), bookinfo), 'v1');
  assert.deepEqual(snap.services.map((s) => s.hostname), [
    'details.default.svc.cluster.local', 'productpage.default.svc.cluster.local',
    'ratings.default.svc.cluster.local', 'reviews.default.svc.cluster.local',
  ]);
  for (const s of snap.services) assert.deepEqual(s.ports, [{ name: 'http', port: 9080, protocol: 'HTTP' }]);
  assert.deepEqual(snap.services.find((s) => s.hostname.startsWith('reviews'))!.selector, { app: 'reviews' });
});
