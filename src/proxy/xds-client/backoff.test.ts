// proxy/xds-client: backoff bounds and reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';

test('delays double up to the cap, with equal jitter in [d/2, d]', () => {
  const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lo.next()), [50, 100, 200, 400, 500, 500]);
  const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => hi.next()), [100, 200, 400, 800, 1000]);
  hi.reset();
  assert.equal(hi.attempts, 0);
  assert.equal(hi.next(), 100);
});

test('many attempts never overflow past the cap', () => {
  const b = new Backoff({ initialMs: 500, maxMs: 30_000 });
  let last = 0;
  for (let i = 0; i < 200; i++) last = b.next();
  assert.ok(last >= 15_000 && last <= 30_000);
});
