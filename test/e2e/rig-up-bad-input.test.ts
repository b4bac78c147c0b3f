// e2e (issue 4): `rig up` on bad input — a workload whose command does not exist, a port already in use, an invalid
// config file — prints one clear message naming the workload, port or file, exits 1, and leaves nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRig, RIG_UP_ANY_PORTS } from '../helpers/processes.ts';

function meshDir(workloads: string, config: Record<string, string>): { dir: string; marker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rig-up-bad-'));
  const marker = `rig-e2e-marker-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'rig.yaml'), `apiVersion: local.rigging.dev/v1alpha1
kind: Mesh
metadata: {name: bad}
spec:
  workloads:
  - name: good
    labels: {app: good}
    ports: {http: 9080}
    command: [node, -e, "setInterval(() => {}, 1000)", ${marker}]
${workloads}`);
  mkdirSync(join(dir, 'config'));
  for (const [f, text] of Object.entries(config)) writeFileSync(join(dir, 'config', f), text);
  return { dir, marker };
}

/** Processes whose command line holds the marker: a workload left behind. */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) out.push(Number(p)); } catch { /* gone */ }
  }
  return out;
}

test('a workload whose command does not exist: named in one message, nothing started', async () => {
  const { dir, marker } = meshDir(`  - name: broken
    labels: {app: broken}
    ports: {http: 9080}
    command: [rig-no-such-command-xyz, --serve]
`, {});
  try {
    const r = await runRig(['up', dir, ...RIG_UP_ANY_PORTS], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /workload broken: command "rig-no-such-command-xyz" not found \(rig\.yaml spec\.workloads\[1\]\.command/);
    assert.deepEqual(processesWith(marker), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port already in use: named with its flag, nothing started', async () => {
  const { dir, marker } = meshDir('', {});
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runRig(['up', dir, '--ingress-port', String(port), '--control-plane-port', '0', '--debug-port', '0'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} \\(--ingress-port\\) is already in use`));
    assert.deepEqual(processesWith(marker), []);
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid config file: named with the field, nothing started', async () => {
  const { dir, marker } = meshDir('', {
    'routes.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
      weight: -10
`,
  });
  try {
    const r = await runRig(['up', dir, ...RIG_UP_ANY_PORTS], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /invalid configuration, nothing started/);
    assert.match(r.stderr, /routes\.yaml.*spec\.http\[0\]\.route\[0\]\.weight/);
    assert.deepEqual(processesWith(marker), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid rig.yaml: every problem with its field path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-up-bad-'));
  writeFileSync(join(dir, 'rig.yaml'), 'apiVersion: local.rigging.dev/v1alpha1\nkind: Mesh\nspec:\n  workloads:\n  - name: x\n    ports: {http: nope}\n');
  try {
    const r = await runRig(['up', dir, ...RIG_UP_ANY_PORTS], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /spec\.workloads\[0\]\.command/);
    assert.match(r.stderr, /spec\.workloads\[0\]\.ports\.http/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
