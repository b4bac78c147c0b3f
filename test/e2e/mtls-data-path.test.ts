// e2e (mesh mTLS data path): real `rig control-plane` + two `rig proxy` sidecars with auto mTLS. Request bodies far
// larger than a read buffer cross the TLS leg intact (the client sidecar reads them into reused buffers and writes
// them to the TLS socket, whose queue once kept slices of those buffers), and sequential requests reuse one pooled
// TLS connection between the sidecars instead of dialling (and handshaking) again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';

/** A body whose every 4 KB block differs, so a block written twice or out of place shows. */
function patterned(bytes: number, seed: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `${seed}:${i}:`.padEnd(64, String.fromCharCode(97 + ((i + seed) % 26)));
  return s.slice(0, bytes);
}

test('mTLS between sidecars: large bodies arrive intact; sequential requests reuse one TLS connection', { timeout: 60_000 }, async () => {
  const app: TestApp = await startApp('server');
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: serviceEntry('server'),
      workloads: [
        { name: 'client', labels: { app: 'client' }, serviceAccount: 'client-sa' },
        { name: 'server', labels: { app: 'server' }, serviceAccount: 'server-sa', app },
      ],
    });
    const first = await mesh.waitRoutable('client', 'http://server:9080/warm', 20_000);
    assert.match(String(first.json!.headers['x-forwarded-client-cert'] ?? ''), /URI=spiffe:\/\/cluster.local\/ns\/default\/sa\/client-sa$/, 'went over mTLS');
    const connsBefore = await mesh.stat('server', 'rig.downstream_cx_total');
    assert.ok(connsBefore >= 1, `server sidecar connections ${connsBefore}`);

    for (let i = 0; i < 20; i++) {
      const r = await mesh.request('client', `http://server:9080/seq/${i}`);
      assert.equal(r.status, 200);
    }
    for (const size of [64 * 1024 + 7, 300 * 1024 + 153]) {
      const body = patterned(size, size % 97);
      const r = await mesh.request('client', `http://server:9080/upload/${size}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      assert.equal(r.status, 200);
      const seen = app.seen.find((s) => s.url === `/upload/${size}`);
      assert.ok(seen, `app saw /upload/${size}`);
      assert.equal(seen.body.length, body.length, 'body length');
      assert.ok(seen.body === body, `body of ${size} bytes arrived altered`);
    }
    // one request at a time: the client sidecar's pool had an idle TLS connection for every one of them
    const connsAfter = await mesh.stat('server', 'rig.downstream_cx_total');
    assert.equal(connsAfter - connsBefore, 0, `new TLS connections between the sidecars: ${connsAfter - connsBefore}`);
  } finally {
    await mesh?.stop();
    await app.close();
  }
});
