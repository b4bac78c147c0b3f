// local: tests for the rig.yaml reader — a good manifest, and bad ones reported with their field paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from './manifest.ts';

function withManifest(text: string | undefined, fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'rig-manifest-'));
  try {
    if (text !== undefined) writeFileSync(join(dir, 'rig.yaml'), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reads the Bookinfo manifest shipped in examples/', () => {
  const { mesh, issues } = readManifest('examples/bookinfo');
  assert.deepEqual(issues, []);
  assert.ok(mesh);
  assert.equal(mesh.workloads.length, 6);
  const r2 = mesh.workloads.find((w) => w.name === 'reviews-v2')!;
  assert.deepEqual(r2.labels, { app: 'reviews', version: 'v2' });
  assert.deepEqual(r2.ports, { http: 9080 });
  assert.equal(r2.env.VERSION, 'v2');
  assert.equal(r2.namespace, 'default');
  assert.equal(r2.sidecar, true);
  assert.deepEqual(mesh.ingress?.labels, { istio: 'ingressgateway', app: 'istio-ingressgateway' });
});

test('a missing manifest says where it looked and what to do', () => {
  withManifest(undefined, (dir) => {
    const { mesh, issues } = readManifest(dir);
    assert.equal(mesh, undefined);
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /cannot read the mesh manifest.*rig\.yaml/);
  });
});

test('every problem is reported with its field path, none thrown', () => {
  withManifest(`apiVersion: local.rigging.dev/v1alpha1
kind: Mesh
metadata: {name: t}
spec:
  workloads:
  - name: Bad_Name
    ports: {http: 70000}
    labels: {version: v1}
  - name: ok
    command: [node, app.js]
    ports: {http: 8080}
    labels: {app: ok}
  - name: ok
    command: node app.js
    ports: {http: 8081}
    labels: {app: ok}
`, (dir) => {
    const { mesh, issues } = readManifest(dir);
    assert.equal(mesh, undefined);
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'spec.workloads[0].command', 'spec.workloads[0].labels.app', 'spec.workloads[0].name', 'spec.workloads[0].ports.http', 'spec.workloads[2].name',
    ]);
    assert.ok(issues.every((i) => i.file?.endsWith('rig.yaml')));
    assert.match(issues.find((i) => i.path === 'spec.workloads[2].name')!.message, /duplicate/);
  });
});

test('a YAML syntax error is one parse issue', () => {
  withManifest('spec: [unclosed', (dir) => {
    const { mesh, issues } = readManifest(dir);
    assert.equal(mesh, undefined);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'RIG101');
  });
});
