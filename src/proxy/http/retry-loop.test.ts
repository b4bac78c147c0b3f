// proxy/http: the attempt loop on FakeClock — retries to other hosts, per-try and route timeouts, UH after
// ejection with its explanation, URX / UO flags, breaker accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, OutlierDetectionConfig, RetryPolicyConfig } from '../config/types.ts';
import { seededRandom } from '../upstream/lb/random.ts';
import { ClusterState } from '../upstream/cluster-state.ts';
import { explain } from '../telemetry/response-flags.ts';
import { RetryState } from './retry.ts';
import { runWithRetries, type AttemptResult } from './retry-loop.ts';

const NAME = 'outbound|9080|v2|reviews.default.svc.cluster.local';
function cluster(extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: NAME, type: 'EDS', lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 5000, idleTimeoutMs: 3_600_000,
    circuitBreakers: [], http2: false, useDownstreamProtocol: false, transportSocketMatches: [],
    commonLbConfig: { healthyPanicThresholdPercent: 0, localityWeighted: false, zoneAware: false },
    dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {}, ...extra,
  };
}
function cla(n: number): ClusterLoadAssignment {
  return { clusterName: NAME, overprovisioningFactor: 140, dropOverloads: [], localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0,
    endpoints: Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 9080, health: 'HEALTHY' as const, weight: 1, metadata: {} })) }] };
}
function policy(p: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig {
  return { retryOn: ['5xx', 'connect-failure'], numRetries: 2, perTryTimeoutMs: 0, perTryIdleTimeoutMs: 0, retriableStatusCodes: [], retriableHeaders: [],
    retriableRequestHeaders: [], backoff: { baseIntervalMs: 25, maxIntervalMs: 250 }, retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 5, ...p };
}
const outlier: OutlierDetectionConfig = {
  consecutive5xx: 1, consecutiveGatewayFailure: 5, consecutiveLocalOriginFailure: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100, enforcingSuccessRate: 0, successRateMinimumHosts: 5, successRateRequestVolume: 100,
  successRateStdevFactor: 1900, failurePercentageThreshold: 85, enforcingFailurePercentage: 0, failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50, splitExternalLocalOriginErrors: false,
};
const ok = (status: number, value = 'body'): AttemptResult<string> => ({ kind: 'response', status, headers: { get: () => undefined }, value });

/** Drive the FakeClock until the loop settles (bounded). */
async function settle<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const r = p.finally(() => { done = true; });
  for (let i = 0; i < 200 && !done; i++) { await new Promise((res) => setImmediate(res)); clock.advance(10); }
  return r;
}

test('a 503 is retried on a different host and the success is forwarded', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster(), cla(3), { clock, random: seededRandom(1) });
  const tried: string[] = [];
  const discarded: string[] = [];
  const res = await settle(clock, runWithRetries({
    cluster: cs, clock, retry: new RetryState(policy(), { random: seededRandom(2) }),
    attempt: async (h) => { tried.push(h.id); return tried.length === 1 ? ok(503, 'bad') : ok(200); },
    discard: (v) => discarded.push(v),
  }));
  assert.equal(res.kind, 'response');
  assert.equal(res.status, 200);
  assert.equal(res.attempts, 2);
  assert.equal(new Set(tried).size, 2);
  assert.deepEqual(discarded, ['bad']);
  assert.equal(res.flags.toString(), '-');
  assert.equal(cs.hosts.reduce((a, h) => a + h.activeRequests, 0), 0);
  assert.equal(cs.breakers.forPriority().stats.active.requests, 0);
  const st = cs.stats();
  assert.deepEqual([st.upstream_rq_total, st.upstream_rq_retry, st.upstream_rq_retry_success], [2, 1, 1]);
});

test('retries exhausted on connect failures: 503 UF,URX with an explanation', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster(), cla(3), { clock, random: seededRandom(1) });
  const res = await settle(clock, runWithRetries({
    cluster: cs, clock, retry: new RetryState(policy(), { random: seededRandom(2) }),
    attempt: async () => ({ kind: 'failure', failure: 'connect-failure', detail: 'connect ECONNREFUSED' }),
  }));
  assert.equal(res.kind, 'local-reply');
  assert.equal(res.status, 503);
  assert.equal(res.flags.toString(), 'UF,URX');
  assert.equal(res.attempts, 3);
  assert.match(explain(res.flags, res.explain), /^503 UF,URX: could not connect to 10\.0\.0\.\d:9080 in outbound\|9080\|v2\|reviews.*gave up after 2 retries/);
  const st = cs.stats();
  assert.deepEqual([st.upstream_rq_total, st.upstream_cx_connect_fail, st.upstream_rq_retry, st.upstream_rq_retry_limit_exceeded], [3, 3, 2, 1]);
});

