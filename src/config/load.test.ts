// config: tests for parsing multi-document YAML/JSON into ConfigObjects, kind handling and directory loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPath, parseConfigText, validateObject } from './load.ts';

const VS = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings}
`;

test('multi-document YAML: namespace defaults, source refs, empty documents keep their index', () => {
  const text = `---\n${VS}---\n# only a comment\n---\n${VS.replace('name: ratings', 'name: reviews\n  namespace: shop')}`;
  const r = parseConfigText(text, 'a.yaml');
  assert.deepEqual(r.issues, []);
  assert.equal(r.objects.length, 2);
  assert.deepEqual(r.objects.map((o) => [o.metadata.namespace, o.metadata.name, o.source?.document]), [['default', 'ratings', 0], ['shop', 'reviews', 2]]);
  assert.equal(r.objects[0]!.source?.file, 'a.yaml');
  assert.deepEqual(r.objects[0]!.spec.hosts, ['ratings']);
});

test('JSON documents, JSON arrays and List kinds each yield one object per item', () => {
  const one = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd' }, spec: { host: 'd' } };
  assert.equal(parseConfigText(JSON.stringify(one), 'x.json').objects.length, 1);
  const arr = parseConfigText(JSON.stringify([one, { ...one, metadata: { name: 'e' } }]), 'x.json');
  assert.deepEqual(arr.objects.map((o) => [o.metadata.name, o.source?.document]), [['d', 0], ['e', 1]]);
  const list = parseConfigText(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [one] }), 'l.json');
  assert.equal(list.objects.length, 1);
  assert.equal(list.objects[0]!.kind, 'DestinationRule');
});

test('a YAML syntax error is RIG101 for that document; later documents still load', () => {
  const r = parseConfigText(`a: [1, 2\n---\n${VS}`, 'bad.yaml');
  const parse = r.issues.filter((i) => i.code === 'RIG101');
  assert.equal(parse.length >= 1, true);
  assert.equal(parse[0]!.document, 0);
  assert.equal(parse[0]!.severity, 'error');
  assert.equal(r.objects.length, 1);
  assert.equal(r.objects[0]!.source?.document, 1);
  // One issue per broken document, however many follow-on problems the parser finds.
  const many = parseConfigText('a: {{ .Values.x }}\nb: [\n', 'tmpl.yaml');
  assert.equal(many.issues.length, 1);
  assert.match(many.issues[0]!.message, /at line \d+, column \d+/);
  // Keys must be plain values, as in JSON.
  const key = parseConfigText('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector:\n    ? [a, b]\n    : x\n', 'k.yaml');
  assert.deepEqual(key.issues.map((i) => [i.code, i.message]), [['RIG101', 'a mapping key must be a plain value, not a list or mapping (line 6)']]);
  // Non-object documents are rejected, not thrown.
  const scalar = parseConfigText('just a string', 's.yaml');
  assert.equal(scalar.objects.length, 0);
  assert.match(scalar.issues[0]!.message, /must be an object/);
});

test('Kubernetes kinds: used ones load (spec and extra), others are skipped with a notice, typos are errors', () => {
  const text = `apiVersion: v1
kind: Service
metadata: {name: ratings}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ratings}
subsets:
- addresses: [{ip: 10.0.0.7}]
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: example.org
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-settings}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ratings-v1}
spec: {replicas: 1}
---
apiVersion: local.rigging.dev/v1alpha1
kind: Mesh
metadata: {name: bookinfo}
---
apiVersion: v1
kind: Servce
metadata: {name: typo}
---
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: typo2}
spec: {}
`;
  const r = parseConfigText(text, 'k.yaml');
  assert.deepEqual(r.objects.map((o) => o.kind), ['Service', 'Endpoints', 'ConfigMap']);
  assert.deepEqual(r.objects[1]!.extra?.subsets, [{ addresses: [{ ip: '10.0.0.7' }], ports: [{ name: 'http', port: 9080 }] }]);
  assert.equal((r.objects[2]!.extra?.data as Record<string, string>).mesh, 'trustDomain: example.org\n');
  const notices = r.issues.filter((i) => i.severity === 'notice');
  assert.deepEqual(notices.map((i) => i.document), [3, 4, 5]);
  assert.match(notices[2]!.message, /local mesh manifest/);
  const errors = r.issues.filter((i) => i.severity === 'error');
  assert.deepEqual(errors.map((i) => [i.document, i.code]), [[6, 'RIG102'], [7, 'RIG102']]);
  assert.match(errors[0]!.message, /unknown kind "Servce".*known kinds: VirtualService/);
  assert.match(errors[1]!.message, /unknown version "v2" for VirtualService: known apiVersions are networking\.istio\.io\/v1, networking\.istio\.io\/v1beta1, networking\.istio\.io\/v1alpha3/);
});

