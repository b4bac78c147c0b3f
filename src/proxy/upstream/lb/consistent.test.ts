// proxy/upstream/lb: ring hash and maglev — stability, minimal disruption on removal, weights, table sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, type Host } from './types.ts';
import { seededRandom } from './random.ts';
import { RingHashPicker } from './ring-hash.ts';
import { MaglevPicker, MAGLEV_DEFAULT_TABLE_SIZE } from './maglev.ts';
import { hash53 } from './hash.ts';

function hosts(n: number, weights?: number[]): Host[] {
  return Array.from({ length: n }, (_, i) => makeHost({ address: `10.0.0.${i + 1}`, port: 8080, weight: weights?.[i] ?? 1 }));
}
const keys = Array.from({ length: 2000 }, (_, i) => hash53(`user-${i}`));

for (const [name, make] of [
  ['ring hash', (hs: Host[]) => new RingHashPicker(hs, seededRandom(1))],
  ['maglev', (hs: Host[]) => new MaglevPicker(hs, seededRandom(1))],
] as const) {
  test(`${name}: same key, same host; removing a host only moves its keys`, () => {
    const all = hosts(5);
    const before = make(all);
    const after = make(all.filter((h) => h.id !== all[2].id));
    let moved = 0;
    for (const k of keys) {
      const a = before.pick({ hash: k })!;
      assert.equal(before.pick({ hash: k })!.id, a.id);
      const b = after.pick({ hash: k })!;
      if (a.id !== all[2].id) {
        if (a.id !== b.id) moved++;
      } else {
        assert.notEqual(b.id, all[2].id);
      }
    }
    // Keys of other hosts mostly stay. Ring hash re-scales entries per host (205 -> 256 here, as Envoy
    // does), so some keys move; modulo hashing would move ~80% of them.
    assert.ok(moved / keys.length < 0.2, `${moved} keys moved`);
  });

  test(`${name}: keys spread over hosts roughly by weight`, () => {
    const hs = hosts(3, [1, 1, 2]);
    const p = make(hs);
    const c = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = p.pick({ hash: hash53(`k${i}`) })!.id;
      c.set(id, (c.get(id) ?? 0) + 1);
    }
    const share = (c.get(hs[2].id) ?? 0) / 20_000;
    assert.ok(Math.abs(share - 0.5) < 0.07, `heavy host share ${share}`);
  });

  test(`${name}: a rejected host is replaced by another host for the same key`, () => {
    const hs = hosts(4);
    const p = make(hs);
    for (const k of keys.slice(0, 50)) {
      const first = p.pick({ hash: k })!;
      const second = p.pick({ hash: k, rejectHost: (h) => h.id === first.id })!;
      assert.notEqual(second.id, first.id);
    }
  });
}

test('ring size honours minimum and maximum', () => {
  assert.equal(new RingHashPicker(hosts(3), seededRandom(1), { minimumRingSize: 1024 }).size, 1026);
  assert.equal(new RingHashPicker(hosts(3, [1, 1, 1]), seededRandom(1), { minimumRingSize: 64, maximumRingSize: 64 }).size, 64);
  // Weights 1:2 with a 1000 minimum: the light host needs ceil(1000/3) = 334 entries, the heavy one 668.
  assert.equal(new RingHashPicker(hosts(2, [1, 2]), seededRandom(1), { minimumRingSize: 1000 }).size, 1002);
});

test('maglev table is fully populated with the default prime size, non-prime sizes fall back', () => {
  const m = new MaglevPicker(hosts(3), seededRandom(1));
  assert.equal(m.table.length, MAGLEV_DEFAULT_TABLE_SIZE);
  assert.ok(m.table.every((x) => x >= 0 && x < 3));
  assert.equal(new MaglevPicker(hosts(3), seededRandom(1), { tableSize: 1000 }).table.length, MAGLEV_DEFAULT_TABLE_SIZE);
  assert.equal(new MaglevPicker(hosts(3), seededRandom(1), { tableSize: 251 }).table.length, 251);
});

test('no hash: ring hash and maglev still pick (at random)', () => {
  const hs = hosts(3);
  assert.ok(new RingHashPicker(hs, seededRandom(1)).pick({}));
  assert.ok(new MaglevPicker(hs, seededRandom(1)).pick({}));
  assert.equal(new RingHashPicker([], seededRandom(1)).pick({}), undefined);
  assert.equal(new MaglevPicker([], seededRandom(1)).pick({}), undefined);
});
