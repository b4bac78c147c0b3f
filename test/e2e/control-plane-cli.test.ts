// test/e2e: `rig control-plane` as a user runs it — prints where it listens, serves the debug API, stops
// cleanly on SIGINT/SIGTERM (exit 0, ports released); `rig proxy-status` errors clearly when unreachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startRig, runRig } from '../helpers/processes.ts';
import { freePort } from '../helpers/ports.ts';
import { RawAdsClient, makeNode, namesOf } from '../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';

const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`control-plane serves, then stops on ${signal} with exit 0 and its ports released`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rig-cp-cli-'));
    writeFileSync(join(dir, 'se.yaml'), se);
    const cp = startRig(['control-plane', '--config', dir, '--xds-port', '0', '--debug-port', '0']);
    try {
      const xds = Number((await cp.waitFor(/xDS \(ADS gRPC\) listening on 127\.0\.0\.1:(\d+)/))[1]);
      const debug = Number((await cp.waitFor(/debug API listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
      assert.ok(xds > 0 && debug > 0 && xds !== debug);
      assert.equal((await fetch(`http://127.0.0.1:${debug}/ready`)).status, 200);
      const configz = await (await fetch(`http://127.0.0.1:${debug}/debug/configz`)).json() as { objects: { kind: string }[] };
      assert.deepEqual(configz.objects.map((o) => o.kind), ['ServiceEntry']);
      const ps = await runRig(['proxy-status', '--debug-addr', `127.0.0.1:${debug}`]);
      assert.equal(ps.code, 0);
      assert.match(ps.stdout, /no proxies connected/);
      // A connected proxy gets its clusters, and its stream is closed when the control plane stops.
      const c = new RawAdsClient(`127.0.0.1:${xds}`);
      try {
        c.send({ node: makeNode('sidecar~127.0.0.1~app.default~default.svc.cluster.local'), type_url: TypeUrl.Cluster });
        const r = await c.next(5000);
        assert.ok(namesOf(r?.resources).includes('outbound|80||api.default.svc.cluster.local'));
        assert.equal(await cp.stop(signal), 0, cp.stderr.join('\n'));
        await c.waitEnd(3000);
        assert.ok(c.ended || c.status, 'the proxy stream was closed');
      } finally { c.close(); }
      assert.ok(await canBind(xds), 'xDS port released');
      assert.ok(await canBind(debug), 'debug port released');
    } finally {
      await cp.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('proxy-status / proxy-config: unreachable control plane -> exit 2 naming the address', async () => {
  const port = await freePort();
  const r = await runRig(['proxy-status', '--debug-addr', `127.0.0.1:${port}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(r.stderr, /--debug-addr/);
  const c = await runRig(['proxy-config', 'x.default', 'clusters', '--debug-addr', `127.0.0.1:${port}`]);
  assert.equal(c.code, 2);
  const bad = await runRig(['proxy-config', 'x.default', 'bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not one of listeners, routes, clusters, endpoints/);
});

test('control-plane: a missing config directory is a usage error (exit 2)', async () => {
  const r = await runRig(['control-plane', '--config', join(tmpdir(), 'rig-no-such-dir-x'), '--xds-port', '0', '--debug-port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config .*rig-no-such-dir-x/);
});
