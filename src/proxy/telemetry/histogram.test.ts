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

test('values above every bound, +Infinity and NaN land where they did with a bounds-checked scan', () => {
  const h = new Histogram([1, 10]);
  for (const v of [1e12, Infinity, NaN, -5, 10, 10.000001]) h.observe(v);
  // NaN compares false with every bound: first bucket, as before; -5 too; 10 in le=10; the rest +Inf
  assert.deepEqual(h.cumulative(), [[1, 2], [10, 3], [Infinity, 6]]);
  const again = new Histogram([1, 10]);
  again.observe(5);
  assert.deepEqual(again.cumulative(), [[1, 0], [10, 1], [Infinity, 1]], 'histograms over equal bounds do not share counts');
});
