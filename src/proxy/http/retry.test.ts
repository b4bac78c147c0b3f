// proxy/http: RetryState — retry_on conditions, limits (URX), budget overflow (UO), backoff bounds, host predicate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import type { RetryPolicyConfig } from '../config/types.ts';
import { seededRandom } from '../upstream/lb/random.ts';
import { CircuitBreakers, defaultThresholds } from '../upstream/circuit-breaker.ts';
import { RetryState, type AttemptOutcome } from './retry.ts';

function policy(p: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig {
  return {
    retryOn: ['5xx'], numRetries: 2, perTryTimeoutMs: 0, perTryIdleTimeoutMs: 0, retriableStatusCodes: [],
    retriableHeaders: [], retriableRequestHeaders: [], backoff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    retryHostPredicates: [], hostSelectionRetryMaxAttempts: 1, ...p,
  };
}
const hdrs = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n] });
const resp = (status: number, h: Record<string, string> = {}): AttemptOutcome => ({ kind: 'response', status, headers: hdrs(h) });
const fail = (failure: AttemptOutcome extends infer T ? T extends { kind: 'failure'; failure: infer F } ? F : never : never): AttemptOutcome => ({ kind: 'failure', failure });
const rs = (p: Partial<RetryPolicyConfig>, extra: Record<string, string> = {}) => new RetryState(policy(p), { random: seededRandom(1), requestHeaders: hdrs(extra) });

test('retry_on conditions match the right outcomes', () => {
  const cases: Array<[string[], AttemptOutcome, boolean]> = [
    [['5xx'], resp(500), true],
    [['5xx'], resp(404), false],
    [['5xx'], fail('connect-failure'), true],
    [['5xx'], fail('per-try-timeout'), true],
    [['gateway-error'], resp(500), false],
    [['gateway-error'], resp(503), true],
    [['gateway-error'], fail('reset-before-response'), true],
    [['reset'], fail('reset-before-response'), true],
    [['reset'], resp(503), false],
    [['connect-failure'], fail('connect-failure'), true],
    [['connect-failure'], fail('reset-before-response'), false],
    [['refused-stream'], fail('refused-stream'), true],
    [['refused-stream'], fail('connect-failure'), false],
    [['retriable-4xx'], resp(409), true],
    [['retriable-4xx'], resp(429), false],
    [['5xx'], fail('timeout'), false],
    [['5xx'], fail('reset-after-response'), false],
    [['5xx'], resp(503, { 'x-envoy-overloaded': 'true' }), false],
    [['unavailable'], resp(200, { 'grpc-status': '14' }), true],
    [['unavailable'], resp(200, { 'grpc-status': '13' }), false],
    [['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted'], resp(200, { 'grpc-status': '8' }), true],
    [['503'], resp(503), true], // Istio-style bare code
    [['reset-before-request'], fail('connect-failure'), true],
    [['reset-before-request'], fail('reset-before-response'), false],
    [['envoy-ratelimited'], resp(429, { 'x-envoy-ratelimited': 'true' }), true],
  ];
  for (const [on, outcome, want] of cases) {
    assert.equal(rs({ retryOn: on }).evaluate(outcome).action === 'retry', want, `${on} ${JSON.stringify(outcome)}`);
  }
});

test('retriable-status-codes and retriable-headers', () => {
  const r = rs({ retryOn: ['retriable-status-codes', 'retriable-headers'], retriableStatusCodes: [418],
    retriableHeaders: [{ name: 'x-retry-me', match: { kind: 'present', present: true }, invert: false, treatMissingAsEmpty: false }] });
  assert.equal(r.evaluate(resp(418)).action, 'retry');
  assert.equal(r.evaluate(resp(200, { 'x-retry-me': '1' })).action, 'retry');
  assert.equal(r.evaluate(resp(500)).action, 'done');
});

test('num_retries is honoured; then give up with URX', () => {
  const r = rs({ numRetries: 2 });
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const d = r.evaluate(resp(503));
    out.push(d.action === 'give-up' ? d.flag : d.action);
    if (d.action === 'retry') r.beginRetry();
  }
  assert.deepEqual(out, ['retry', 'retry', 'URX']);
  assert.equal(r.attempt, 3);
  assert.equal(r.attemptCountHeader(), '3');
});

