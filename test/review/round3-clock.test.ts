// test/review: round-3 review of realClock's one reading per I/O turn — held inside a read callback, released after
// it even when the reader throws, fresh outside turns (timers), and a turn's reading is taken when first used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../../src/common/clock.ts';
import { readerFor } from '../../src/proxy/io/internal.ts';

/** Burn at least `ms` of wall time without yielding (bounded by the clock it measures with). */
function spin(ms: number): void {
  const until = performance.now() + ms;
  for (let i = 0; i < 1e9 && performance.now() < until; i++);
}

function deliver(reader: (b: Buffer, s: number, e: number) => void): void {
  const { buffer, callback } = readerFor({ reader });
  const b = buffer();
  callback(1, b);
}

test('inside a read callback realClock holds one reading, taken at first use; after it time moves again', () => {
  const before = performance.now();
  let first = -1, later = -1;
  deliver(() => {
    spin(3);
    first = realClock.now();
    spin(3);
    later = realClock.now();
  });
  assert.equal(first, later, 'one reading per turn');
  assert.ok(first >= before + 3, 'the reading is taken when first used, not when the turn began');
  const a = realClock.now();
  spin(2);
  assert.ok(realClock.now() > a, 'outside a turn every now() reads the clock');
  assert.ok(a >= later + 3);
});

test('a reader that throws does not freeze the clock', () => {
  let inside = -1;
  assert.throws(() => deliver(() => { inside = realClock.now(); throw new Error('reader failed'); }), /reader failed/);
  spin(2);
  const a = realClock.now();
  spin(2);
  const b = realClock.now();
  assert.ok(a >= inside + 2 && b > a, `time moves after a failed turn (${inside} ${a} ${b})`);
  // and the next turn takes a fresh reading
  let next = -1;
  deliver(() => { next = realClock.now(); });
  assert.ok(next >= b);
});

test('timers and microtasks queued in a turn run outside it and see fresh time', async () => {
  let inTurn = -1;
  let micro: number[] = [];
  const timer = new Promise<number[]>((resolve) => {
    deliver(() => {
      inTurn = realClock.now();
      queueMicrotask(() => { const x = realClock.now(); spin(2); micro = [x, realClock.now()]; });
      realClock.setTimeout(() => { const x = realClock.now(); spin(2); resolve([x, realClock.now()]); }, 1);
    });
  });
  const t = await timer;
  assert.ok(micro[1]! > micro[0]!, 'a microtask after the turn reads the clock each time');
  assert.ok(t[1]! > t[0]! && t[0]! >= inTurn + 1, 'a timer reads the clock each time');
});
