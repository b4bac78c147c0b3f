// e2e (issue 4): a running `rig up` mesh applies edits of its config directory live, keeps its last good config when
// an edit is invalid (and says which file), and restarts a workload that crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, printTail, poll, rigUpAddresses, RIG_UP_ANY_PORTS } from '../helpers/processes.ts';

const APP = `const http = require('node:http');
http.createServer((req, res) => { res.end(process.env.WORKLOAD_NAME + ' ' + process.env.VERSION); })
  .listen(Number(process.env.PORT), process.env.HOST);`;

function meshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rig-up-live-'));
  writeFileSync(join(dir, 'app.js'), APP);
  const wl = (v: string) => `  - name: web-${v}
    labels: {app: web, version: ${v}}
    ports: {http: 8000}
    env: {VERSION: ${v}}
    command: [node, app.js]
`;
  writeFileSync(join(dir, 'rig.yaml'), `apiVersion: local.rigging.dev/v1alpha1
kind: Mesh
metadata: {name: live}
spec:
  ingress: {}
  workloads:
${wl('v1')}${wl('v2')}`);
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8000, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: web}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
`);
  writeFileSync(join(dir, 'config', 'route.yaml'), route());
  return dir;
}

/** The ingress route: to every web endpoint, or to one subset. */
const route = (subset?: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web-ingress}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: web, ${subset ? `subset: ${subset}, ` : ''}port: {number: 8000}}}]}]
`;

async function hits(url: string, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const t = r.status === 200 ? (await r.text()).split(' ')[1] : `status ${r.status}`;
    out[t] = (out[t] ?? 0) + 1;
  }
  return out;
}

test('rig up: live config edits, invalid edit keeps the last good config, crashed workload restarts', { timeout: 120_000 }, async () => {
  const dir = meshDir();
  const up = startRig(['up', dir, ...RIG_UP_ANY_PORTS], { env: { RIG_LOG_LEVEL: 'warn' } });
  try {
    const addrs = await rigUpAddresses(up, 60_000);
    const ingress = addrs.ingress + '/';
    const api = addrs.api;
    // both versions serve at first
    await poll(async () => { const c = await hits(ingress, 10); return c.v1 && c.v2; }, 20_000, 200);

    // an edit of a file in the config directory applies live
    writeFileSync(join(dir, 'config', 'route.yaml'), route('v2'));
    // 20 in a row: the default balancer is random-ish (least request), so a short streak could be luck
    await poll(async () => (await hits(ingress, 20)).v2 === 20, 20_000, 200);
    assert.deepEqual(await hits(ingress, 20), { v2: 20 });

    // an invalid edit is reported with the file, and routing keeps the last good version
    writeFileSync(join(dir, 'config', 'route.yaml'), route('v1').replace('subset: v1', 'subset: v1, weight: -3'));
    await up.waitFor(/route\.yaml.*weight/, 20_000);
    assert.deepEqual(await hits(ingress, 20), { v2: 20 });

    // fixing it applies
    writeFileSync(join(dir, 'config', 'route.yaml'), route('v1'));
    await poll(async () => (await hits(ingress, 20)).v1 === 20, 20_000, 200);

    // a crashed workload is restarted and serves again
    const status = async () => (await (await fetch(`${api}/v1/status`)).json()) as { workloads: { name: string; appPid?: number; app?: string }[] };
    const before = (await status()).workloads.find((w) => w.name === 'web-v1')!;
    assert.ok(before.appPid);
    process.kill(before.appPid, 'SIGKILL');
    await up.waitFor(/web-v1\s+\| exited \(SIGKILL\); restarting/, 10_000);
    const after = await poll(async () => { const w = (await status()).workloads.find((x) => x.name === 'web-v1')!; return w.appPid && w.appPid !== before.appPid && w.app === 'running' ? w : undefined; }, 20_000, 200);
    assert.notEqual(after.appPid, before.appPid);
    await poll(async () => (await hits(ingress, 3)).v1 === 3, 20_000, 200);

    assert.equal(await up.stop('SIGINT', 20_000), 0);
  } catch (e) {
    printTail(up, 60);
    throw e;
  } finally {
    await up.stop('SIGINT', 20_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
