// xds/server: debounce timing on fake time — quiet period, and the max delay under a stream of changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import { Debouncer } from './debounce.ts';

test('fires once after the quiet period', () => {
  const clock = new FakeClock();
  let fired = 0;
  const d = new Debouncer(clock, 100, 1000, () => fired++);
  d.trigger();
  clock.advance(50);
  d.trigger();
  clock.advance(99);
  assert.equal(fired, 0);
  clock.advance(1);
  assert.equal(fired, 1);
  clock.advance(1000);
  assert.equal(fired, 1);
});

test('a continuous stream of changes is pushed by maxMs', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const d = new Debouncer(clock, 100, 300, () => at.push(clock.now()));
  for (let i = 0; i < 10; i++) { d.trigger(); clock.advance(50); }
  assert.deepEqual(at, [300]);
  clock.advance(200);
  assert.deepEqual(at, [300, 550]);
});
