// registry/kube: tests for Kubernetes Service / Endpoints / EndpointSlice conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectsFromYaml } from '../../model/test-helpers.ts';
import { KubeRegistry } from './index.ts';

test('Service -> hostname, VIP, protocols, exportTo annotation', () => {
  const reg = new KubeRegistry(objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {networking.istio.io/exportTo: "., istio-system"}}
spec:
  clusterIP: 10.96.1.1
  selector: {app: web}
  ports:
  - {name: http-main, port: 80, targetPort: 8080}
  - {name: api, port: 81, appProtocol: grpc, targetPort: api-port}
  - {name: dns, port: 53, protocol: UDP}
  - {port: 82}
`), { domainSuffix: 'example.local' });
  const [s] = reg.services();
  assert.equal(s!.hostname, 'web.shop.svc.example.local');
  assert.deepEqual(s!.addresses, ['10.96.1.1']);
  assert.deepEqual(s!.ports.map((p) => `${p.name}:${p.port}:${p.protocol}:${p.targetPort ?? '-'}`),
    ['http-main:80:HTTP:8080', 'api:81:GRPC:-', 'dns:53:UDP:-', ':82:UNKNOWN:-']);
  assert.deepEqual(s!.exportTo, ['.', 'istio-system']);
  assert.equal(s!.resolution, 'STATIC');
  assert.equal(s!.location, 'MESH_INTERNAL');
  assert.deepEqual(s!.selector, { app: 'web' });
});

test('Endpoints subsets: ready and not-ready addresses, port by name, labels from selector or targetRef', () => {
  const reg = new KubeRegistry(objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: reviews, namespace: default}
subsets:
- addresses: [{ip: 10.1.0.1}, {ip: 10.1.0.2, targetRef: {kind: WorkloadEntry, name: reviews-v2}}]
  notReadyAddresses: [{ip: 10.1.0.3}]
  ports: [{name: http, port: 9081}, {name: metrics, port: 15020}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2, namespace: default}
spec: {address: 10.1.0.2, labels: {app: reviews, version: v2, security.istio.io/tlsMode: disabled}}
`));
  const eps = reg.endpoints('reviews.default.svc.cluster.local');
  assert.deepEqual(eps.map((e) => `${e.address}:${e.port}:${e.healthy}`), ['10.1.0.1:9081:true', '10.1.0.2:9081:true', '10.1.0.3:9081:false']);
  assert.deepEqual(eps[0]!.labels, { app: 'reviews' });
  assert.equal(eps[1]!.labels.version, 'v2');
  assert.equal(eps[1]!.tlsMode, 'disabled');
  assert.deepEqual(eps[1]!.workload, { kind: 'WorkloadEntry', namespace: 'default', name: 'reviews-v2' });
  assert.equal(eps[0]!.tlsMode, 'istio');
});

test('EndpointSlices are preferred and de-duplicated; zone becomes locality', () => {
  const reg = new KubeRegistry(objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ratings, namespace: default}
subsets: [{addresses: [{ip: 10.9.9.9}], ports: [{name: http, port: 1}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ratings-a, namespace: default, labels: {kubernetes.io/service-name: ratings}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints:
- {addresses: [10.2.0.1], conditions: {ready: true}, zone: z1}
- {addresses: [10.2.0.2], conditions: {ready: false}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ratings-b, namespace: default, labels: {kubernetes.io/service-name: ratings}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints: [{addresses: [10.2.0.1]}, {addresses: [10.2.0.4]}]
`));
  const eps = reg.endpoints('ratings.default.svc.cluster.local');
  assert.deepEqual(eps.map((e) => `${e.address}:${e.port}:${e.healthy}`), ['10.2.0.1:9080:true', '10.2.0.2:9080:false', '10.2.0.4:9080:true']);
  assert.deepEqual(eps[0]!.locality, { zone: 'z1' });
});

test('ExternalName and headless services; WorkloadEntries selected when no Endpoints exist', () => {
  const reg = new KubeRegistry(objectsFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: db.example.com, ports: [{name: tcp, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: hl, namespace: default}
spec: {clusterIP: None, selector: {app: hl}, ports: [{name: http, port: 80, targetPort: web}]}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: hl-1, namespace: default}
spec: {address: 127.0.0.1, labels: {app: hl}, ports: {web: 8081}}
`));
  const ext = reg.services().find((s) => s.hostname.startsWith('ext'))!;
  assert.equal(ext.resolution, 'DNS');
  assert.equal(ext.location, 'MESH_EXTERNAL');
  assert.deepEqual(reg.endpoints(ext.hostname).map((e) => `${e.address}:${e.port}`), ['db.example.com:5432']);
  const hl = reg.services().find((s) => s.hostname.startsWith('hl'))!;
  assert.equal(hl.resolution, 'NONE');
  assert.deepEqual(hl.addresses, []);
  assert.deepEqual(reg.endpoints(hl.hostname).map((e) => `${e.address}:${e.port}`), ['127.0.0.1:8081']);
});
