// cli: `rig validate` run as a child process on a temp directory holding a good and a bad file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderText, validatePaths } from './validate.ts';
import { formatIssue } from '../../config/issues.ts';

const RIG = resolve(import.meta.dirname, '../../../bin/rig.js');

const GOOD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1}
spec: {}
`;
const BAD = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBINN}
`;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [RIG, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

test('rig validate: exit 0 on a good file, 1 with a located error on a bad one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rig-validate-'));
  try {
    await writeFile(join(dir, 'good.yaml'), GOOD);
    await writeFile(join(dir, 'bad.yaml'), BAD);

    const ok = await run(['validate', '-f', join(dir, 'good.yaml')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: 1 object\(s\) valid, 0 error\(s\)/m);
    assert.match(ok.stdout, /good\.yaml:1 Deployment default\/reviews-v1 \(document\): Kubernetes kind apps\/v1 Deployment is not used/);

    const bad = await run(['validate', '-f', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /Errors \(1\):\n {2}.*bad\.yaml:0 DestinationRule default\/ratings spec\.trafficPolicy\.loadBalancer\.simple: Unsupported value: "ROUND_ROBINN"/);
    assert.match(bad.stdout, /^INVALID: 1 object\(s\) valid, 1 error\(s\)/m);

    const json = await run(['validate', '-f', join(dir, 'bad.yaml'), '-f', join(dir, 'good.yaml'), '-o', 'json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { summary: { errors: number; valid: number }; errors: { path: string; document: number }[] };
    assert.deepEqual(report.summary.errors, 1);
    assert.equal(report.summary.valid, 1);
    assert.equal(report.errors[0]!.path, 'spec.trafficPolicy.loadBalancer.simple');
    assert.equal(report.errors[0]!.document, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rig validate: a missing path is an error, not a crash', async () => {
  const r = await run(['validate', '-f', join(tmpdir(), 'rig-validate-does-not-exist.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /cannot read: .*ENOENT.* \[RIG104\]/);
});

test('validatePaths reads stdin for "-" and renderText separates errors from warnings', async () => {
  const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [v]
  http:
  - route: [{destination: {host: v}}]
  - route: [{destination: {host: w}}]
`;
  const r = await validatePaths(['-'], async () => text);
  assert.equal(r.summary.errors, 0);
  assert.equal(r.warnings.length, 1);
  assert.equal(r.warnings[0]!.path, 'spec.http[1]');
  const out = renderText(r);
  assert.ok(!out.includes('Errors'));
  assert.match(out, /Warnings \(1\):\n {2}<stdin>:0 VirtualService default\/v spec\.http\[1\]: virtualService rule #1 not used/);
  assert.equal(formatIssue({ severity: 'error', code: 'RIG101', path: '', message: 'bad' }), '<input> (document): bad [RIG101]');
});

test('rig validate: usage errors exit 2, distinct from invalid configuration (1)', async () => {
  const none = await run(['validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /required option '-f, --filename <path>'/);
  const fmt = await run(['validate', '-f', 'x.yaml', '-o', 'xml']);
  assert.equal(fmt.code, 2);
  assert.match(fmt.stderr, /"xml" is not an output format/);
});
