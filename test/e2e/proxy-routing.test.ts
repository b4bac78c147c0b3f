// e2e (issue 3, data plane): routing on real traffic through real processes — client app -> client sidecar ->
// server sidecars (v1/v2) -> apps: an 80/20 weighted split over 1,000 requests, a 100% abort (flag FI), a
// subset with no endpoints explained ("why did I get a 503?"), and a config push that changes routing for new
// requests without failing in-flight ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { Mesh, serviceEntry, type MeshResponse } from '../helpers/mesh.ts';
import { versionSubsets } from '../helpers/fixtures.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const DR = versionSubsets('server', ['v1', 'v2', 'v3']);

/** The VirtualService; `slowTo` is where requests marked x-test: slow go (the config push flips it). */
function vs(slowTo: 'v1' | 'v2'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: server, namespace: default}
spec:
  hosts: [server]
  http:
  - name: abort-all
    match: [{headers: {x-test: {exact: abort}}}]
    fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
    route: [{destination: {host: server, subset: v1}}]
  - name: to-empty-subset
    match: [{headers: {x-test: {exact: empty}}}]
    route: [{destination: {host: server, subset: v3}}]
  - name: slow
    match: [{headers: {x-test: {exact: slow}}}]
    route: [{destination: {host: server, subset: ${slowTo}}}]
  - name: fast
    match: [{headers: {x-test: {exact: fast}}}]
    route: [{destination: {host: server, subset: v2}}]
  - name: split
    route:
    - {destination: {host: server, subset: v1}, weight: 80}
    - {destination: {host: server, subset: v2}, weight: 20}
