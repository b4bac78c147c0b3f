// test/proxy: a listener whose port is taken shows in the admin /config_dump as Envoy's error_state (UpdateFailureState:
// failed_configuration, last_update_attempt, details) with no active_state; a bound listener stays active.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { AdminServer } from '../../src/proxy/admin/server.ts';
import type { AdminProviders, XdsStatusProvider } from '../../src/proxy/admin/types.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { FakeClock } from '../../src/common/clock.ts';
import { httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const WALL = Date.UTC(2026, 0, 1);

async function dump(providers: AdminProviders, clock: FakeClock): Promise<Record<string, unknown>[]> {
  const admin = new AdminServer({ port: 0, providers, clock, wallNow: () => WALL });
  const port = await admin.start();
  try {
    const r = await fetch(`http://127.0.0.1:${port}/config_dump?resource=dynamic_listeners`);
    assert.equal(r.status, 200);
    return (await r.json() as { configs: Record<string, unknown>[] }).configs;
  } finally {
    await admin.close();
  }
}

test('/config_dump: an unbindable listener has error_state with the bind error and the listener it failed to add', async () => {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => squatter.close(() => r())));
  const taken = (squatter.address() as AddressInfo).port;

  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  const rc = routes('r', [{ prefix: '/', direct: { status: 200 } }]);
  const bad = { ...listener('busy', httpHandler(rc), taken), address: '127.0.0.1' };
  const good = listener('free', httpHandler(rc));
  const snap = snapshot([bad, good], []);
  await engine.apply(snap);
  assert.ok(engine.listenerStatus().find((l) => l.name === 'busy')?.error, 'the engine records the bind failure');

  const clock = new FakeClock(10_000);
  const raw = (name: string, port: number) => ({ name, address: { socket_address: { address: '127.0.0.1', port_value: port } } });
  const xds: XdsStatusProvider = {
    isReady: () => true,
    snapshot: () => snap,
    status: () => [{
      typeUrl: LDS, version: 'v7', nonce: 'n', received: true, subscribed: '*',
      resources: [{ name: 'busy', version: 'v7', appliedAt: 9_000, raw: raw('busy', taken) }, { name: 'free', version: 'v7', appliedAt: 9_000, raw: raw('free', 0) }],
    }],
  };
  // Wired the way main.ts wires the engine today: its listener list inside serverInfo.
  for (const providers of [{ xds, serverInfo: () => ({ listeners: engine.listenerStatus() }) }, { xds, listenerErrors: () => engine.listenerStatus().filter((l) => l.error).map((l) => ({ name: l.name, error: l.error!, at: 9_500 })) }]) {
    const ls = await dump(providers, clock);
    const busy = ls.find((l) => l.name === 'busy') as Record<string, any>;
    const free = ls.find((l) => l.name === 'free') as Record<string, any>;
    assert.equal(busy.active_state, undefined, 'a listener that failed to bind is not active');
    assert.equal(busy.warming_state, undefined);
    const es = busy.error_state;
    assert.equal(es.failed_configuration['@type'], LDS);
    assert.equal(es.failed_configuration.address.socket_address.port_value, taken);
    assert.match(es.details, new RegExp(String(taken)));
    assert.equal(es.version_info, 'v7');
    const at = 'listenerErrors' in providers ? 9_500 : 9_000;
    assert.equal(es.last_update_attempt, new Date(WALL - (10_000 - at)).toISOString());
    assert.ok(free.active_state, 'the bound listener is active');
    assert.equal(free.error_state, undefined);
  }
});
