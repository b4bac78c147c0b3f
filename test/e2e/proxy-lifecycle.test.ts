// e2e (issue 3, data plane): process lifecycle under load — the control plane restarts in the middle of load and
// no request is lost (proxies keep their last good config and reconnect, then take new pushes); SIGTERM to a
// sidecar under load loses no request it accepted (drain) and it exits within the drain period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { Mesh, serviceEntry, type MeshResponse } from '../helpers/mesh.ts';
import { startApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const DRAIN_MS = 3000;

function vs(header: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: server, namespace: default}
spec:
  hosts: [server]
  http:
  - route: [{destination: {host: server}}]
    headers: {request: {set: {x-config: ${header}}}}
`;
}

interface LoadResult { ok: number; failures: string[]; refused: number }

/** `workers` loops sending requests from the client sidecar until stop() (bounded by maxEach per worker). */
function runLoad(m: Mesh, workers: number, maxEach: number, agent: Agent) {
  const res: LoadResult = { ok: 0, failures: [], refused: 0 };
  let stopped = false;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; i < maxEach && !stopped; i++) {
      try {
        const r: MeshResponse = await m.request('client', `http://server:9080/w${w}/${i}`, { agent, timeoutMs: 10_000 });
        if (r.status === 200 && r.json?.url === `/w${w}/${i}`) res.ok++;
        else res.failures.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) {
        // Refused: the request never reached the proxy (its listener is closed) — not accepted, so not lost.
        if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') { res.refused++; stopped = true; } else res.failures.push(`transport: ${(e as Error).message}`);
      }
    }
  });
  return { res, stop: async () => { stopped = true; await Promise.all(loops); } };
}

test('lifecycle under load: control-plane restart, sidecar SIGTERM drain', { timeout: 90_000 }, async (t) => {
  const app = await startApp('server-1', { delayMs: 20 });
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: serviceEntry('server') + vs('one'),
      drainMs: DRAIN_MS,
      workloads: [
        { name: 'client', labels: { app: 'client' } },
        { name: 'server-1', labels: { app: 'server' }, app },
      ],
    });
    const m = mesh;
    await m.waitRoutable('client', 'http://server:9080/', 15_000, (r) => r.json?.headers['x-config'] === 'one');

    await t.test('a control-plane restart in the middle of load loses no request; proxies reconnect and take new config', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const load = runLoad(m, 4, 5000, agent);
      await new Promise((r) => setTimeout(r, 300));
      const before = load.res.ok;
      assert.equal(await m.stopControlPlane('SIGTERM'), 0);
      // Proxies serve on their last good config while the control plane is gone.
      const downAt = load.res.ok;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(load.res.ok > downAt + 10, `requests kept flowing with the control plane down (${load.res.ok - downAt})`);
      // A config change while it is down is picked up by the new control plane and pushed on reconnect.
      m.writeConfig('mesh.yaml', serviceEntry('server') + vs('two'));
      await m.startControlPlane();
      await poll(async () => (await m.request('client', 'http://server:9080/probe', { agent })).json?.headers['x-config'] === 'two', 20_000, 100);
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      agent.destroy();
      assert.deepEqual(load.res.failures, [], 'no request failed');
      assert.equal(load.res.refused, 0);
      assert.ok(load.res.ok > before + 50, `${load.res.ok} requests served`);
      // Both proxies reconnect to the new control plane (each on its own backoff).
      await poll(async () => {
        const syncz = await (await fetch(`http://127.0.0.1:${m.debugPort}/debug/syncz`)).text();
        return syncz.includes(m.w('client').nodeId) && syncz.includes(m.w('server-1').nodeId);
      }, 15_000, 100);
    });

    await t.test('SIGTERM to a sidecar under load: every accepted request completes, it exits within the drain period', async () => {
      app.set({ delayMs: 300 });
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const load = runLoad(m, 8, 200, agent);
      await poll(() => app.inFlight >= 4, 5000, 10);
      const client = m.w('client').proxy;
      const termAt = Date.now();
      client.child.kill('SIGTERM');
      const code = await Promise.race([client.exited, new Promise<string>((r) => setTimeout(() => r('still running'), DRAIN_MS + 2000))]);
      const exitMs = Date.now() - termAt;
      await load.stop();
      agent.destroy();
      assert.equal(code, 0, `exit code (${exitMs} ms after SIGTERM)`);
      assert.ok(exitMs <= DRAIN_MS + 1000, `exited ${exitMs} ms after SIGTERM (drain ${DRAIN_MS} ms)`);
      assert.deepEqual(load.res.failures, [], 'no accepted request was lost');
      assert.ok(load.res.ok >= 4, `${load.res.ok} requests completed`);
      assert.ok(load.res.refused >= 1, 'after SIGTERM new connections are refused');
    });
  } finally {
    await mesh?.stop();
    await app.close();
  }
});
