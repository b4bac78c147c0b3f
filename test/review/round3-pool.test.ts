// test/review: round-3 review of the HTTP/1.1 pool's single FIFO of waiting requests, end to end through the engine:
// max_connections 1 + max_pending_requests 1 (one in flight, one queued, the next overflows with UO), a queued
// request whose client leaves gives its pending slot back, and a connection the upstream resets while a request is
// queued behind it: the reset request's one silent retry and the waiter are both served, in turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { Engine } from '../../src/proxy/engine.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from '../proxy/engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

test('pool FIFO at max_connections 1 / max_pending 1: overflow, a cancelled waiter, a reset connection', { timeout: 15_000 }, async () => {
  const released: Array<() => void> = [];
  let resets = 0;
  const be = await backend((req, res) => {
    req.resume();
    const u = new URL(req.url!, 'http://x');
    // /hold answers when the test says so; /reset kills its connection when the test says so
    if (u.pathname === '/hold') { released.push(() => res.end(`held ${u.searchParams.get('i')}`)); return; }
    // the first /reset: its connection dies, answerless, when the test says so; a repeat (the proxy's one silent
    // retry of a request that died on a reused connection) is answered
    if (u.pathname === '/reset' && resets++ === 0) { released.push(() => req.socket.destroy()); return; }
    res.end(`ok ${u.searchParams.get('i')}`);
  });
  cleanups.push(() => be.close());
  const records: RequestRecord[] = [];
  const engine = new Engine({ compileRouter: testRouter, onRequestComplete: (r) => records.push(r) });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: be.port }], {
    circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1024, maxRetries: 3 }],
  })]));
  const port = engine.portOf('l')!;
  const get = (path: string): { done: Promise<{ status: number; body: string }>; abort: () => void } => {
    let req!: ReturnType<typeof request>;
    const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req = request({ host: '127.0.0.1', port, path, agent: false }, (res: IncomingMessage) => {
        let b = '';
        res.on('data', (c) => { b += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    return { done, abort: () => req.destroy() };
  };
  /** Requests waiting in the pool's queue at max_connections (each holds a max_pending_requests slot). */
  const queued = (): number => engine.ctx.upstreams.cluster('c')!.breakers.forPriority('DEFAULT').stats.active.pending;
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `timed out waiting for ${what}`);
  };

  // 1. One in flight (held by the backend), one queued, the third overflows: 503 UO at once.
  const a = get('/hold?i=a');
  await until(() => released.length === 1, 'a at the backend');
  const b = get('/p?i=b');
  await until(() => queued() === 1, 'b queued');
  const c = await get('/p?i=c').done;
  assert.equal(c.status, 503);
  assert.ok(records.some((r) => r.path === '/p?i=c' && r.flags.includes('UO')), JSON.stringify(records));
  released.shift()!();
  assert.deepEqual(await a.done, { status: 200, body: 'held a' });
  assert.deepEqual(await b.done, { status: 200, body: 'ok b' }, 'the queued request is served by the released connection');

  // 2. A queued request whose client leaves frees its pending slot: the next one queues instead of overflowing.
  const d = get('/hold?i=d');
  await until(() => released.length === 1, 'd at the backend');
  const e = get('/p?i=e');
  await until(() => queued() === 1, 'e queued');
  e.abort();
  await e.done.catch(() => undefined);
  await until(() => queued() === 0, 'e gone from the queue');
  const f = get('/p?i=f');
  await until(() => queued() === 1, 'f queued');
  released.shift()!();
  assert.deepEqual(await d.done, { status: 200, body: 'held d' });
  assert.deepEqual(await f.done, { status: 200, body: 'ok f' }, 'not UO: the cancelled waiter gave its slot back');
  assert.equal(records.filter((r) => r.flags.includes('UO')).length, 1);

  // 3. The only connection is reset by the upstream while a request waits behind it: a new dial serves the waiter.
  const g = get('/reset?i=g');
  await until(() => released.length === 1, 'g at the backend');
  const h = get('/p?i=h');
  await until(() => queued() === 1, 'h queued');
  released.shift()!();
  assert.deepEqual(await g.done, { status: 200, body: 'ok g' }, 'the reset request is retried once on a fresh connection');
  assert.deepEqual(await h.done, { status: 200, body: 'ok h' }, 'the waiter is served once a connection is free');
  assert.equal(resets, 2);
  assert.equal(records.filter((r) => r.flags.includes('UO')).length, 1, 'no further overflow');
});
