// proxy/upstream: outlier detection on FakeClock — consecutive errors, growing ejection time, max percent, sweeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import { makeHost, type Host } from './lb/types.ts';
import { seededRandom } from './lb/random.ts';
import { OutlierDetector, type OutlierConfig } from './outlier.ts';

function setup(n: number, cfg: OutlierConfig = {}) {
  const clock = new FakeClock(0);
  const hosts: Host[] = Array.from({ length: n }, (_, i) => makeHost({ address: `10.0.0.${i + 1}`, port: 80 }));
  const events: string[] = [];
  const od = new OutlierDetector({ maxEjectionPercent: 100, ...cfg }, clock, seededRandom(1), (h, ej, why) => events.push(`${h.id} ${ej ? `ejected ${why}` : 'returned'}`));
  od.setHosts(hosts);
  od.start();
  return { clock, hosts, od, events };
}

test('five consecutive 5xx eject; a success in between resets the count', () => {
  const { hosts, od, events } = setup(3);
  const h = hosts[0];
  for (let i = 0; i < 4; i++) od.reportHttp(h, 500);
  od.reportHttp(h, 200);
  for (let i = 0; i < 4; i++) od.reportHttp(h, 500);
  assert.equal(h.ejected, false);
  od.reportHttp(h, 500);
  assert.equal(h.ejected, true);
  assert.deepEqual(events, ['10.0.0.1:80 ejected consecutive_5xx']);
  assert.equal(od.state(h)!.lastEjectionReason, 'consecutive_5xx');
  assert.equal(od.stats.ejectionsActive, 1);
});

test('ejection time grows with each ejection and is capped by max_ejection_time', () => {
  const { clock, hosts, od } = setup(2, { intervalMs: 1000, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 25_000, consecutive5xx: 1 });
  const h = hosts[0];
  const durations: number[] = [];
  for (let round = 0; round < 4; round++) {
    od.reportHttp(h, 503);
    assert.equal(h.ejected, true);
    const start = clock.now();
    let guard = 0;
    while (h.ejected && guard++ < 1000) clock.advance(1000);
    durations.push(clock.now() - start);
  }
  // base x 1, x 2, then capped at 25 s (x3 = 30 s > 25 s), sweeps every 1 s.
  assert.deepEqual(durations, [10_000, 20_000, 25_000, 25_000]);
  assert.equal(od.state(h)!.ejections, 4);
});

test('the multiplier decays one step per healthy interval, so a later ejection is short again', () => {
  const { clock, hosts, od } = setup(2, { intervalMs: 1000, baseEjectionTimeMs: 5000, consecutive5xx: 1 });
  const h = hosts[0];
  od.reportHttp(h, 500);
  clock.advance(5000);
  assert.equal(h.ejected, false);
  od.reportHttp(h, 500);
  assert.equal(od.state(h)!.multiplier, 2);
  clock.advance(10_000);
  assert.equal(h.ejected, false);
  clock.advance(5000); // five healthy intervals: multiplier 2 -> 0
  assert.equal(od.state(h)!.multiplier, 0);
  od.reportHttp(h, 500);
  assert.equal(od.state(h)!.ejectedUntilMs! - clock.now(), 5000);
});

test('un-ejection happens at the first sweep after the ejection time', () => {
  const { clock, hosts, od, events } = setup(3, { intervalMs: 10_000, baseEjectionTimeMs: 30_000 });
  clock.advance(1000);
  for (let i = 0; i < 5; i++) od.reportHttp(hosts[1], 500);
  clock.advance(29_000); // t = 30 s: ejected 29 s ago
  assert.equal(hosts[1].ejected, true);
  clock.advance(10_000); // t = 40 s sweep
  assert.equal(hosts[1].ejected, false);
  assert.equal(events.at(-1), '10.0.0.2:80 returned');
  assert.equal(od.stats.ejectionsActive, 0);
});