test('Istio kinds: unknown top-level fields are errors, status is allowed, metadata is checked', () => {
  const r = parseConfigText(`${VS}status: {observedGeneration: 1}\n`, 's.yaml');
  assert.equal(r.objects.length, 1);
  const bad = parseConfigText(`${VS}extraField: 1\n`, 'e.yaml');
  assert.equal(bad.objects.length, 0);
  assert.deepEqual(bad.issues.map((i) => [i.path, i.kind, i.name]), [['extraField', 'VirtualService', 'default/ratings']]);
  const badName = parseConfigText(VS.replace('name: ratings', 'name: Ratings_1'), 'n.yaml');
  assert.equal(badName.issues[0]!.path, 'metadata.name');
  const noName = parseConfigText(VS.replace('  name: ratings\n', '  labels: {app: x}\n'), 'n.yaml');
  assert.equal(noName.issues[0]!.path, 'metadata.name');
});

test('go-yaml compatibility: an IPv6 address ending in "::" inside a flow sequence stays a string', () => {
  const r = parseConfigText(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: v6}
spec:
  hosts: [example.com]
  addresses: [1.2.3.4, 2001:db8::]
  resolution: STATIC
  endpoints: [{address: 1.2.3.4}]
`, 'v6.yaml');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.objects[0]?.spec.addresses, ['1.2.3.4', '2001:db8::']);
  // An explicit flow mapping is still a mapping.
  const m = parseConfigText('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: m}\nspec: {hosts: [a.com], addresses: [{a: }]}\n', 'm.yaml');
  assert.match(m.issues[0]!.message, /must be of type string, got object/);
});

test('validateObject reports the object source and never throws on odd input', () => {
  const issues = validateObject({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd', namespace: 'ns' }, spec: { host: 7 }, source: { file: 'f', document: 3 } });
  assert.deepEqual(issues.map((i) => [i.file, i.document, i.name, i.path]), [['f', 3, 'ns/d', 'spec.host']]);
  assert.doesNotThrow(() => validateObject(null as never));
  assert.equal(validateObject(null as never)[0]!.severity, 'error');
  assert.equal(validateObject({ kind: 'VirtualService' } as never)[0]!.path, 'apiVersion');
});

test('loadPath reads a directory recursively in sorted order, only config extensions; missing paths are RIG104', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rig-load-'));
  try {
    await mkdir(join(dir, 'b-sub'));
    await writeFile(join(dir, 'b-sub', 'z.yml'), VS.replace('name: ratings', 'name: three'));
    await writeFile(join(dir, 'a.yaml'), VS.replace('name: ratings', 'name: one'));
    await writeFile(join(dir, 'b.json'), JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'two' }, spec: { host: 'x' } }));
    await writeFile(join(dir, 'notes.txt'), 'not config');
    const r = await loadPath(dir);
    assert.deepEqual(r.issues, []);
    // Entries sort by name within each directory ("b-sub" < "b.json").
    assert.deepEqual(r.objects.map((o) => o.metadata.name), ['one', 'three', 'two']);
    assert.equal(r.objects[1]!.source?.file, join(dir, 'b-sub', 'z.yml'));
    const single = await loadPath(join(dir, 'a.yaml'));
    assert.equal(single.objects.length, 1);
    const missing = await loadPath(join(dir, 'nope'));
    assert.equal(missing.issues[0]!.code, 'RIG104');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
