// test/proxy: the HTTP/1.1 pool's waiting queue (issue 3, tail latency at 200 connections) — a request that had to
// dial is served by whichever connection frees up first (a released one, or its dial), a dial whose waiter was served
// or gave up joins the pool idle instead of being destroyed, and a failed dial fails only a waiter it left uncovered.
// Dials are gated by the test (each returns an unconnected socket it connects or fails on demand): no timing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { realClock } from '../../src/common/clock.ts';
import { H1Pool } from '../../src/proxy/upstream/pool.ts';
import { documentedIO } from '../../src/proxy/io/index.ts';
import type { SocketIO } from '../../src/proxy/io/types.ts';
import type { H1UpstreamConn } from '../../src/proxy/http/h1-upstream.ts';
import { okUpstream, roundTrip } from '../helpers/ok-upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const upstream = okUpstream();
after(() => upstream.close());

type Got = { conn: H1UpstreamConn | null; err: string };

/** A pool whose dials wait until the test connects (or fails) them, in dial order. */
function gatedPool(): { pool: H1Pool; dials: Socket[]; connect(i: number): Promise<void>; fail(i: number): void } {
  const dials: Socket[] = [];
  const io: SocketIO = {
    ...documentedIO,
    dial: () => {
      const s = new Socket();
      // a socket that has not connected yet (a fresh Socket reports 'open', which the pool takes as connected)
      Object.defineProperty(s, 'readyState', { get: () => 'opening', configurable: true });
      dials.push(s);
      return s;
    },
  };
  const pool = new H1Pool('127.0.0.1', upstream.port, { clock: realClock, connectTimeoutMs: 0, idleTimeoutMs: 0, maxRequestsPerConnection: 0, io });
  return {
    pool,
    dials,
    connect: (i) => new Promise((r) => {
      const s = dials[i]!;
      delete (s as { readyState?: unknown }).readyState;
      s.once('connect', () => setImmediate(r));
      s.connect(upstream.port, '127.0.0.1');
    }),
    fail: (i) => { dials[i]!.destroy(new Error('refused')); },
  };
}

function acquire(p: H1Pool, log: Got[]): { got: Promise<Got>; cancel: () => void } {
  let cancel: () => void = () => {};
  const got = new Promise<Got>((resolve) => {
    cancel = p.acquire((conn, err) => { const g = { conn, err }; log.push(g); resolve(g); });
  });
  return { got, cancel };
}

test('a request waiting for its dial takes the connection another request releases first; the dial then serves the next', { timeout: 5000 }, async () => {
  await upstream.ready;
  const g = gatedPool();
  const log: Got[] = [];
  const r1 = acquire(g.pool, log);
  assert.equal(g.dials.length, 1);
  await g.connect(0);
  const c1 = (await r1.got).conn!;
  assert.ok(c1);
  const r2 = acquire(g.pool, log); // c1 busy: r2 waits, a dial starts for it
  assert.equal(g.dials.length, 2);
  await roundTrip(c1); // c1 released while dial 1 is still connecting
  const got2 = await r2.got;
  assert.equal(got2.conn, c1, 'served by the released connection, not held behind its own dial');
  assert.equal(g.pool.stats().connecting, 1);
  // dial 1 is still on its way and covers the next waiter: no third dial
  const r3 = acquire(g.pool, log);
  assert.equal(g.dials.length, 2, 'a waiter covered by a dial in flight starts none');
  await g.connect(1);
  const c3 = (await r3.got).conn!;
  assert.ok(c3 && c3 !== c1, 'the dial serves the next waiter');
  assert.deepEqual({ created: g.pool.stats().created, pending: g.pool.stats().pending }, { created: 2, pending: 0 });
  await roundTrip(c1);
  await roundTrip(c3);
  assert.equal(g.pool.stats().idle, 2);
  g.pool.destroy();
});

test('a dial whose waiter gave up, or was served by a released connection, joins the pool idle (not destroyed)', { timeout: 5000 }, async () => {
  await upstream.ready;
  const g = gatedPool();
  const log: Got[] = [];
  const r1 = acquire(g.pool, log);
  await g.connect(0);
  const c1 = (await r1.got).conn!;
  const r2 = acquire(g.pool, log);
  r2.cancel(); // e.g. the downstream closed while its upstream connection was being dialled
  assert.equal(g.pool.pending, 0);
  await g.connect(1);
  await waitFor('the dialled connection to join the pool', () => g.pool.stats().idle === 1, 1000);
  assert.equal(log.length, 1, 'the cancelled waiter is never called');
  assert.equal(g.pool.stats().created, 2);
  // the idle one is handed out next, without a dial
  const r3 = acquire(g.pool, log);
  const c3 = (await r3.got).conn!;
  assert.ok(c3 && c3 !== c1 && !c3.closed);
  assert.equal(g.dials.length, 2);
  await roundTrip(c1);
  g.pool.destroy();
});

test('a failed dial fails a waiter only when no other dial covers it; with no connection left all waiters fail', { timeout: 5000 }, async () => {
  await upstream.ready;
  const g = gatedPool();
  const log: Got[] = [];
  const r1 = acquire(g.pool, log);
  await g.connect(0);
  const c1 = (await r1.got).conn!;
  const r2 = acquire(g.pool, log); // dial 1
  const r3 = acquire(g.pool, log); // dial 2
  assert.equal(g.dials.length, 3);
  await roundTrip(c1);
  assert.equal((await r2.got).conn, c1);
  g.fail(1); // r3 is still covered by dial 2: nobody fails
  await waitFor('the failed dial to be counted', () => g.pool.stats().connectFailures === 1, 1000);
  assert.equal(log.length, 2);
  g.fail(2); // now r3 has no dial left (c1 is busy): it gets the connect error, as with a dial of its own
  const got3 = await r3.got;
  assert.equal(got3.conn, null);
  assert.match(got3.err, /connect to 127\.0\.0\.1:\d+: refused/);
  await roundTrip(c1);
  c1.destroy();
  await waitFor('c1 to leave the pool', () => g.pool.size === 0, 1000);
  // no connection at all: a failed dial fails every waiter (Envoy purges pending requests)
  const r4 = acquire(g.pool, log);
  const r5 = acquire(g.pool, log);
  assert.equal(g.dials.length, 5);
  g.fail(3);
  g.fail(4);
  assert.match((await r4.got).err, /refused/);
  assert.match((await r5.got).err, /refused/);
  assert.equal(g.pool.pending, 0);
  g.pool.destroy();
});
