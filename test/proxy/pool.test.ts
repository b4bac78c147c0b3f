// test/proxy: the per-endpoint HTTP/1.1 pool — keep-alive reuse (most recent first), idle sweep and connect
// timeout on a FakeClock, max requests per connection, and dropping connections the upstream closed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { FakeClock } from '../../src/common/clock.ts';
import { H1Pool } from '../../src/proxy/upstream/pool.ts';
import { documentedIO } from '../../src/proxy/io/index.ts';
import type { H1UpstreamConn } from '../../src/proxy/http/h1-upstream.ts';
import { okUpstream, roundTrip } from '../helpers/ok-upstream.ts';

const upstream = okUpstream();
after(() => upstream.close());

function acquire(pool: H1Pool): Promise<H1UpstreamConn> {
  return new Promise((resolve, reject) => pool.acquire((c, err) => (c ? resolve(c) : reject(new Error(err)))));
}

test('reuses the most recently released connection; max requests per connection closes it', async () => {
  await upstream.ready;
  const clock = new FakeClock();
  const pool = new H1Pool('127.0.0.1', upstream.port, { clock, connectTimeoutMs: 1000, idleTimeoutMs: 60_000, maxRequestsPerConnection: 3, io: documentedIO });
  const a = await acquire(pool);
  assert.equal(await roundTrip(a), 200);
  const b = await acquire(pool);
  assert.equal(b, a, 'idle connection reused');
  assert.equal(await roundTrip(b), 200);
  const c = await acquire(pool);
  assert.equal(c, a);
  assert.equal(await roundTrip(c), 200); // third request: limit reached, connection retired
  await new Promise((r) => setImmediate(r));
  const d = await acquire(pool);
  assert.notEqual(d, a, 'a new connection after max_requests_per_connection');
  assert.equal(pool.stats().created, 2);
  pool.destroy();
});

test('idle connections are closed by the sweep after idle_timeout (FakeClock)', async () => {
  await upstream.ready;
  const clock = new FakeClock();
  const pool = new H1Pool('127.0.0.1', upstream.port, { clock, connectTimeoutMs: 1000, idleTimeoutMs: 1000, maxRequestsPerConnection: 0, io: documentedIO });
  const a = await acquire(pool);
  await roundTrip(a);
  assert.equal(pool.stats().idle, 1);
  clock.advance(400);
  assert.equal(pool.stats().idle, 1, 'still fresh');
  clock.advance(1200);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.stats().idle, 0, 'swept');
  assert.equal(a.closed, true);
  pool.destroy();
});

test('connect timeout fails the acquire (FakeClock); a connection the upstream closes leaves the pool', async () => {
  await upstream.ready;
  const clock = new FakeClock();
  // A socket that never connects: the dial succeeds but no 'connect' ever comes.
  const never = { ...documentedIO, dial: () => new Socket() };
  const pool = new H1Pool('127.0.0.1', 9, { clock, connectTimeoutMs: 500, idleTimeoutMs: 60_000, maxRequestsPerConnection: 0, io: never });
  const p = new Promise<string>((resolve) => pool.acquire((c, err) => resolve(c ? 'connected' : err)));
  clock.advance(499);
  clock.advance(2);
  assert.match(await p, /connect timeout after 500 ms/);
  assert.equal(pool.stats().connectFailures, 1);

  const real = new H1Pool('127.0.0.1', upstream.port, { clock, connectTimeoutMs: 1000, idleTimeoutMs: 60_000, maxRequestsPerConnection: 0, io: documentedIO });
  const a = await acquire(real);
  await roundTrip(a);
  a.socket.destroy();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(real.stats().idle, 0);
  const b = await acquire(real);
  assert.notEqual(b, a);
  real.destroy();
});
