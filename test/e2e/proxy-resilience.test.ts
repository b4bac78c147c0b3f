// e2e (issue 3, data plane): resilience policies on real traffic through real processes — a VirtualService retry
// policy's attempts counted at the app (x-envoy-attempt-count), a DestinationRule circuit breaker rejecting with
// 503 UO while slow requests hold its capacity, and outlier detection ejecting a 5xx endpoint and bringing it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { Mesh, serviceEntry, type MeshResponse } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const CONFIG = serviceEntry('retry') + serviceEntry('cb') + serviceEntry('cb2') + serviceEntry('od') + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: retry, namespace: default}
spec:
  hosts: [retry]
  http:
  - route: [{destination: {host: retry}}]
    retries: {attempts: 3, retryOn: 5xx, perTryTimeout: 5s}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cb, namespace: default}
spec:
  host: cb
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, http2MaxRequests: 100}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cb2, namespace: default}
spec:
  host: cb2
  trafficPolicy:
    connectionPool:
      http: {http2MaxRequests: 2}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: od, namespace: default}
spec:
  hosts: [od]
  http:
  - route: [{destination: {host: od}}]
    retries: {attempts: 0}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: od, namespace: default}
spec:
  host: od
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 3, interval: 100ms, baseEjectionTime: 2s, maxEjectionPercent: 50}
`;

test('resilience policies through real sidecars', { timeout: 90_000 }, async (t) => {
  const retryApp = await startApp('retry-1');
  const cbApp = await startApp('cb-1');
  const cb2App = await startApp('cb2-1');
  const good = await startApp('od-good');
  const bad = await startApp('od-bad');
  const apps: TestApp[] = [retryApp, cbApp, cb2App, good, bad];
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: CONFIG,
      workloads: [
        { name: 'client', labels: { app: 'client' } },
        { name: 'retry-1', labels: { app: 'retry' }, app: retryApp },
        { name: 'cb-1', labels: { app: 'cb' }, app: cbApp },
        { name: 'cb2-1', labels: { app: 'cb2' }, app: cb2App },
        { name: 'od-good', labels: { app: 'od' }, app: good },
        { name: 'od-bad', labels: { app: 'od' }, app: bad },
      ],
    });
    const m = mesh;
    await Promise.all([m.waitRoutable('client', 'http://retry:9080/'), m.waitRoutable('client', 'http://cb:9080/'), m.waitRoutable('client', 'http://cb2:9080/')]);
    await poll(async () => { await m.request('client', 'http://od:9080/warm'); await m.request('client', 'http://od:9080/warm'); return good.count > 0 && bad.count > 0; }, 15_000, 50);

    await t.test('retries: the app sees every attempt, numbered by x-envoy-attempt-count', async () => {
      retryApp.reset();
      retryApp.set({ failFirst: 2, failStatus: 503 });
      const r = await m.request('client', 'http://retry:9080/flaky');
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json?.app, 'retry-1');
      assert.equal(retryApp.count, 3, 'two failed attempts and the successful one reached the app');
      assert.deepEqual(retryApp.seen.map((s) => s.headers['x-envoy-attempt-count']), ['1', '2', '3']);
      assert.ok(await m.stat('client', 'rig.upstream_rq_retry') >= 2);

      // More failures than the policy allows: the caller gets the app's 503 with URX, after 1 + 3 attempts.
      retryApp.reset();
      retryApp.set({ failFirst: 10, failStatus: 503 });
      const gaveUp = await m.request('client', 'http://retry:9080/down');
      assert.equal(gaveUp.status, 503);
      assert.equal(retryApp.count, 4);
      const line = await poll(() => m.flagged('client').find((l) => l.path === '/down'), 5000);
      assert.equal(line.flags, 'URX');
      retryApp.set({});
    });

    await t.test('circuit breaker: past maxConnections 1 + http1MaxPendingRequests 1, requests get 503 UO while slow ones hold the capacity', async () => {
      cbApp.reset();
      cbApp.set({ delayMs: 1000 });
      const agent = new Agent({ keepAlive: false, maxSockets: 20 });
      const all = Array.from({ length: 8 }, (_, i) => m.request('client', `http://cb:9080/slow${i}`, { agent, timeoutMs: 15_000 }).catch((e: Error) => `error: ${e.message}`));
      const res = await Promise.all(all);
      agent.destroy();
      cbApp.set({});
      const ok = res.filter((r): r is MeshResponse => typeof r !== 'string' && r.status === 200);
      const rejected = res.filter((r): r is MeshResponse => typeof r !== 'string' && r.status === 503);
      assert.equal(ok.length + rejected.length, 8, JSON.stringify(res.map((r) => (typeof r === 'string' ? r : r.status))));
      // One request on the one connection, one pending behind it and served next on that connection; the rest overflow.
      assert.equal(ok.length, 2, `${ok.length} got through`);
      assert.equal(rejected.length, 6);
      assert.equal(cbApp.maxInFlight, 1, 'one request at the app at a time');
      const uo = await poll(() => { const l = m.flagged('client').filter((x) => x.path.startsWith('/slow') && x.status === 503); return l.length >= rejected.length ? l : undefined; }, 5000);
      for (const l of uo) {
        assert.equal(l.flags, 'UO');
        assert.equal(l.cluster, 'outbound|9080||cb.default.svc.cluster.local');
        assert.match(l.explanation ?? '', /circuit breaker of outbound\|9080\|\|cb\.default\.svc\.cluster\.local/);
      }
      assert.ok(await m.stat('client', 'rig.upstream_rq_pending_overflow') >= rejected.length);
      // Capacity is back once the slow requests finished.
      const after = await m.request('client', 'http://cb:9080/after');
      assert.equal(after.status, 200);
    });

    await t.test('circuit breaker: http2MaxRequests 2 lets two requests in at a time, the rest get 503 UO', async () => {
      cb2App.reset();
      cb2App.set({ delayMs: 800 });
      const agent = new Agent({ keepAlive: false, maxSockets: 20 });
      const res = await Promise.all(Array.from({ length: 8 }, (_, i) => m.request('client', `http://cb2:9080/slow${i}`, { agent, timeoutMs: 15_000 }).catch((e: Error) => `error: ${e.message}`)));
      agent.destroy();
      cb2App.set({});
      const statuses = res.map((r) => (typeof r === 'string' ? r : r.status));
      assert.equal(statuses.filter((s) => s === 200).length, 2, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 503).length, 6, JSON.stringify(statuses));
      assert.equal(cb2App.maxInFlight, 2);
      const uo = await poll(() => { const l = m.flagged('client').filter((x) => x.cluster === 'outbound|9080||cb2.default.svc.cluster.local'); return l.length >= 6 ? l : undefined; }, 5000);
      for (const l of uo) { assert.equal(l.flags, 'UO'); assert.match(l.explanation ?? '', /max_requests/); }
    });

    await t.test('outlier detection: a 5xx endpoint is ejected, gets no traffic while ejected, then comes back', async () => {
      good.reset(); bad.reset();
      bad.set({ alwaysStatus: 500 });
      // Round robin: the bad endpoint sees every other request until its third consecutive 5xx ejects it.
      const first: number[] = [];
      for (let i = 0; i < 10; i++) first.push((await m.request('client', `http://od:9080/a${i}`)).status);
      assert.equal(bad.count, 3, `bad endpoint saw ${bad.count} requests before ejection (statuses ${first.join(',')})`);
      // Ejected right after its third 5xx: time the ejection from when the app saw that request.
      const ejectedAt = bad.seen[2].at;
      const clusters = await m.admin('client', '/clusters');
      const badHost = `${m.w('od-bad').address}:9080`;
      assert.match(clusters, new RegExp(`outbound\\|9080\\|\\|od\\.default\\.svc\\.cluster\\.local::${badHost.replace(/\./g, '\\.')}::health_flags::/failed_outlier_check`));
      // While ejected (baseEjectionTime 2 s): no traffic to it, every request answered by the good one.
      bad.set({});
      bad.reset();
      const during: MeshResponse[] = [];
      while (Date.now() - ejectedAt < 1500) during.push(await m.request('client', `http://od:9080/b${during.length}`));
      assert.ok(during.length >= 10, `${during.length} requests during the ejection`);
      assert.equal(bad.count, 0, 'an ejected endpoint gets no traffic');
      assert.ok(during.every((r) => r.status === 200 && r.json?.app === 'od-good'));
      // After the ejection time (plus an interval) it takes traffic again.
      await poll(async () => { await m.request('client', 'http://od:9080/c'); return bad.count > 0; }, 8000, 50);
      const back = Date.now() - ejectedAt;
      assert.ok(back >= 1900, `came back after ${back} ms, not before baseEjectionTime`);
      assert.ok(back < 6000, `came back after ${back} ms`);
    });
  } finally {
    await mesh?.stop();
    await Promise.all(apps.map((a) => a.close()));
  }
});