test('max ejection percent is honoured; overflow is counted; always_eject_one_host allows one', () => {
  const { hosts, od } = setup(10, { maxEjectionPercent: 20 });
  for (const h of hosts) for (let i = 0; i < 5; i++) od.reportHttp(h, 500);
  assert.equal(hosts.filter((h) => h.ejected).length, 2);
  assert.equal(od.stats.ejectionsOverflow, 8);

  const small = setup(3, { maxEjectionPercent: 10 });
  for (const h of small.hosts) for (let i = 0; i < 5; i++) small.od.reportHttp(h, 500);
  assert.equal(small.hosts.filter((h) => h.ejected).length, 0);

  const one = setup(3, { maxEjectionPercent: 10, alwaysEjectOneHost: true });
  for (const h of one.hosts) for (let i = 0; i < 5; i++) one.od.reportHttp(h, 500);
  assert.equal(one.hosts.filter((h) => h.ejected).length, 1);
});

test('gateway failures eject only when enforced (Envoy default enforcing is 0%)', () => {
  const off = setup(2, { consecutive5xx: 100 });
  for (let i = 0; i < 10; i++) off.od.reportHttp(off.hosts[0], 502);
  assert.equal(off.hosts[0].ejected, false);
  assert.equal(off.od.stats.ejectionsDetected.consecutive_gateway_failure, 2);
  const on = setup(2, { consecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 });
  on.od.reportHttp(on.hosts[0], 502);
  on.od.reportHttp(on.hosts[0], 500); // 500 is not a gateway error: resets the gateway count
  on.od.reportHttp(on.hosts[0], 503);
  on.od.reportHttp(on.hosts[0], 504);
  assert.equal(on.hosts[0].ejected, false);
  on.od.reportHttp(on.hosts[0], 502);
  assert.equal(on.hosts[0].ejected, true);
  assert.equal(on.od.state(on.hosts[0])!.lastEjectionReason, 'consecutive_gateway_failure');
});

test('local-origin errors: mapped to 5xx by default, own counter in split mode', () => {
  const mapped = setup(2);
  for (let i = 0; i < 5; i++) mapped.od.reportLocal(mapped.hosts[0], 'connect_failed');
  assert.equal(mapped.hosts[0].ejected, true);
  assert.equal(mapped.od.state(mapped.hosts[0])!.lastEjectionReason, 'consecutive_5xx');

  const split = setup(2, { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3 });
  const h = split.hosts[0];
  split.od.reportLocal(h, 'connect_failed');
  split.od.reportLocal(h, 'timeout');
  split.od.reportLocal(h, 'connect_success');
  split.od.reportLocal(h, 'connect_failed');
  split.od.reportLocal(h, 'connect_failed');
  assert.equal(h.ejected, false);
  split.od.reportLocal(h, 'reset');
  assert.equal(h.ejected, true);
  assert.equal(split.od.state(h)!.lastEjectionReason, 'consecutive_local_origin_failure');
  // In split mode, 5xx responses do not touch the local-origin counter and vice versa.
  assert.equal(split.od.state(h)!.consecutive5xx, 0);
});

test('success rate sweep ejects the host far below the mean', () => {
  const { clock, hosts, od } = setup(6, { consecutive5xx: 1000, successRateRequestVolume: 50, intervalMs: 1000 });
  for (const [i, h] of hosts.entries()) {
    for (let k = 0; k < 100; k++) od.reportHttp(h, i === 5 ? (k % 2 ? 500 : 200) : (k === 0 ? 500 : 200));
  }
  clock.advance(1000);
  assert.deepEqual(hosts.map((h) => h.ejected), [false, false, false, false, false, true]);
  assert.equal(od.state(hosts[5])!.lastEjectionReason, 'success_rate');
  assert.equal(od.state(hosts[0])!.successRate, 99);
});

test('failure percentage ejects when enforced and volume suffices', () => {
  const { clock, hosts, od } = setup(5, { consecutive5xx: 1000, enforcingSuccessRate: 0, enforcingFailurePercentage: 100, failurePercentageRequestVolume: 10, intervalMs: 1000 });
  for (const [i, h] of hosts.entries()) for (let k = 0; k < 20; k++) od.reportHttp(h, i === 0 && k < 18 ? 500 : 200);
  clock.advance(1000);
  assert.deepEqual(hosts.map((h) => h.ejected), [true, false, false, false, false]);
});

