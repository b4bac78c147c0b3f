// test/proxy: downstream HTTP timeouts on a FakeClock — an idle keep-alive connection closes after the HCM's
// idle_timeout, a request head that stalls past stream_idle_timeout gets 408.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FakeClock } from '../../src/common/clock.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

function open(port: number): Promise<{ s: Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let t = '';
    s.on('data', (b) => { t += b.toString('latin1'); });
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('error', () => {});
    s.once('connect', () => resolve({ s, text: () => t, closed }));
    s.once('error', reject);
  });
}
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

test('idle keep-alive connections close after idle_timeout; stalled heads get 408 after stream_idle_timeout', async () => {
  const be = await backend((_q, r) => r.end('ok'));
  cleanups.push(() => be.close());
  const clock = new FakeClock();
  const engine = new Engine({ compileRouter: testRouter, clock });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/' }]), { idleTimeoutMs: 60_000, streamIdleTimeoutMs: 10_000 }))],
    [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const port = engine.portOf('l')!;

  const a = await open(port);
  a.s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  for (let i = 0; i < 100 && !a.text().endsWith('ok'); i++) await tick(10);
  assert.match(a.text(), /^HTTP\/1\.1 200 OK/);
  const b = await open(port);
  b.s.write('GET / HTTP/1.1\r\nHo'); // never finished
  await tick();
  clock.advance(9_000);
  await tick();
  assert.equal(b.text(), '', 'stalled head still waiting before stream_idle_timeout');
  clock.advance(2_000);
  await b.closed;
  assert.match(b.text(), /^HTTP\/1\.1 408 /);
  assert.equal(a.s.destroyed, false, 'idle connection still open before idle_timeout');
  clock.advance(60_000);
  await a.closed;
});
