// proxy/upstream/lb: priority failover with overprovisioning, panic threshold, locality weighting, ejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHost, type Host } from './types.ts';
import { seededRandom } from './random.ts';
import { computePriorityLevels } from './priority.ts';
import { ClusterLoadBalancer } from './cluster-lb.ts';
import { hash53 } from './hash.ts';

function level(priority: number, n: number, unhealthy: number, locality = '', localityWeight?: number): Host[] {
  return Array.from({ length: n }, (_, i) => makeHost({
    address: `10.${priority}.${locality.length}.${i + 1}`, port: 80, priority, locality, localityWeight,
    health: i < unhealthy ? 'UNHEALTHY' : 'HEALTHY',
  }));
}
const loads = (hosts: Host[], opts = {}) => computePriorityLevels(hosts, opts).map((l) => l.load);

test('priority load follows Envoy documented examples (factor 1.4)', () => {
  assert.deepEqual(loads([...level(0, 10, 0), ...level(1, 10, 0)]), [100, 0]);
  assert.deepEqual(loads([...level(0, 10, 2), ...level(1, 10, 0)]), [100, 0]); // 80% * 1.4 > 100
  assert.deepEqual(loads([...level(0, 10, 3), ...level(1, 10, 0)]), [98, 2]);
  assert.deepEqual(loads([...level(0, 10, 5), ...level(1, 10, 0)]), [70, 30]);
  assert.deepEqual(loads([...level(0, 10, 10), ...level(1, 10, 0)]), [0, 100]);
  // Three levels, P1 partly healthy: 50% -> 70, 50% -> 70 (only 30 left), rest 0.
  assert.deepEqual(loads([...level(0, 10, 5), ...level(1, 10, 5), ...level(2, 10, 0)]), [70, 30, 0]);
  // Custom factor 1.0: 50% healthy gets 50.
  assert.deepEqual(loads([...level(0, 10, 5), ...level(1, 10, 0)], { overprovisioningFactor: 100 }), [50, 50]);
});

test('when total health is under 100 loads are normalized and low levels panic', () => {
  // P0 20% healthy -> 28; P1 20% -> 28; total 56 -> normalized 50/50, both under the 50% panic threshold.
  const lv = computePriorityLevels([...level(0, 10, 8), ...level(1, 10, 8)]);
  assert.deepEqual(lv.map((l) => l.load), [50, 50]);
  assert.deepEqual(lv.map((l) => l.panic), [true, true]);
  // Same but panic disabled.
  const np = computePriorityLevels([...level(0, 10, 8), ...level(1, 10, 8)], { healthyPanicThreshold: 0 });
  assert.deepEqual(np.map((l) => l.panic), [false, false]);
  // Enough health in total: no panic even though P0 is below 50%.
  const ok = computePriorityLevels([...level(0, 10, 8), ...level(1, 10, 0)]);
  assert.deepEqual(ok.map((l) => [l.load, l.panic]), [[28, false], [72, false]]);
  // Nothing healthy: all to P0, in panic.
  const dead = computePriorityLevels([...level(0, 4, 4), ...level(1, 4, 4)]);
  assert.deepEqual(dead.map((l) => [l.load, l.panic]), [[100, true], [0, false]]);
});

test('balancer spills to the next priority in proportion and skips ejected hosts', () => {
  const hosts = [...level(0, 10, 5), ...level(1, 10, 0)];
  const lb = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN' }, seededRandom(5));
  lb.update(hosts);
  let p0 = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const h = lb.pick()!;
    assert.equal(h.health, 'HEALTHY');
    if (h.priority === 0) p0++;
  }
  assert.ok(Math.abs(p0 / n - 0.7) < 0.02, `p0 share ${p0 / n}`);
  // Eject every healthy P0 host: all traffic moves to P1.
  for (const h of hosts) if (h.priority === 0) h.ejected = true;
  lb.refresh();
  for (let i = 0; i < 200; i++) assert.equal(lb.pick()!.priority, 1);
});

test('panic mode balances over all hosts of the level, including unhealthy ones', () => {
  const hosts = level(0, 4, 3); // 25% healthy < 50% threshold, single priority
  const lb = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN' }, seededRandom(1));
  lb.update(hosts);
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) seen.add(lb.pick()!.id);
  assert.equal(seen.size, 4);
  const noPanic = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN', healthyPanicThreshold: 0 }, seededRandom(1));
  noPanic.update(hosts);
  for (let i = 0; i < 8; i++) assert.equal(noPanic.pick()!.health, 'HEALTHY');
});

