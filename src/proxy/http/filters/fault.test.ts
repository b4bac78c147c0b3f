// proxy/http/filters: fault injection — percentages, header control, gRPC aborts, max active faults, delay on FakeClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../common/clock.ts';
import type { FaultConfig } from '../../config/types.ts';
import { seededRandom } from '../../upstream/lb/random.ts';
import { FaultFilter, effectiveFaultConfig, FAULT_ABORT_BODY } from './fault.ts';

const hdrs = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n] });
const pct = (n: number) => ({ numerator: n, denominator: 100 as const });
function cfg(c: Partial<FaultConfig>): FaultConfig {
  return { headers: [], downstreamNodes: [], ...c };
}

test('fixed delay at 100% sets DI and waits on the clock', async () => {
  const f = new FaultFilter(seededRandom(1));
  const clock = new FakeClock();
  const plan = f.plan(cfg({ delay: { fixedDelayMs: 500, percentage: pct(100), headerControlled: false } }), { headers: hdrs() })!;
  assert.deepEqual(plan.flags, ['DI']);
  assert.equal(plan.delayMs, 500);
  let done = false;
  const p = f.delay(plan, clock).then(() => { done = true; });
  clock.advance(499);
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  await p;
  assert.equal(done, true);
  plan.release();
  assert.equal(f.active, 0);
});

test('abort percentage is sampled: 25% of 10k requests within tolerance', () => {
  const f = new FaultFilter(seededRandom(7));
  const c = cfg({ abort: { httpStatus: 503, percentage: pct(25), headerControlled: false } });
  let aborted = 0;
  for (let i = 0; i < 10_000; i++) {
    const p = f.plan(c, { headers: hdrs() });
    if (p) { assert.equal(p.abort!.status, 503); assert.equal(p.abort!.body, FAULT_ABORT_BODY); assert.deepEqual(p.flags, ['FI']); aborted++; p.release(); }
  }
  assert.ok(Math.abs(aborted / 10_000 - 0.25) < 0.02, `${aborted}`);
  assert.equal(f.plan(cfg({ abort: { httpStatus: 503, percentage: pct(0), headerControlled: false } }), { headers: hdrs() }), undefined);
  assert.ok(f.plan(cfg({ abort: { httpStatus: 503, percentage: { numerator: 1, denominator: 1_000_000 }, headerControlled: false } }), { headers: hdrs() }) === undefined);
});

test('delay and abort together carry both flags', () => {
  const f = new FaultFilter(seededRandom(1));
  const p = f.plan(cfg({ delay: { fixedDelayMs: 10, percentage: pct(100), headerControlled: false }, abort: { httpStatus: 418, percentage: pct(100), headerControlled: false } }), { headers: hdrs() })!;
  assert.deepEqual(p.flags, ['DI', 'FI']);
});

test('gRPC abort: trailers-only 200 with grpc-status; HTTP abort on gRPC request is mapped', () => {
  const f = new FaultFilter(seededRandom(1));
  const g = f.plan(cfg({ abort: { grpcStatus: 14, percentage: pct(100), headerControlled: false } }), { headers: hdrs() })!;
  assert.equal(g.abort!.status, 200);
  assert.deepEqual(g.abort!.headers.find(([k]) => k === 'grpc-status'), ['grpc-status', '14']);
  const mapped = f.plan(cfg({ abort: { httpStatus: 503, percentage: pct(100), headerControlled: false } }), { headers: hdrs(), grpc: true })!;
  assert.equal(mapped.abort!.grpcStatus, 14);
});

test('x-envoy-fault headers are ignored unless the fault is header-controlled', () => {
  const f = new FaultFilter(seededRandom(1));
  const req = { headers: hdrs({ 'x-envoy-fault-abort-request': '500', 'x-envoy-fault-delay-request': '100' }) };
  assert.equal(f.plan(cfg({ abort: { httpStatus: 503, percentage: pct(0), headerControlled: false } }), req), undefined);
  const hc = cfg({ abort: { percentage: pct(100), headerControlled: true }, delay: { fixedDelayMs: 0, percentage: pct(100), headerControlled: true } });
  const p = f.plan(hc, req)!;
  assert.equal(p.abort!.status, 500);
  assert.equal(p.delayMs, 100);
  // Header-controlled but no headers: nothing.
  assert.equal(f.plan(hc, { headers: hdrs() }), undefined);
  // Out-of-range status from a header is ignored.
  assert.equal(f.plan(cfg({ abort: { percentage: pct(100), headerControlled: true } }), { headers: hdrs({ 'x-envoy-fault-abort-request': '999' }) }), undefined);
  // A percentage header can lower, never raise, the configured percentage.
  const low = cfg({ abort: { percentage: pct(100), headerControlled: true } });
  assert.equal(f.plan(low, { headers: hdrs({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '0' }) }), undefined);
  const capped = cfg({ abort: { percentage: pct(0), headerControlled: true } });
  assert.equal(f.plan(capped, { headers: hdrs({ 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '100' }) }), undefined);
});

test('header matchers, upstream cluster, downstream nodes and max active faults gate faults', () => {
  const f = new FaultFilter(seededRandom(1));
  const abort = { httpStatus: 503, percentage: pct(100), headerControlled: false };
  const byHeader = cfg({ abort, headers: [{ name: 'x-user', match: { kind: 'string', string: { kind: 'exact', value: 'jason', ignoreCase: false } }, invert: false, treatMissingAsEmpty: false }] });
  assert.equal(f.plan(byHeader, { headers: hdrs({ 'x-user': 'bob' }) }), undefined);
  assert.ok(f.plan(byHeader, { headers: hdrs({ 'x-user': 'jason' }) }));
  assert.equal(f.plan(cfg({ abort, upstreamCluster: 'a' }), { headers: hdrs(), cluster: 'b' }), undefined);
  assert.equal(f.plan(cfg({ abort, downstreamNodes: ['n1'] }), { headers: hdrs({ 'x-envoy-downstream-service-node': 'n2' }) }), undefined);
  const limited = new FaultFilter(seededRandom(1));
  const c = cfg({ abort, maxActiveFaults: 2 });
  const a = limited.plan(c, { headers: hdrs() })!;
  limited.plan(c, { headers: hdrs() });
  assert.equal(limited.plan(c, { headers: hdrs() }), undefined);
  assert.equal(limited.stats.faultsOverflow, 1);
  a.release();
  a.release();
  assert.ok(limited.plan(c, { headers: hdrs() }));
});

test('route per-filter config overrides the filter config', () => {
  const base = cfg({ abort: { httpStatus: 500, percentage: pct(100), headerControlled: false } });
  const route = cfg({ abort: { httpStatus: 418, percentage: pct(100), headerControlled: false } });
  assert.equal(effectiveFaultConfig(base, { disabledFilters: [], fault: route }, undefined), route);
  assert.equal(effectiveFaultConfig(base, { disabledFilters: [] }), base);
});

test('a delay is cut short when the downstream aborts', async () => {
  const f = new FaultFilter(seededRandom(1));
  const clock = new FakeClock();
  const plan = f.plan(cfg({ delay: { fixedDelayMs: 5000, percentage: pct(100), headerControlled: false } }), { headers: hdrs() })!;
  const ac = new AbortController();
  const p = f.delay(plan, clock, ac.signal);
  ac.abort();
  assert.equal(await p, false);
  assert.equal(clock.pending(), 0);
  plan.release();
});
