// proxy/upstream/lb: distribution and behaviour of each host picker over many seeded picks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, type Host } from './types.ts';
import { seededRandom } from './random.ts';
import { RoundRobinPicker } from './round-robin.ts';
import { RandomPicker } from './random-lb.ts';
import { LeastRequestPicker } from './least-request.ts';

function hosts(weights: number[]): Host[] {
  return weights.map((w, i) => makeHost({ address: `10.0.0.${i + 1}`, port: 80, weight: w }));
}
function counts(pick: () => Host | undefined, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = pick()!;
    m.set(h.id, (m.get(h.id) ?? 0) + 1);
  }
  return m;
}

test('round robin with equal weights rotates through every host', () => {
  const hs = hosts([1, 1, 1]);
  const rr = new RoundRobinPicker(hs, seededRandom(1));
  const seq = Array.from({ length: 6 }, () => rr.pick({})!.id);
  assert.deepEqual(seq.slice(3), seq.slice(0, 3));
  assert.equal(new Set(seq.slice(0, 3)).size, 3);
});

test('smooth weighted round robin gives exact shares and interleaves', () => {
  const hs = hosts([5, 1, 1]);
  const rr = new RoundRobinPicker(hs, seededRandom(1));
  const seq = Array.from({ length: 7 }, () => rr.pick({})!.id);
  const c = new Map<string, number>();
  for (const id of seq) c.set(id, (c.get(id) ?? 0) + 1);
  assert.equal(c.get('10.0.0.1:80'), 5);
  assert.equal(c.get('10.0.0.2:80'), 1);
  // Smooth: the heavy host is never picked more than 3 times in a row (nginx order: a a b a c a a).
  assert.deepEqual(seq, ['10.0.0.1:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.1:80', '10.0.0.3:80', '10.0.0.1:80', '10.0.0.1:80']);
  const many = counts(() => rr.pick({}), 7000);
  assert.equal(many.get('10.0.0.1:80'), 5000);
});

test('weighted random is within 3% of weight shares over 20k picks', () => {
  const hs = hosts([1, 2, 7]);
  const r = new RandomPicker(hs, seededRandom(42));
  const c = counts(() => r.pick({}), 20_000);
  for (const [i, share] of [[0, 0.1], [1, 0.2], [2, 0.7]] as const) {
    const got = (c.get(hs[i].id) ?? 0) / 20_000;
    assert.ok(Math.abs(got - share) < 0.03, `host ${i}: ${got} vs ${share}`);
  }
});

test('least request P2C prefers idle hosts and never picks the busiest of two', () => {
  const hs = hosts([1, 1, 1, 1]);
  hs[0].activeRequests = 100;
  hs[1].activeRequests = 0;
  hs[2].activeRequests = 5;
  hs[3].activeRequests = 5;
  const lr = new LeastRequestPicker(hs, seededRandom(7));
  const c = counts(() => lr.pick({}), 10_000);
  // The busy host only wins when both samples land on it: probability 1/16.
  const busy = (c.get(hs[0].id) ?? 0) / 10_000;
  assert.ok(busy < 0.1 && busy > 0.03, `busy share ${busy}`);
  // The idle host wins whenever it is sampled: 1 - (3/4)^2 = 43.75%.
  const idle = (c.get(hs[1].id) ?? 0) / 10_000;
  assert.ok(Math.abs(idle - 0.4375) < 0.03, `idle share ${idle}`);
});

test('least request with weights follows weight/(active+1)', () => {
  const hs = hosts([2, 1]);
  const lr = new LeastRequestPicker(hs, seededRandom(3));
  let c = counts(() => lr.pick({}), 3000);
  assert.equal(c.get(hs[0].id), 2000);
  hs[0].activeRequests = 3; // effective weight 2/4 = 0.5 vs 1/1
  c = counts(() => lr.pick({}), 3000);
  const share = (c.get(hs[0].id) ?? 0) / 3000;
  assert.ok(Math.abs(share - 1 / 3) < 0.01, `share ${share}`);
});

test('retry host predicate re-picks up to the limit, then accepts the last pick', () => {
  const hs = hosts([1, 1, 1]);
  const rr = new RoundRobinPicker(hs, seededRandom(1));
  const tried = new Set([hs[0].id, hs[1].id]);
  for (let i = 0; i < 6; i++) {
    const h = rr.pick({ rejectHost: (x) => tried.has(x.id), hostSelectionRetryMaxAttempts: 5 })!;
    assert.equal(h.id, hs[2].id);
  }
  let calls = 0;
  const h = rr.pick({ rejectHost: () => { calls++; return true; }, hostSelectionRetryMaxAttempts: 2 });
  assert.ok(h);
  // First pick + 2 re-picks; the last pick is taken without asking again.
  assert.equal(calls, 2);
});

test('empty host lists pick nothing', () => {
  assert.equal(new RoundRobinPicker([], seededRandom(1)).pick({}), undefined);
  assert.equal(new RandomPicker([], seededRandom(1)).pick({}), undefined);
  assert.equal(new LeastRequestPicker([], seededRandom(1)).pick({}), undefined);
});
