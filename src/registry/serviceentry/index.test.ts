// registry/serviceentry: tests for ServiceEntry/WorkloadEntry/WorkloadGroup conversion to services and endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectsFromYaml } from '../../model/test-helpers.ts';
import { ServiceEntryRegistry, workloadEntryFromGroup } from './index.ts';

test('one service per host with ports, defaults and visibility', () => {
  const reg = new ServiceEntryRegistry(objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: egress, labels: {team: a}}
spec:
  hosts: [api.example.com, Other.Example.com]
  addresses: [240.0.0.1]
  ports: [{number: 443, name: https-api}, {number: 80, name: web, protocol: HTTP}, {number: 27017, name: db}]
  exportTo: ["."]
  subjectAltNames: [spiffe://x]
`));
  const s = reg.services();
  assert.deepEqual(s.map((x) => x.hostname), ['api.example.com', 'other.example.com']);
  const a = s[0]!;
  assert.deepEqual(a.ports.map((p) => `${p.port}/${p.protocol}`), ['443/HTTPS', '80/HTTP', '27017/UNKNOWN']);
  assert.equal(a.resolution, 'NONE');
  assert.equal(a.location, 'MESH_EXTERNAL');
  assert.deepEqual(a.exportTo, ['.']);
  assert.deepEqual(a.addresses, ['240.0.0.1']);
  assert.deepEqual(a.labels, { team: 'a' });
  assert.deepEqual(a.subjectAltNames, ['spiffe://x']);
  assert.deepEqual(a.origin, { kind: 'ServiceEntry', namespace: 'egress', name: 'ext' });
  assert.deepEqual(reg.endpoints('api.example.com'), []); // resolution NONE: passthrough, no endpoints
});

test('inline endpoints, port mapping, locality, weight and tlsMode', () => {
  const reg = new ServiceEntryRegistry(objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal.example]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp-pg, targetPort: 6432}, {number: 8080, name: http-admin}]
  endpoints:
  - {address: 10.0.0.1, ports: {http-admin: 9090}, locality: us-east/us-east-1a/rack1, weight: 3, labels: {v: "1"}}
  - {address: 10.0.0.2, labels: {security.istio.io/tlsMode: disabled}, serviceAccount: db, network: n1}
`));
  const eps = reg.endpoints('db.internal.example');
  assert.deepEqual(eps.map((e) => `${e.address}:${e.servicePort}->${e.port}`),
    ['10.0.0.1:5432->6432', '10.0.0.1:8080->9090', '10.0.0.2:5432->6432', '10.0.0.2:8080->8080']);
  assert.deepEqual(eps[0]!.locality, { region: 'us-east', zone: 'us-east-1a', subzone: 'rack1' });
  assert.equal(eps[0]!.weight, 3);
  assert.equal(eps[0]!.tlsMode, 'disabled', 'Istio: no tlsMode label and no service account = no sidecar');
  assert.equal(eps[2]!.tlsMode, 'disabled');
  assert.equal(eps[2]!.serviceAccount, 'db');
  assert.equal(eps[2]!.network, 'n1');
  assert.equal(eps[0]!.servicePortName, 'tcp-pg');
});

test('DNS resolution without endpoints resolves the host itself', () => {
  const reg = new ServiceEntryRegistry(objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: g, namespace: default}
spec: {hosts: [www.google.com, "*.wild.com"], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
`));
  const eps = reg.endpoints('www.google.com');
  assert.equal(eps.length, 1);
  assert.equal(eps[0]!.address, 'www.google.com');
  assert.equal(eps[0]!.port, 443);
  assert.equal(eps[0]!.tlsMode, 'disabled');
  assert.deepEqual(reg.endpoints('*.wild.com'), []);
});

test('workloadSelector picks WorkloadEntries of the same namespace; WorkloadGroup labels apply', () => {
  const reg = new ServiceEntryRegistry(objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: grpc, targetPort: 7000}]
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: r1, namespace: default}
spec: {address: 127.0.0.1, ports: {grpc: 7001}, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: r-other-ns, namespace: other}
spec: {address: 127.0.0.9, labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: nope, namespace: default}
spec: {address: 127.0.0.8, labels: {app: ratings}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: reviews-v3, namespace: default}
spec:
  metadata: {labels: {app: reviews}}
  template: {labels: {version: v3}, serviceAccount: reviews, ports: {grpc: 7003}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: r3, namespace: default, annotations: {istio.io/autoRegistrationGroup: reviews-v3}}
spec: {address: 127.0.0.3}
`));
  const eps = reg.endpoints('reviews.default.svc.cluster.local');
  assert.deepEqual(eps.map((e) => `${e.workload?.name} ${e.address}:${e.port} ${e.labels.version}`), [
    'r1 127.0.0.1:7001 v1', 'r3 127.0.0.3:7003 v3',
  ]);
  assert.equal(eps[1]!.serviceAccount, 'reviews');
});

test('the same host twice in one namespace: the first entry wins, with a warning', () => {
  const reg = new ServiceEntryRegistry(objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: b, namespace: default}
spec: {hosts: [x.example.com], ports: [{number: 80, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: default}
spec: {hosts: [x.example.com], ports: [{number: 81, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: c, namespace: other}
spec: {hosts: [x.example.com], ports: [{number: 82, name: http}]}
`));
  assert.deepEqual(reg.services().map((s) => `${s.namespace}/${s.origin.name}:${s.ports[0]!.port}`), ['default/a:81', 'other/c:82']);
  assert.equal(reg.issues().length, 1);
  assert.match(reg.issues()[0]!.message, /already declared.*by ServiceEntry a/);
});

test('workloadEntryFromGroup builds an auto-registered entry', () => {
  const [g] = objectsFromYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm, namespace: ns}
spec: {metadata: {labels: {app: vm}}, template: {serviceAccount: sa, labels: {v: "2"}}}
`);
  const we = workloadEntryFromGroup(g!, '10.0.0.7');
  assert.equal(we.metadata.name, 'vm-10-0-0-7');
  assert.equal(we.metadata.annotations?.['istio.io/autoRegistrationGroup'], 'vm');
  assert.deepEqual(we.spec.labels, { app: 'vm', v: '2' });
  assert.equal(we.spec.serviceAccount, 'sa');
  assert.equal(we.spec.address, '10.0.0.7');
});
