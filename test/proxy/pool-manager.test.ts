// test/proxy: UpstreamManager.pool() caches its answer per endpoint until the next config update, and an
// update that changes an endpoint's TLS choice still gets a new pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamManager } from '../../src/proxy/upstream/pool-manager.ts';
import { FakeClock } from '../../src/common/clock.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';
import { cluster, snapshot } from './engine-fixtures.ts';
import type { UpstreamTlsConfig } from '../../src/proxy/config/types.ts';

const tls: UpstreamTlsConfig = { certificates: [], matchSubjectAltNames: [], alpnProtocols: [], sni: 'backend' } as unknown as UpstreamTlsConfig;

function manager(): UpstreamManager {
  return new UpstreamManager({ clock: new FakeClock(), random: () => 0.5, io: documentedIO });
}

test('the same endpoint gets the same pool; other endpoints get their own', () => {
  const m = manager();
  m.update(snapshot([], [cluster('c', [{ address: '127.0.0.1', port: 1 }, { address: '127.0.0.2', port: 1 }])]));
  const c = m.cluster('c')!;
  const p1 = m.pool(c, '127.0.0.1', 1);
  assert.equal(m.pool(c, '127.0.0.1', 1), p1);
  assert.notEqual(m.pool(c, '127.0.0.2', 1), p1);
  assert.notEqual(m.pool(c, '127.0.0.1', 2), p1);
  assert.equal(p1.host, '127.0.0.1');
  assert.equal(p1.port, 1);
  m.destroy();
});

test('an update keeping the endpoint keeps its pool; a TLS change replaces it', () => {
  const m = manager();
  const eps = [{ address: '127.0.0.1', port: 1 }];
  m.update(snapshot([], [cluster('c', eps)]));
  const p1 = m.pool(m.cluster('c')!, '127.0.0.1', 1);
  m.update(snapshot([], [cluster('c', eps, { connectTimeoutMs: 2000 })]));
  assert.equal(m.pool(m.cluster('c')!, '127.0.0.1', 1), p1, 'hitless: same pool across a config push');
  m.update(snapshot([], [cluster('c', eps, { tls })]));
  const p2 = m.pool(m.cluster('c')!, '127.0.0.1', 1);
  assert.notEqual(p2, p1, 'TLS choice changed: new pool');
  assert.equal(m.pool(m.cluster('c')!, '127.0.0.1', 1), p2);
  m.destroy();
});

test('a removed cluster\'s cached pools are not handed out after it comes back', () => {
  const m = manager();
  const eps = [{ address: '127.0.0.1', port: 1 }];
  m.update(snapshot([], [cluster('c', eps)]));
  const p1 = m.pool(m.cluster('c')!, '127.0.0.1', 1);
  m.update(snapshot([], []));
  m.update(snapshot([], [cluster('c', eps)]));
  assert.notEqual(m.pool(m.cluster('c')!, '127.0.0.1', 1), p1);
  m.destroy();
});
