// proxy/upstream: circuit breaker counters, overflow with flag UO, idempotent release, retry budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreakers, defaultThresholds } from './circuit-breaker.ts';

test('requests overflow at max_requests and recover on release', () => {
  const cb = new CircuitBreakers([{ ...defaultThresholds(), maxRequests: 2 }]);
  const a = cb.tryAcquire('requests');
  const b = cb.tryAcquire('requests');
  assert.ok(a.ok && b.ok);
  const c = cb.tryAcquire('requests');
  assert.deepEqual(c, { ok: false, resource: 'requests', limit: 2, flag: 'UO' });
  const pb = cb.forPriority('DEFAULT');
  assert.equal(pb.isOpen('requests'), true);
  assert.equal(pb.stats.overflow.requests, 1);
  if (a.ok) { a.release(); a.release(); } // double release counts once
  assert.equal(pb.stats.active.requests, 1);
  assert.equal(pb.remaining('requests'), 1);
  assert.ok(cb.tryAcquire('requests').ok);
});

test('each resource and priority has its own counters; defaults are Envoy defaults', () => {
  const cb = new CircuitBreakers([{ priority: 'HIGH', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 0 }]);
  assert.equal(cb.forPriority('DEFAULT').limit('connections'), 1024);
  assert.equal(cb.forPriority('DEFAULT').limit('retries'), 3);
  assert.ok(cb.tryAcquire('connections', 'HIGH').ok);
  assert.equal(cb.tryAcquire('connections', 'HIGH').ok, false);
  assert.ok(cb.tryAcquire('pending', 'HIGH').ok);
  assert.equal(cb.tryAcquire('retries', 'HIGH').ok, false);
  assert.ok(cb.tryAcquire('connections').ok);
});

test('max_retries caps concurrent retries', () => {
  const cb = new CircuitBreakers([{ ...defaultThresholds(), maxRetries: 3 }]);
  const held = [1, 2, 3].map(() => cb.tryAcquire('retries'));
  assert.ok(held.every((r) => r.ok));
  assert.equal(cb.tryAcquire('retries').ok, false);
});

test('retry budget scales with outstanding requests and keeps a minimum concurrency', () => {
  const cb = new CircuitBreakers([{ ...defaultThresholds(), retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 } }]);
  const pb = cb.forPriority();
  assert.equal(pb.limit('retries'), 3);
  for (let i = 0; i < 50; i++) assert.ok(cb.tryAcquire('requests').ok);
  assert.equal(pb.limit('retries'), 10);
  for (let i = 0; i < 10; i++) assert.ok(cb.tryAcquire('retries').ok);
  assert.equal(cb.tryAcquire('retries').ok, false);
  assert.equal(pb.stats.overflow.retries, 1);
});

test('tryTake / give count each resource against its own limit; HIGH has its own counters', () => {
  const cb = new CircuitBreakers([
    { priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 1 },
    { priority: 'HIGH', maxConnections: 5, maxPendingRequests: 5, maxRequests: 5, maxRetries: 5 },
  ]);
  const pb = cb.forPriority('DEFAULT');
  const limits = { connections: 1, pending: 2, requests: 3, retries: 1 } as const;
  for (const r of ['connections', 'pending', 'requests', 'retries'] as const) {
    for (let i = 0; i < limits[r]; i++) assert.equal(pb.tryTake(r), true, `${r} #${i + 1}`);
    assert.equal(pb.tryTake(r), false, `${r} over its limit`);
    assert.equal(pb.stats.active[r], limits[r]);
    assert.equal(pb.stats.overflow[r], 1);
  }
  pb.give('requests');
  assert.equal(pb.stats.active.requests, 2);
  assert.equal(pb.tryTake('requests'), true);
  assert.equal(cb.forPriority('HIGH').stats.active.requests, 0);
  assert.equal(cb.forPriority('HIGH').tryTake('connections'), true);
  assert.equal(cb.forPriority('HIGH').stats.active.connections, 1);
  assert.equal(pb.stats.active.connections, 1);
});