test('no retry policy and no headers: never retries; headers alone enable it', () => {
  const none = new RetryState(undefined, { random: seededRandom(1) });
  assert.equal(none.enabled, false);
  assert.equal(none.evaluate(resp(503)).action, 'done');
  const byHeader = new RetryState(undefined, { random: seededRandom(1), requestHeaders: hdrs({ 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '3' }) });
  assert.equal(byHeader.retriesRemaining, 3);
  assert.equal(byHeader.evaluate(resp(500)).action, 'retry');
  const ignored = new RetryState(undefined, { random: seededRandom(1), requestHeaders: hdrs({ 'x-envoy-retry-on': '5xx' }), honorRequestHeaders: false });
  assert.equal(ignored.enabled, false);
  const grpc = new RetryState(undefined, { random: seededRandom(1), requestHeaders: hdrs({ 'x-envoy-retry-grpc-on': 'unavailable' }) });
  assert.equal(grpc.evaluate(resp(200, { 'grpc-status': '14' })).action, 'retry');
});

test('per-try timeout from policy, overridden by header', () => {
  assert.equal(rs({ perTryTimeoutMs: 300 }).perTryTimeoutMs, 300);
  assert.equal(rs({ perTryTimeoutMs: 300 }, { 'x-envoy-upstream-rq-per-try-timeout-ms': '50' }).perTryTimeoutMs, 50);
});

test('backoff is within [0, (2^N-1) x base) and capped at max', () => {
  const r = new RetryState(policy({ backoff: { baseIntervalMs: 25, maxIntervalMs: 250 } }), { random: seededRandom(99) });
  for (let n = 1; n <= 8; n++) {
    const upper = Math.min((2 ** n - 1) * 25, 250);
    let maxSeen = 0;
    for (let i = 0; i < 2000; i++) {
      const d = r.backoffMs(n);
      assert.ok(d >= 0 && d < upper, `n=${n} d=${d}`);
      maxSeen = Math.max(maxSeen, d);
    }
    assert.ok(maxSeen > upper * 0.9, `n=${n} jitter should use the range, max seen ${maxSeen}`);
  }
  // Default max is 10 x base.
  const d = new RetryState(policy({ backoff: { baseIntervalMs: 10, maxIntervalMs: 0 } }), { random: () => 0.999999 });
  assert.equal(d.backoffMs(10), 99);
});

test('max_retries breaker overflow gives up with UO; slot held only during backoff', async () => {
  const cb = new CircuitBreakers([{ ...defaultThresholds(), maxRetries: 1 }]);
  const clock = new FakeClock();
  const a = new RetryState(policy({ numRetries: 5 }), { random: seededRandom(1), breaker: cb.forPriority() });
  const b = new RetryState(policy({ numRetries: 5 }), { random: seededRandom(2), breaker: cb.forPriority() });
  const da = a.evaluate(resp(503));
  assert.equal(da.action, 'retry');
  const db = b.evaluate(resp(503));
  assert.deepEqual(db.action === 'give-up' && db.flag, 'UO');
  const waited = a.backoff(clock, da.action === 'retry' ? da.delayMs : 0);
  clock.advance(1000);
  await waited;
  assert.equal(a.attempt, 2);
  assert.equal(cb.forPriority().stats.active.retries, 0);
  assert.equal(b.evaluate(resp(503)).action, 'retry');
  b.dispose();
  assert.equal(cb.forPriority().stats.active.retries, 0);
});

test('previous_hosts predicate rejects hosts already tried', () => {
  const r = rs({ retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 3 });
  r.recordHost({ id: 'a:1' });
  assert.equal(r.rejectHost({ id: 'a:1' }), true);
  assert.equal(r.rejectHost({ id: 'b:1' }), false);
  assert.equal(r.hostSelectionRetryMaxAttempts, 3);
  const plain = rs({});
  plain.recordHost({ id: 'a:1' });
  assert.equal(plain.rejectHost({ id: 'a:1' }), false);
});

test('retriable_request_headers gate retries; disable() turns them off', () => {
  const gated = rs({ retriableRequestHeaders: [{ name: ':method', match: { kind: 'string', string: { kind: 'exact', value: 'GET', ignoreCase: false } }, invert: false, treatMissingAsEmpty: false }] }, { ':method': 'POST' });
  assert.equal(gated.enabled, false);
  assert.equal(gated.evaluate(resp(503)).action, 'done');
  const r = rs({});
  r.disable('body larger than the 64 KiB retry buffer');
  assert.equal(r.evaluate(resp(503)).action, 'done');
});
