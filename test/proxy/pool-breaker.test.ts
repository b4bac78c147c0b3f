// test/proxy: the HTTP/1.1 pool under the cluster's circuit breaker — max_connections bounds new connections,
// requests past it wait as pending (max_pending_requests) and get the next free connection in order, past that
// they overflow; a cancelled waiter frees its pending slot; a pool with no connection still gets one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../../src/common/clock.ts';
import { H1Pool } from '../../src/proxy/upstream/pool.ts';
import { PriorityBreaker } from '../../src/proxy/upstream/circuit-breaker.ts';
import { documentedIO } from '../../src/proxy/io/index.ts';
import type { H1UpstreamConn } from '../../src/proxy/http/h1-upstream.ts';
import { okUpstream, roundTrip } from '../helpers/ok-upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const upstream = okUpstream();
after(() => upstream.close());

type Got = { conn: H1UpstreamConn | null; err: string; overflow: boolean };

function pool(b: PriorityBreaker): H1Pool {
  return new H1Pool('127.0.0.1', upstream.port, { clock: realClock, connectTimeoutMs: 2000, idleTimeoutMs: 0, maxRequestsPerConnection: 0, io: documentedIO, breaker: () => b });
}

function acquire(p: H1Pool, log: Got[]): { got: Promise<Got>; cancel: () => void } {
  let cancel: () => void = () => {};
  const got = new Promise<Got>((resolve) => {
    cancel = p.acquire((conn, err, overflow) => { const g = { conn, err, overflow: overflow === true }; log.push(g); resolve(g); });
  });
  return { got, cancel };
}

test('max_connections 1 + max_pending 1: one connection, one waiter served in turn, the rest overflow', async () => {
  await upstream.ready;
  const b = new PriorityBreaker({ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 100, maxRetries: 3 });
  const p = pool(b);
  const log: Got[] = [];
  const first = acquire(p, log);
  const second = acquire(p, log);
  const third = acquire(p, log);
  // The third overflows at once, before the first connection is even up.
  assert.equal(log.length, 1);
  assert.deepEqual({ ...log[0], conn: null }, { conn: null, err: log[0].err, overflow: true });
  assert.match(log[0].err, /max_pending_requests 1/);
  assert.equal((await third.got).overflow, true);
  assert.equal(b.stats.active.connections, 1);
  assert.equal(b.stats.active.pending, 1);
  const c1 = (await first.got).conn!;
  assert.ok(c1);
  assert.equal(p.pending, 1);
  await roundTrip(c1);
  // Released: the waiter gets the same connection; no second connection was opened.
  const c2 = (await second.got).conn!;
  assert.equal(c2, c1);
  assert.equal(b.stats.active.pending, 0);
  assert.equal(p.stats().created, 1);
  await roundTrip(c2);
  p.destroy();
  await waitFor('socket close events to free the connection slot', () => b.stats.active.connections === 0, 1000);
  assert.equal(b.stats.active.connections, 0, 'closing the connection frees its slot');
});

test('a cancelled waiter frees its pending slot; a connection that closes lets the next waiter open one', async () => {
  await upstream.ready;
  const b = new PriorityBreaker({ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 2, maxRequests: 100, maxRetries: 3 });
  const p = pool(b);
  const log: Got[] = [];
  const first = acquire(p, log);
  const waiting = acquire(p, log);
  const next = acquire(p, log);
  assert.equal(b.stats.active.pending, 2);
  waiting.cancel();
  assert.equal(b.stats.active.pending, 1);
  const c1 = (await first.got).conn!;
  c1.destroy(); // the upstream went away: its slot frees and the next waiter dials a new connection
  const c2 = (await next.got).conn!;
  assert.ok(c2 && c2 !== c1);
  assert.equal(b.stats.active.pending, 0);
  assert.equal(b.stats.active.connections, 1);
  assert.equal(log.length, 2, 'the cancelled waiter was never called');
  p.destroy();
});

test('a pool with no connection gets one even when other hosts hold every max_connections slot', async () => {
  await upstream.ready;
  const b = new PriorityBreaker({ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 100, maxRetries: 3 });
  const hold = b.tryAcquire('connections'); // another host's pool of the same cluster
  assert.ok(hold.ok);
  const p = pool(b);
  const log: Got[] = [];
  const c = (await acquire(p, log).got).conn;
  assert.ok(c, 'not starved');
  p.destroy();
  if (hold.ok) hold.release();
});
