// e2e (issue 4): `rig up examples/bookinfo` as a user runs it — productpage through the ingress, Istio's own
// Bookinfo routing samples applied with `rig apply` (80/20, jason to v2, ratings abort for jason), checked on real
// requests; then SIGINT, and nothing it started is still running, every port it used is free again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startRig, printTail, rigApply, poll, repoRoot, rigUpAddresses, RIG_UP_ANY_PORTS } from '../helpers/processes.ts';
import { portIsFree } from '../../src/local/ports.ts';

const conformance = resolve(repoRoot, '..', 'shared', 'conformance', 'istio', 'bookinfo');
const haveConformance = existsSync(conformance);
/** Istio's sample when the conformance folder is there (CI has it), else our own scenario with the same effect. */
const sample = (istio: string, ours: string) => haveConformance ? join(conformance, istio) : join(repoRoot, 'examples', 'bookinfo', 'scenarios', ours);

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: r.status, text: await r.text() };
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('rig up examples/bookinfo: ingress, routing scenarios, clean stop', { timeout: 180_000 }, async (t) => {
  const up = startRig(['up', 'examples/bookinfo', ...RIG_UP_ANY_PORTS], { env: { RIG_LOG_LEVEL: 'warn' } });
  try {
    const { ingress, api } = await rigUpAddresses(up, 90_000);
    const status = (await (await fetch(`${api}/v1/status`)).json()) as {
      xds: string; debug: string; ingressPid?: number;
      workloads: { name: string; address: string; appPid?: number; sidecarPid?: number; appPort: number; adminPort?: number }[];
    };
    assert.equal(status.workloads.length, 6);

    // productpage through the ingress gateway. rig up said ready only once every proxy had bound its ports, so this
    // answers at once; the bounded retry covers a first request meeting a push in flight. A failure names the last
    // answer (a 404 here once meant another process held the ingress port).
    const page = await poll(async () => {
      const r = await get(`${ingress}/productpage`);
      if (r.status !== 200) throw new Error(`last answer ${r.status}: ${r.text.slice(0, 200)}`);
      return r;
    }, 30_000, 250);
    assert.match(page.text, /The Comedy of Errors/);
    assert.match(page.text, /Reviews served by: <b>reviews-v[123]<\/b>/);
    assert.match(page.text, /Book Details/);
    assert.doesNotMatch(page.text, /currently unavailable/);

    const versions = async (n: number, user?: string) => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const r = await get(`${ingress}/api/v1/products/0/reviews${user ? `?u=${user}` : ''}`);
        assert.equal(r.status, 200, r.text);
        const body = JSON.parse(r.text) as { version?: string; error?: string; reviews?: { rating?: { error?: string; color?: string } }[] };
        const v = body.version ?? `error:${body.error}`;
        counts[v] = (counts[v] ?? 0) + 1;
      }
      return counts;
    };
    const apply = (file: string) => rigApply(api, file);

    await t.test('80/20: reviews v1 and v2 split 80/20', async () => {
      await apply(sample('destination-rule-all.yaml', '1-all-v1.yaml'));
      await apply(sample('virtual-service-all-v1.yaml', '1-all-v1.yaml'));
      await poll(async () => { const c = await versions(10); return c.v1 === 10; }, 15_000, 200);
      await apply(sample('virtual-service-reviews-80-20.yaml', '3-reviews-80-20.yaml'));
      await poll(async () => { const c = await versions(20); return (c.v2 ?? 0) > 0; }, 15_000, 200);
      const n = 400;
      const c = await versions(n);
      assert.deepEqual(Object.keys(c).sort(), ['v1', 'v2'], JSON.stringify(c));
      const share = c.v2 / n;
      assert.ok(Math.abs(share - 0.2) <= 0.07, `v2 share ${share} (${JSON.stringify(c)}) not within 0.20 ± 0.07`);
    });

    await t.test('jason sees v2, everybody else v1', async () => {
      await apply(sample('virtual-service-reviews-test-v2.yaml', '5-jason-v2.yaml'));
      await poll(async () => (await versions(12, 'jason')).v2 === 12, 15_000, 200);
      assert.deepEqual(await versions(20, 'jason'), { v2: 20 });
      assert.deepEqual(await versions(20), { v1: 20 });
      const p = await get(`${ingress}/productpage?u=jason`);
      assert.match(p.text, /signed in as <b>jason<\/b>/);
      assert.match(p.text, /style="color:black"/);
    });

    await t.test('ratings abort for jason: his reviews say ratings are unavailable, others see stars', async () => {
      await apply(sample('virtual-service-ratings-test-abort.yaml', '7-ratings-abort-jason.yaml'));
      await poll(async () => (await get(`${ingress}/productpage?u=jason`)).text.includes('Ratings service is currently unavailable'), 15_000, 200);
      // other users on v2 still get stars: route everyone to v2 and look
      const others = await get(`${ingress}/api/v1/products/0/reviews?u=someone`);
      assert.equal(others.status, 200);
      assert.doesNotMatch(others.text, /unavailable/);
    });

    // Ctrl-C: everything stops, every port is released
    const pids = [...status.workloads.flatMap((w) => [w.appPid, w.sidecarPid]), status.ingressPid].filter((p): p is number => typeof p === 'number');
    assert.ok(pids.length >= 13, `expected 6 apps + 6 sidecars + ingress, got pids ${pids}`);
    const ports: [string, number][] = [
      ['127.0.0.1', Number(new URL(ingress).port)], ['127.0.0.1', Number(new URL(api).port)],
      ['127.0.0.1', Number(status.xds.split(':')[1])], ['127.0.0.1', Number(status.debug.split(':')[1])],
      ...status.workloads.map((w): [string, number] => [w.address, 9080]),
      ...status.workloads.map((w): [string, number] => ['127.0.0.1', w.appPort]),
    ];
    const code = await up.stop('SIGINT', 20_000);
    assert.equal(code, 0, up.stdout.slice(-20).join('\n'));
    await poll(() => pids.every((p) => !alive(p)), 5000);
    for (const [host, port] of ports) assert.ok(await portIsFree(port, host), `port ${host}:${port} still in use after rig up stopped`);
  } catch (e) {
    // what the mesh printed is the first thing to read when this fails
    printTail(up);
    throw e;
  } finally {
    await up.stop('SIGINT', 20_000);
  }
});