test('setHosts keeps state by id and drops removed hosts; stop() cancels the timer', () => {
  const { clock, hosts, od } = setup(3, { consecutive5xx: 1 });
  od.reportHttp(hosts[0], 500);
  const replacement = [makeHost({ address: '10.0.0.1', port: 80 }), makeHost({ address: '10.0.0.9', port: 80 })];
  od.setHosts(replacement);
  assert.equal(replacement[0].ejected, true);
  assert.equal(od.state('10.0.0.2:80'), undefined);
  od.stop();
  assert.equal(clock.pending(), 0);
});

test('a consecutive threshold of 0 disables that check (Istio sends 0 for unset fields)', () => {
  const { hosts, od } = setup(2, { consecutive5xx: 0, consecutiveGatewayFailure: 0, enforcingConsecutiveGatewayFailure: 100 });
  for (let i = 0; i < 20; i++) od.reportHttp(hosts[0], 503);
  assert.equal(hosts[0].ejected, false);
  assert.equal(od.stats.ejectionsDetected.consecutive_5xx, 0);
});

test('results for hosts no longer in the set are ignored', () => {
  const { od } = setup(2, { consecutive5xx: 1 });
  const gone = makeHost({ address: '10.9.9.9', port: 80 });
  od.reportHttp(gone, 500);
  od.reportLocal(gone, 'connect_failed');
  assert.equal(gone.ejected, false);
  assert.equal(od.state(gone), undefined);
  assert.equal(od.stats.ejectionsActive, 0);
});

/** A detector whose Random returns the given values in turn (then the last one). */
function scripted(n: number, cfg: OutlierConfig, values: number[]) {
  const clock = new FakeClock(0);
  const hosts: Host[] = Array.from({ length: n }, (_, i) => makeHost({ address: `10.1.0.${i + 1}`, port: 80 }));
  let i = 0;
  const od = new OutlierDetector({ maxEjectionPercent: 100, ...cfg }, clock, () => values[Math.min(i++, values.length - 1)]!);
  od.setHosts(hosts);
  od.start();
  return { clock, hosts, od };
}

test('the multiplier stops growing at (max + base) / base, so a long-failing host recovers in bounded healthy intervals', () => {
  const { clock, hosts, od } = setup(2, { intervalMs: 1000, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 25_000, consecutive5xx: 1 });
  const h = hosts[0];
  for (let round = 0; round < 10; round++) {
    od.reportHttp(h, 500);
    let guard = 0;
    while (h.ejected && guard++ < 100) clock.advance(1000);
    assert.equal(h.ejected, false);
  }
  // Grows while 10 s x m < 25 s + 10 s: 1, 2, 3, 4, then stays at 4 (an unbounded count would be 10).
  assert.equal(od.state(h)!.ejections, 10);
  assert.equal(od.state(h)!.multiplier, 4);
  // Four healthy sweeps after its return bring it back to 0: the next ejection is base-long again.
  clock.advance(4000);
  assert.equal(od.state(h)!.multiplier, 0);
  od.reportHttp(h, 500);
  assert.equal(od.state(h)!.ejectedUntilMs! - clock.now(), 10_000);
});

test('an ejected host returns at the interval sweep after its time, not at an exact timer; jitter adds to the time', () => {
  // Sweeps at 7 s, 14 s, 21 s...; ejected at t = 3 s for 10 s (+ jitter 0..4 s from Random 0.5 -> 2 s): eligible at 15 s.
  const { clock, hosts, od } = scripted(2, { intervalMs: 7000, baseEjectionTimeMs: 10_000, maxEjectionTimeJitterMs: 4000, consecutive5xx: 1 }, [0, 0.5]);
  clock.advance(3000);
  od.reportHttp(hosts[0], 500);
  assert.equal(od.state(hosts[0])!.ejectedUntilMs, 15_000);
  clock.advance(11_000); // t = 14 s sweep: 11 s < 12 s
  assert.equal(hosts[0].ejected, true);
  clock.advance(6999); // t = 20.999 s: time is up, but no sweep yet
  assert.equal(hosts[0].ejected, true);
  clock.advance(1); // t = 21 s sweep
  assert.equal(hosts[0].ejected, false);
});

