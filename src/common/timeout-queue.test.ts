// common: TimeoutQueue — many timeouts on one clock timer, firing exactly at their deadlines (FakeClock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, TimeoutQueue, timeoutQueueFor, realClock } from './clock.ts';

function recorder(clock: FakeClock, log: string[]) {
  return (name: string) => ({ onDeadline: () => log.push(`${name}@${clock.now()}`) });
}

test('entries of several durations fire at their exact deadlines, earliest first, on one clock timer', () => {
  const clock = new FakeClock(1000);
  const q = new TimeoutQueue(clock);
  const log: string[] = [];
  const t = recorder(clock, log);
  q.add(100, t('a'));
  clock.advance(10);
  q.add(100, t('b'));
  q.add(50, t('c'));
  q.add(200, t('d'));
  assert.equal(clock.pending(), 1, 'one clock timer for all entries');
  assert.equal(q.pending, 4);
  clock.advance(49);
  assert.deepEqual(log, []);
  clock.advance(1);
  assert.deepEqual(log, ['c@1060']);
  clock.advance(1000);
  assert.deepEqual(log, ['c@1060', 'a@1100', 'b@1110', 'd@1210']);
  assert.equal(q.pending, 0);
  assert.equal(clock.pending(), 0, 'no timer left once empty');
});

test('cancel removes an entry; cancelling the last one clears the clock timer; double cancel is harmless', () => {
  const clock = new FakeClock();
  const q = new TimeoutQueue(clock);
  const log: string[] = [];
  const t = recorder(clock, log);
  const a = q.add(100, t('a'));
  const b = q.add(100, t('b'));
  const c = q.add(100, t('c'));
  q.cancel(b);
  q.cancel(b);
  q.cancel(undefined);
  clock.advance(100);
  assert.deepEqual(log, ['a@100', 'c@100']);
  q.cancel(a); // already fired: no effect
  const d = q.add(30, t('d'));
  assert.equal(clock.pending(), 1);
  q.cancel(d);
  assert.equal(clock.pending(), 0);
  clock.advance(100);
  assert.deepEqual(log, ['a@100', 'c@100']);
  void c;
});

test('a cancelled head does not delay later entries; callbacks may add and cancel re-entrantly', () => {
  const clock = new FakeClock();
  const q = new TimeoutQueue(clock);
  const log: string[] = [];
  const t = recorder(clock, log);
  const first = q.add(10, t('first'));
  q.add(40, t('late'));
  q.cancel(first);
  let victim: ReturnType<TimeoutQueue['add']> | undefined;
  q.add(20, { onDeadline: () => { log.push(`adder@${clock.now()}`); q.add(5, t('added')); q.cancel(victim); } });
  victim = q.add(30, t('victim'));
  clock.advance(100);
  assert.deepEqual(log, ['adder@20', 'added@25', 'late@40']);
  assert.equal(clock.pending(), 0);
});

test('an explicit start time is used as now; one queue per clock', () => {
  const clock = new FakeClock(500);
  const q = timeoutQueueFor(clock);
  assert.equal(timeoutQueueFor(clock), q);
  assert.notEqual(timeoutQueueFor(new FakeClock()), q);
  assert.notEqual(timeoutQueueFor(realClock), q);
  const log: string[] = [];
  q.add(100, recorder(clock, log)('x'), 450);
  clock.advance(49);
  assert.deepEqual(log, []);
  clock.advance(1);
  assert.deepEqual(log, ['x@550']);
});

test('on the real clock an entry fires after its duration', async () => {
  const q = new TimeoutQueue(realClock);
  const t0 = realClock.now();
  const at = await new Promise<number>((resolve) => q.add(15, { onDeadline: () => resolve(realClock.now()) }));
  assert.ok(at - t0 >= 15, `fired after ${at - t0} ms`);
  assert.equal(q.pending, 0);
});

test('durations taken from requests leave no empty lists behind; a far deadline neither fires early nor spins', () => {
  const clock = new FakeClock();
  const q = new TimeoutQueue(clock);
  const log: string[] = [];
  const t = recorder(clock, log);
  const lists = () => (q as unknown as { lists: Map<number, unknown> }).lists.size;
  for (let ms = 1; ms <= 500; ms++) q.cancel(q.add(ms, t(`x${ms}`)));
  for (let ms = 501; ms <= 1000; ms++) q.add(ms, t(`y${ms}`));
  clock.advance(1000);
  assert.equal(log.length, 500);
  assert.ok(lists() <= 1, `empty per-duration lists kept: ${lists()}`);
  // 30 days: beyond Node's 2^31-1 ms timer limit (a longer delay fires after 1 ms), so the queue arms at the cap
  const days30 = 30 * 86_400_000;
  const set = clock.setTimeout.bind(clock);
  const delays: number[] = [];
  clock.setTimeout = (fn, ms) => { delays.push(ms); return set(fn, ms); };
  q.add(days30, t('far'));
  clock.advance(days30 - 1);
  assert.equal(log.length, 500, 'not yet');
  clock.advance(1);
  assert.equal(log.at(-1), `far@${1000 + days30}`);
  assert.deepEqual(delays, [2_147_483_647, days30 - 2_147_483_647], 'armed at the cap, then for the rest');
});

test('an entry added with an older start time still fires in deadline order within its duration', () => {
  const clock = new FakeClock(100);
  const q = new TimeoutQueue(clock);
  const log: string[] = [];
  const t = recorder(clock, log);
  q.add(50, t('now'));
  q.add(50, t('older'), 90);
  q.add(50, t('oldest'), 80);
  clock.advance(100);
  assert.deepEqual(log, ['oldest@130', 'older@140', 'now@150']);
});
