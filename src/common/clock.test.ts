// common: realClock holds one reading per I/O turn (beginTurn / endTurn) and reads the system clock outside turns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beginTurn, endTurn, realClock } from './clock.ts';

/** Spin until performance.now() has moved past t (bounded). */
function after(t: number): void {
  for (let i = 0; i < 10_000_000 && performance.now() <= t; i++);
}

test('inside a turn every now() returns the first reading; outside, the clock moves', () => {
  const before = realClock.now();
  after(before);
  assert.ok(realClock.now() > before, 'outside a turn now() reads the clock');
  beginTurn();
  try {
    const first = realClock.now();
    assert.ok(first > before);
    after(first);
    assert.equal(realClock.now(), first, 'held for the rest of the turn');
    assert.equal(realClock.now(), first);
  } finally {
    endTurn();
  }
  const later = realClock.now();
  after(later);
  assert.ok(realClock.now() > later, 'reads again once the turn ends');
});

test('each turn takes a fresh reading, on first use (not at beginTurn)', () => {
  beginTurn();
  const start = performance.now();
  after(start);
  const a = realClock.now();
  endTurn();
  assert.ok(a > start, 'the reading is taken at the first now(), not when the turn began');
  after(a);
  beginTurn();
  const b = realClock.now();
  endTurn();
  assert.ok(b > a, 'a new turn does not reuse the last turn\'s reading');
});