test('per-try timeout aborts the attempt, retries, and ends as 504 UT,URX', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster(), cla(2), { clock, random: seededRandom(1) });
  let aborted = 0;
  const res = await settle(clock, runWithRetries({
    cluster: cs, clock, retry: new RetryState(policy({ perTryTimeoutMs: 100, numRetries: 1 }), { random: seededRandom(2) }),
    attempt: (_h, _n, signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted++; resolve({ kind: 'failure', failure: 'reset-before-response' }); })),
  }));
  assert.equal(res.status, 504);
  assert.equal(res.flags.toString(), 'UT,URX');
  assert.equal(aborted, 2);
  assert.match(explain(res.flags, res.explain), /per-try timeout of 100 ms/);
});

test('the route timeout stops retries: 504 UT without URX', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster(), cla(2), { clock, random: seededRandom(1) });
  const res = await settle(clock, runWithRetries({
    cluster: cs, clock, timeoutMs: 150, retry: new RetryState(policy({ perTryTimeoutMs: 100, numRetries: 5 }), { random: seededRandom(2) }),
    attempt: (_h, _n, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'failure', failure: 'reset-before-response' }))),
  }));
  assert.equal(res.status, 504);
  assert.equal(res.flags.toString(), 'UT');
  assert.ok(clock.now() >= 150 && clock.now() < 400);
});

test('outlier detection ejects failing hosts; the next request gets 503 UH explained', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier }), cla(3), { clock, random: seededRandom(1) });
  const first = await settle(clock, runWithRetries({
    cluster: cs, clock, retry: new RetryState(policy(), { random: seededRandom(2) }), attempt: async () => ok(503),
  }));
  assert.equal(first.kind, 'response');
  assert.equal(first.status, 503);
  assert.equal(first.flags.toString(), 'URX');
  const second = await settle(clock, runWithRetries({
    cluster: cs, clock, retry: new RetryState(policy(), { random: seededRandom(2) }), attempt: async () => ok(200),
  }));
  assert.equal(second.kind, 'local-reply');
  assert.equal(second.status, 503);
  assert.equal(explain(second.flags, second.explain), `503 UH: no healthy upstream in ${NAME}: all 3 endpoints ejected by outlier detection`);
  cs.close();
});

test('request breaker overflow answers 503 UO naming the limit', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 10, maxPendingRequests: 10, maxRequests: 1, maxRetries: 3 }] }), cla(2), { clock, random: seededRandom(1) });
  let release!: () => void;
  const slow = runWithRetries<string>({
    cluster: cs, clock, retry: new RetryState(undefined, { random: seededRandom(2) }),
    attempt: () => new Promise((resolve) => { release = () => resolve(ok(200)); }),
  });
  await new Promise((r) => setImmediate(r));
  const res = await runWithRetries({ cluster: cs, clock, retry: new RetryState(undefined, { random: seededRandom(2) }), attempt: async () => ok(200) });
  assert.equal(res.status, 503);
  assert.equal(res.flags.toString(), 'UO');
  assert.match(explain(res.flags, res.explain), /requests at its limit of 1/);
  release();
  assert.equal((await slow).status, 200);
});

test('downstream abort cancels the attempt or the backoff: status 0, flag DC, no outlier report', async () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier }), cla(2), { clock, random: seededRandom(1) });
  const ac = new AbortController();
  let cancelled = false;
  const p = runWithRetries<string>({
    cluster: cs, clock, signal: ac.signal, retry: new RetryState(policy(), { random: seededRandom(2) }),
    attempt: (_h, _n, signal) => new Promise((resolve) => signal.addEventListener('abort', () => { cancelled = true; resolve({ kind: 'failure', failure: 'reset-before-response' }); })),
  });
  await new Promise((r) => setImmediate(r));
  ac.abort();
  const res = await p;
  assert.equal(cancelled, true);
  assert.deepEqual([res.status, res.flags.toString()], [0, 'DC']);
  assert.equal(cs.summary().ejected, 0);

  // Abort during the backoff between attempts.
  const ac2 = new AbortController();
  const p2 = runWithRetries<string>({
    cluster: cs, clock, signal: ac2.signal, retry: new RetryState(policy({ backoff: { baseIntervalMs: 1000, maxIntervalMs: 10_000 } }), { random: () => 0.99 }),
    attempt: async () => ({ kind: 'failure', failure: 'connect-failure' }),
  });
  await new Promise((r) => setImmediate(r));
  ac2.abort();
  const res2 = await p2;
  assert.equal(res2.flags.toString(), 'DC');
  assert.equal(res2.attempts, 1);
  assert.equal(clock.pending(), 0 + (cs.outlier ? 1 : 0)); // only the outlier sweep timer is left
  assert.equal(cs.breakers.forPriority().stats.active.retries, 0);
  cs.close();
});