test('no hosts or no usable hosts without panic: pick returns undefined', () => {
  const lb = new ClusterLoadBalancer({ policy: 'LEAST_REQUEST' }, seededRandom(1));
  lb.update([]);
  assert.equal(lb.pick(), undefined);
  lb.update(level(0, 2, 2));
  const lb2 = new ClusterLoadBalancer({ policy: 'RANDOM', healthyPanicThreshold: 0 }, seededRandom(1));
  lb2.update(level(0, 2, 2));
  assert.equal(lb2.pick(), undefined);
});

test('locality weighted: traffic split by locality weight x availability', () => {
  const a = level(0, 4, 0, 'us/a', 1);
  const b = level(0, 4, 0, 'us/b', 3);
  const lb = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN', localityWeighted: true }, seededRandom(9));
  lb.update([...a, ...b]);
  const count = (n: number) => { let inA = 0; for (let i = 0; i < n; i++) if (lb.pick()!.locality === 'us/a') inA++; return inA / n; };
  assert.ok(Math.abs(count(4000) - 0.25) < 0.01);
  // Half of b unhealthy: b availability min(1, 1.4*0.5)=0.7 -> weights 1 : 2.1.
  b[0].health = 'UNHEALTHY';
  b[1].health = 'UNHEALTHY';
  lb.refresh();
  assert.ok(Math.abs(count(6200) - 1 / 3.1) < 0.01);
});

test('ring hash balancer keeps a key on one host across picks', () => {
  const lb = new ClusterLoadBalancer({ policy: 'RING_HASH' }, seededRandom(1));
  lb.update(level(0, 5, 0));
  for (let k = 0; k < 50; k++) {
    const hash = hash53(`user${k}`);
    const first = lb.pick({ hash })!.id;
    for (let i = 0; i < 5; i++) assert.equal(lb.pick({ hash })!.id, first);
  }
});

function withHealth(priority: number, spec: Array<'HEALTHY' | 'DEGRADED' | 'UNHEALTHY'>): Host[] {
  return spec.map((health, i) => makeHost({ address: `10.${priority}.9.${i + 1}`, port: 80, priority, health }));
}

test('degraded hosts only take what healthy hosts of every priority cannot', () => {
  // P0 half healthy, half degraded: healthy 70, degraded 30.
  const lv = computePriorityLevels(withHealth(0, ['HEALTHY', 'HEALTHY', 'DEGRADED', 'DEGRADED']));
  assert.deepEqual(lv.map((l) => [l.load, l.degradedLoad]), [[70, 30]]);
  // A fully healthy P1 is preferred over P0's degraded hosts.
  const two = computePriorityLevels([...withHealth(0, ['HEALTHY', 'HEALTHY', 'DEGRADED', 'DEGRADED']), ...withHealth(1, ['HEALTHY', 'HEALTHY'])]);
  assert.deepEqual(two.map((l) => [l.load, l.degradedLoad]), [[70, 0], [30, 0]]);
  // Only degraded hosts: they carry everything, no panic.
  const deg = computePriorityLevels(withHealth(0, ['DEGRADED', 'DEGRADED']));
  assert.deepEqual(deg.map((l) => [l.load, l.degradedLoad, l.panic]), [[0, 100, false]]);

  const lb = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN' }, seededRandom(4));
  lb.update(withHealth(0, ['HEALTHY', 'HEALTHY', 'DEGRADED', 'DEGRADED']));
  let degraded = 0;
  for (let i = 0; i < 10_000; i++) if (lb.pick()!.health === 'DEGRADED') degraded++;
  assert.ok(Math.abs(degraded / 10_000 - 0.3) < 0.02, `degraded share ${degraded / 10_000}`);
});

test('a first level taking all the load is picked without a draw; panic picks still counted; refresh re-plans', () => {
  let draws = 0;
  const r = seededRandom(7);
  const counting = (): number => { draws++; return r(); };
  const hosts = [...level(0, 3, 0), ...level(1, 2, 0)];
  const lb = new ClusterLoadBalancer({ policy: 'ROUND_ROBIN' }, counting);
  lb.update(hosts);
  const before = draws;
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(lb.pick()!.address);
  assert.equal(draws, before, 'no priority draw when level 0 takes 100%');
  assert.deepEqual([...seen].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  // all of level 0 down: everything spills to level 1 (which now takes 100% itself, as the second level)
  for (const h of hosts.slice(0, 3)) h.health = 'UNHEALTHY';
  lb.refresh();
  for (let i = 0; i < 4; i++) assert.equal(lb.pick()!.address.startsWith('10.1.'), true);
  // one level, all unhealthy: panic (load 100 over all hosts) — counted per pick
  const lone = new ClusterLoadBalancer({ policy: 'LEAST_REQUEST' }, counting);
  lone.update(level(0, 2, 2));
  lone.pick(); lone.pick();
  assert.equal(lone.panicPicks, 2);
});
