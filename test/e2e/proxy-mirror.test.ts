// e2e (issue 3, data plane): traffic mirroring on real traffic — a VirtualService mirror sends a copy of every
// request to the mirror subset (host marked "-shadow"), while the caller only ever sees the primary's responses,
// even when the mirror fails or is slow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { versionSubsets } from '../helpers/fixtures.ts';
import { startApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const CONFIG = serviceEntry('server') + versionSubsets('server', ['v1', 'v2']) + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: server, namespace: default}
spec:
  hosts: [server]
  http:
  - route: [{destination: {host: server, subset: v1}}]
    mirror: {host: server, subset: v2}
    mirrorPercentage: {value: 100}
`;

test('mirror: the mirror subset receives copies, the caller sees only the primary', { timeout: 60_000 }, async () => {
  const primary = await startApp('server-v1');
  // The mirror answers slowly and with errors: neither may reach the caller.
  const mirror = await startApp('server-v2', { alwaysStatus: 500, delayMs: 800 });
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: CONFIG,
      workloads: [
        { name: 'client', labels: { app: 'client' } },
        { name: 'server-v1', labels: { app: 'server', version: 'v1' }, app: primary },
        { name: 'server-v2', labels: { app: 'server', version: 'v2' }, app: mirror },
      ],
    });
    const m = mesh;
    await m.waitRoutable('client', 'http://server:9080/warm');
    // The mirror cluster's endpoints may arrive a moment after the primary's.
    await poll(async () => { await m.request('client', 'http://server:9080/warm'); return mirror.count > 0; }, 10_000, 100);
    primary.reset(); mirror.reset();

    const n = 30;
    for (let i = 0; i < n; i++) {
      const started = Date.now();
      const r = await m.request('client', `http://server:9080/item/${i}?q=${i}`, { method: i % 2 ? 'POST' : 'GET', body: i % 2 ? `body-${i}` : undefined });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json?.app, 'server-v1', 'the caller sees the primary');
      assert.equal(r.headers['x-app'], 'server-v1');
      assert.ok(Date.now() - started < 700, 'the caller does not wait for the (slow) mirror');
    }
    // Copies of the warm-up requests may still trickle in: look at this batch only.
    const items = (app: typeof mirror) => app.seen.filter((s) => s.url.startsWith('/item/'));
    assert.equal(items(primary).length, n);
    await poll(() => items(mirror).length >= n, 10_000, 50);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(items(mirror).length, n, 'one copy per request');
    const paths = items(mirror).map((s) => s.url).sort();
    assert.deepEqual(paths, Array.from({ length: n }, (_, i) => `/item/${i}?q=${i}`).sort());
    assert.deepEqual(items(mirror).map((s) => `${s.method} ${s.url} ${s.body}`).sort(), items(primary).map((s) => `${s.method} ${s.url} ${s.body}`).sort(), 'same method, path and body');
    for (const s of items(mirror)) assert.match(s.host, /^server-shadow(:9080)?$/, `mirrored host ${s.host} is marked as a shadow`);
    // Copies carry the same request id as the primary request.
    const ids = new Set(items(primary).map((s) => s.headers['x-request-id']));
    for (const s of items(mirror)) assert.ok(ids.has(s.headers['x-request-id']), 'mirror copy shares the request id');
  } finally {
    await mesh?.stop();
    await primary.close();
    await mirror.close();
  }
});
