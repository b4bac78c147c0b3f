// test/proxy: retries + outlier detection + explanations against real HTTP backends on 127.0.0.1:0.
// One backend answers 503, one refuses connections, one is healthy: every request still succeeds through
// retries, the bad hosts get ejected, and later requests go straight to the healthy one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { realClock } from '../../src/common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, OutlierDetectionConfig, RetryPolicyConfig } from '../../src/proxy/config/types.ts';
import { ClusterState } from '../../src/proxy/upstream/cluster-state.ts';
import { seededRandom } from '../../src/proxy/upstream/lb/random.ts';
import type { Host } from '../../src/proxy/upstream/lb/types.ts';
import { RetryState } from '../../src/proxy/http/retry.ts';
import { runWithRetries, type AttemptResult } from '../../src/proxy/http/retry-loop.ts';
import { explain } from '../../src/proxy/telemetry/response-flags.ts';

const NAME = 'outbound|8080||backend.default.svc.cluster.local';

function listen(handler: http.RequestListener): Promise<http.Server> {
  const s = http.createServer(handler);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function attempt(host: Host, _n: number, signal: AbortSignal): Promise<AttemptResult<string>> {
  return new Promise((resolve) => {
    const req = http.request({ host: host.address, port: host.port, path: '/', agent: false, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ kind: 'response', status: res.statusCode ?? 0, headers: { get: (n) => { const v = res.headers[n]; return Array.isArray(v) ? v.join(',') : v; } }, value: body }));
      res.on('error', () => resolve({ kind: 'failure', failure: 'reset-after-response' }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      resolve({ kind: 'failure', failure: e.code === 'ECONNREFUSED' ? 'connect-failure' : 'reset-before-response', detail: e.message });
    });
    req.end();
  });
}

test('retries route around a 503 backend and a dead port; outlier detection then ejects them', async () => {
  const good = await listen((_q, s) => { s.end('ok'); });
  const bad = await listen((_q, s) => { s.statusCode = 503; s.end('overloaded'); });
  const dead = await closedPort();
  const cfg: ClusterConfig = {
    name: NAME, type: 'STATIC', lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000, idleTimeoutMs: 60_000, circuitBreakers: [],
    http2: false, useDownstreamProtocol: false, transportSocketMatches: [], dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {},
    commonLbConfig: { healthyPanicThresholdPercent: 0, localityWeighted: false, zoneAware: false },
    outlierDetection: {
      consecutive5xx: 2, consecutiveGatewayFailure: 5, consecutiveLocalOriginFailure: 5, intervalMs: 60_000, baseEjectionTimeMs: 60_000,
      maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0,
      enforcingConsecutiveLocalOriginFailure: 100, enforcingSuccessRate: 0, successRateMinimumHosts: 5, successRateRequestVolume: 100,
      successRateStdevFactor: 1900, failurePercentageThreshold: 85, enforcingFailurePercentage: 0, failurePercentageMinimumHosts: 5,
      failurePercentageRequestVolume: 50, splitExternalLocalOriginErrors: false,
    } satisfies OutlierDetectionConfig,
  };
  const port = (s: http.Server) => (s.address() as net.AddressInfo).port;
  const cla: ClusterLoadAssignment = { clusterName: NAME, overprovisioningFactor: 140, dropOverloads: [], localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0,
    endpoints: [port(bad), dead, port(good)].map((p) => ({ address: '127.0.0.1', port: p, health: 'HEALTHY' as const, weight: 1, metadata: {} })) }] };
  const cs = new ClusterState(cfg, cla, { clock: realClock, random: seededRandom(3) });
  const policy: RetryPolicyConfig = { retryOn: ['5xx', 'connect-failure'], numRetries: 3, perTryTimeoutMs: 2000, perTryIdleTimeoutMs: 0, retriableStatusCodes: [],
    retriableHeaders: [], retriableRequestHeaders: [], backoff: { baseIntervalMs: 5, maxIntervalMs: 50 },
    retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 5 };
  try {
    const attemptsPerRequest: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await runWithRetries({ cluster: cs, clock: realClock, timeoutMs: 5000, retry: new RetryState(policy, { random: seededRandom(i) }), attempt });
      assert.equal(r.kind, 'response', explain(r.flags, r.explain));
      assert.equal(r.status, 200);
      assert.equal(r.kind === 'response' && r.value, 'ok');
      attemptsPerRequest.push(r.attempts);
    }
    // Both bad hosts end up ejected; afterwards every request takes exactly one attempt.
    assert.equal(cs.summary().ejected, 2);
    assert.deepEqual(attemptsPerRequest.slice(-3), [1, 1, 1]);
    assert.ok(attemptsPerRequest.some((a) => a > 1));
    const flags = cs.adminHosts().map((h) => h.healthFlags);
    assert.deepEqual(flags, ['/failed_outlier_check', '/failed_outlier_check', 'healthy']);
    // Take the good backend away: the answer is a 503 UH that says why.
    good.closeAllConnections();
    await new Promise<void>((r) => good.close(() => r()));
    const r = await runWithRetries({ cluster: cs, clock: realClock, timeoutMs: 5000, retry: new RetryState(policy, { random: seededRandom(99) }), attempt });
    assert.equal(r.status, 503);
    const why = explain(r.flags, r.explain);
    assert.match(why, /^503 (UH|UF)/);
  } finally {
    cs.close();
    bad.closeAllConnections();
    await new Promise<void>((r) => bad.close(() => r()));
    if (good.listening) await new Promise<void>((r) => good.close(() => r()));
  }
});
