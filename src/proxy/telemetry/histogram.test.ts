// proxy/telemetry: histogram bucketing (le is inclusive, +Inf catches the rest, counts are cumulative).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTES_BUCKETS, DURATION_BUCKETS_MS, Histogram } from './histogram.ts';

test('values land in the first bucket whose bound is >= the value; cumulative counts; +Inf last', () => {
  const h = new Histogram([1, 10, 100]);
  for (const v of [0, 1, 1.5, 10, 50, 1000]) h.observe(v);
  assert.deepEqual(h.cumulative(), [[1, 2], [10, 4], [100, 5], [Infinity, 6]]);
  assert.equal(h.count, 6);
  assert.equal(h.sum, 1062.5);
});

test("Istio's default buckets", () => {
  assert.equal(DURATION_BUCKETS_MS[0], 0.5);
  assert.equal(DURATION_BUCKETS_MS.at(-1), 3600000);
  assert.equal(DURATION_BUCKETS_MS.length, 19);
  assert.deepEqual(BYTES_BUCKETS.map((b) => Math.log10(b)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const h = new Histogram(DURATION_BUCKETS_MS);
  h.observe(7);
  const c = new Map(h.cumulative());
  assert.equal(c.get(5), 0);
  assert.equal(c.get(10), 1);
});