test('enforcing_* percentages: detected always counts; the ejection happens only when Random falls under the percentage', () => {
  // enforcing_consecutive_5xx 30%: Random 0.5 -> not enforced, 0.2 -> enforced.
  const { hosts, od } = scripted(2, { consecutive5xx: 2, enforcingConsecutive5xx: 30 }, [0.5, 0.2]);
  for (let i = 0; i < 2; i++) od.reportHttp(hosts[0], 500);
  assert.equal(hosts[0].ejected, false);
  assert.equal(od.stats.ejectionsDetected.consecutive_5xx, 1);
  assert.equal(od.stats.ejectionsEnforcedTotal, 0);
  assert.equal(od.state(hosts[0])!.consecutive5xx, 0, 'the count restarts after a detection, enforced or not');
  for (let i = 0; i < 2; i++) od.reportHttp(hosts[0], 500);
  assert.equal(hosts[0].ejected, true);
  assert.equal(od.stats.ejectionsDetected.consecutive_5xx, 2);
  assert.equal(od.stats.ejectionsEnforcedTotal, 1);
  // enforcing 0 never ejects, 100 always does.
  const never = scripted(2, { consecutive5xx: 1, enforcingConsecutive5xx: 0 }, [0]);
  never.od.reportHttp(never.hosts[0], 500);
  assert.equal(never.hosts[0].ejected, false);
  const always = scripted(2, { consecutive5xx: 1, enforcingConsecutive5xx: 100 }, [0.999]);
  always.od.reportHttp(always.hosts[0], 500);
  assert.equal(always.hosts[0].ejected, true);
});

test('max_ejection_percent above 100 acts as 100; the percentage counts every host of the cluster', () => {
  const { hosts, od } = setup(4, { maxEjectionPercent: 250, consecutive5xx: 1 });
  for (const h of hosts) od.reportHttp(h, 500);
  assert.equal(hosts.filter((h) => h.ejected).length, 4);
  assert.equal(od.config.maxEjectionPercent, 100);
  // 50% of 4 hosts: the third ejection would make 75%.
  const half = setup(4, { maxEjectionPercent: 50, consecutive5xx: 1 });
  for (const h of half.hosts) half.od.reportHttp(h, 500);
  assert.equal(half.hosts.filter((h) => h.ejected).length, 2);
  assert.equal(half.od.stats.ejectionsOverflow, 2);
});

test('failure percentage: ejected hosts do not count toward failure_percentage_minimum_hosts', () => {
  const cfg: OutlierConfig = { consecutive5xx: 1000, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100, enforcingSuccessRate: 0, enforcingFailurePercentage: 100, failurePercentageRequestVolume: 10, failurePercentageMinimumHosts: 5, intervalMs: 1000, baseEjectionTimeMs: 60_000 };
  const { clock, hosts, od } = setup(5, cfg);
  for (let i = 0; i < 3; i++) od.reportHttp(hosts[4], 502); // host 5 ejected by consecutive gateway failures
  assert.equal(hosts[4].ejected, true);
  for (const [i, h] of hosts.entries()) for (let k = 0; k < 20; k++) od.reportHttp(h, i === 0 && k % 10 < 9 ? 500 : 200);
  clock.advance(1000);
  // Host 1 fails 90%, but only 4 hosts are eligible (host 5 is ejected): no failure-percentage ejection.
  assert.equal(hosts[0].ejected, false);
  assert.equal(od.stats.ejectionsDetected.failure_percentage, 0);
  // Once host 5 is back (and has volume again), five hosts are eligible and host 1 is ejected.
  clock.advance(60_000);
  assert.equal(hosts[4].ejected, false);
  for (const [i, h] of hosts.entries()) for (let k = 0; k < 20; k++) od.reportHttp(h, i === 0 && k % 10 < 9 ? 500 : 200);
  clock.advance(1000);
  assert.equal(hosts[0].ejected, true);
  assert.equal(od.state(hosts[0])!.lastEjectionReason, 'failure_percentage');
});