`;
}

const config = (slowTo: 'v1' | 'v2') => serviceEntry('server') + DR + vs(slowTo);
const URL_ = 'http://server:9080/';

/** Runs n requests with `concurrency` workers; returns every response (or the transport error text). */
async function load(mesh: Mesh, n: number, concurrency: number, headers: Record<string, string> = {}): Promise<(MeshResponse | string)[]> {
  const out: (MeshResponse | string)[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await mesh.request('client', `${URL_}r${i}`, { headers }).catch((e: Error) => `error: ${e.message}`);
    }
  }));
  return out;
}

/** The cluster of the route named `name` anywhere in a config_dump. */
function routeCluster(v: unknown, name: string): string | undefined {
  if (Array.isArray(v)) { for (const x of v) { const c = routeCluster(x, name); if (c) return c; } return undefined; }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.name === name && o.route && typeof o.route === 'object') return String((o.route as Record<string, unknown>).cluster);
  for (const x of Object.values(o)) { const c = routeCluster(x, name); if (c) return c; }
  return undefined;
}

test('routing through real sidecars', { timeout: 90_000 }, async (t) => {
  const v1 = await startApp('server-v1');
  const v2 = await startApp('server-v2');
  let mesh: Mesh | undefined;
  const apps: TestApp[] = [v1, v2];
  try {
    mesh = await Mesh.start({
      config: config('v1'),
      workloads: [
        { name: 'client', labels: { app: 'client' } },
        { name: 'server-v1', labels: { app: 'server', version: 'v1' }, app: v1 },
        { name: 'server-v2', labels: { app: 'server', version: 'v2' }, app: v2 },
      ],
    });
    const m = mesh;
    // Both subsets reachable before measuring (EDS for both clusters has arrived).
    await poll(async () => { await load(m, 20, 4); return v1.count > 0 && v2.count > 0; }, 15_000, 50);

    await t.test('80/20 weighted split over 1,000 requests', async () => {
      v1.reset(); v2.reset();
      const inboundBefore = (await m.stat('server-v1', 'rig.downstream_rq_total')) + (await m.stat('server-v2', 'rig.downstream_rq_total'));
      const res = await load(m, 1000, 8);
      const byApp: Record<string, number> = {};
      for (const r of res) {
        const k = typeof r === 'string' ? r : r.status === 200 ? r.json?.app ?? 'no-json' : `status ${r.status}`;
        byApp[k] = (byApp[k] ?? 0) + 1;
      }
      assert.deepEqual(Object.keys(byApp).sort(), ['server-v1', 'server-v2'], JSON.stringify(byApp));
      // Binomial(1000, 0.2): sd ~12.6 requests; ±50 is about 4 sd.
      const share = byApp['server-v2'] / 1000;
      assert.ok(Math.abs(share - 0.2) <= 0.05, `v2 share ${share} (${JSON.stringify(byApp)}) not within 0.20 ± 0.05`);
      // What the caller saw is what the apps saw, and every request passed through a server sidecar.
      assert.equal(v1.count, byApp['server-v1']);
      assert.equal(v2.count, byApp['server-v2']);
      const inboundAfter = (await m.stat('server-v1', 'rig.downstream_rq_total')) + (await m.stat('server-v2', 'rig.downstream_rq_total'));
      assert.equal(inboundAfter - inboundBefore, 1000, 'every request went through a server sidecar');
    });

    await t.test('a 100% abort answers the configured code with flag FI', async () => {
      v1.reset(); v2.reset();
      const faultsBefore = await m.stat('client', 'rig.fault_injected');
      const res = await load(m, 20, 4, { 'x-test': 'abort' });
      for (const r of res) {
        assert.ok(typeof r !== 'string', r as string);
        assert.equal(r.status, 418);
      }
      assert.equal(v1.count + v2.count, 0, 'no aborted request reached an app');
      assert.equal((await m.stat('client', 'rig.fault_injected')) - faultsBefore, 20);
      const lines = await poll(() => { const l = m.flagged('client').filter((x) => x.status === 418); return l.length >= 20 ? l : undefined; }, 5000);
      for (const l of lines) {
        assert.equal(l.flags, 'FI');
        assert.match(l.explanation ?? '', /fault injection aborted the request with HTTP 418/);
      }
      assert.equal(await m.stat('client', 'rig.response_flags.FI'), 20, 'the FI count is exposed in /stats');
    });

    await t.test('"why did I get a 503?": a subset with no endpoints answers 503 with UH/NR, naming route and cluster', async () => {
      const r = await m.request('client', `${URL_}empty`, { headers: { 'x-test': 'empty' } });
      assert.equal(r.status, 503);
      const line = await poll(() => m.flagged('client').find((x) => x.status === 503 && x.path === '/empty'), 5000);
      assert.match(line.flags, /^(UH|NR)$/);
      assert.equal(line.cluster, 'outbound|9080|v3|server.default.svc.cluster.local');
      assert.match(line.route, /to-empty-subset/);
      assert.match(line.explanation ?? '', /outbound\|9080\|v3\|server\.default\.svc\.cluster\.local/);
      assert.match(line.explanation ?? '', /to-empty-subset/);
      assert.match(line.explanation ?? '', /no endpoints/);
    });

    await t.test('a config push changes routing for new requests without failing in-flight ones', async () => {
      v1.set({ delayMs: 2500 });
      v1.reset(); v2.reset();
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      // In flight on v1 (slow) when the push arrives.
      const inflight = Array.from({ length: 8 }, (_, i) => m.request('client', `${URL_}inflight${i}`, { headers: { 'x-test': 'slow' }, agent, timeoutMs: 10_000 }).catch((e: Error) => `error: ${e.message}`));
      await poll(() => v1.inFlight === 8, 5000, 10);
      // Steady load on a route the push keeps (to v2, which answers at once) during the push.
      let stop = false;
      const steady: (MeshResponse | string)[] = [];
      const loader = (async () => { for (let i = 0; i < 2000 && !stop; i++) steady.push(await m.request('client', `${URL_}steady${i}`, { headers: { 'x-test': 'fast' } }).catch((e: Error) => `error: ${e.message}`)); })();
      const pushAt = Date.now();
      m.writeConfig('mesh.yaml', config('v2'));
      // The client sidecar has the new route (read from its admin config_dump, so no probe waits on slow v1) ...
      await poll(async () => routeCluster(JSON.parse(await m.admin('client', '/config_dump')), 'slow')?.includes('|v2|'), 10_000, 20);
      // ... and new x-test: slow requests now go to v2 while the old ones are still waiting on v1.
      const flipped = await m.request('client', `${URL_}new`, { headers: { 'x-test': 'slow' } });
      assert.equal(flipped.status, 200);
      assert.equal(flipped.json?.app, 'server-v2');
      assert.equal(v1.inFlight, 8, 'the push arrived while the requests were in flight (test timing)');
      const done = await Promise.all(inflight);
      stop = true;
      await loader;
      agent.destroy();
      v1.set({});
      assert.ok(steady.every((r) => typeof r === 'string' || r.json?.app === 'server-v2'));
      for (const r of done) {
        assert.ok(typeof r !== 'string', `in-flight request failed: ${r as string}`);
        assert.equal(r.status, 200);
        assert.equal(r.json?.app, 'server-v1');
      }
      const bad = steady.filter((r) => typeof r === 'string' || r.status !== 200);
      assert.deepEqual(bad, [], 'no request failed during the push');
      assert.ok(steady.length > 10, `steady load ran (${steady.length} requests)`);
    });
  } finally {
    await mesh?.stop();
    await Promise.all(apps.map((a) => a.close()));
  }
});
