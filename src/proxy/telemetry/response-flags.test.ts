// proxy/telemetry: response flag set formatting and plain-language explanations of common 503s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseFlags, RESPONSE_FLAGS, explain, explainFlags, describeEndpoints, flagInfo } from './response-flags.ts';

const CLUSTER = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const base = { total: 3, healthy: 0, unhealthy: 0, degraded: 0, draining: 0, ejected: 0, panicPriorities: [] as number[] };

test('flags print in Envoy order, "-" when empty, and parse back', () => {
  const f = new ResponseFlags(['URX', 'UF', 'UH']);
  assert.equal(f.toString(), 'UH,UF,URX');
  assert.equal(f.toLongString(), 'NoHealthyUpstream,UpstreamConnectionFailure,UpstreamRetryLimitExceeded');
  assert.equal(new ResponseFlags().toString(), '-');
  const { flags, unknown } = ResponseFlags.parse('URX, NoRouteFound,XX,-');
  assert.deepEqual(flags.list(), ['NR', 'URX']);
  assert.deepEqual(unknown, ['XX']);
  assert.equal(f.has('UF'), true);
  assert.equal(f.has('UO'), false);
  assert.equal(new Set(RESPONSE_FLAGS.map((x) => x.short)).size, RESPONSE_FLAGS.length);
  assert.equal(flagInfo('UMSDR').long, 'UpstreamMaxStreamDurationReached');
});

test('UH explains ejected endpoints, naming the cluster', () => {
  const text = explain(['UH'], { status: 503, cluster: CLUSTER, endpoints: { ...base, ejected: 3 } });
  assert.equal(text, `503 UH: no healthy upstream in ${CLUSTER}: all 3 endpoints ejected by outlier detection`);
});

test('UH with mixed causes, empty clusters and panic', () => {
  assert.equal(describeEndpoints({ ...base, ejected: 1, unhealthy: 2 }), '1 of 3 endpoints ejected by outlier detection, 2 of 3 endpoints marked unhealthy by EDS health status');
  assert.equal(describeEndpoints({ ...base, total: 0 }), 'the cluster has no endpoints (EDS sent none, or all were removed)');
  assert.match(describeEndpoints({ ...base, total: 1, unhealthy: 1, panicPriorities: [0] }), /^the only endpoint marked unhealthy.*panic mode .* priority 0/);
  assert.equal(describeEndpoints({ ...base, healthy: 3, note: 'no locality weights' }), '3 healthy endpoints of 3; no locality weights');
});

test('NR, NC, UO, URX, UF, UT, FI name route, cluster and limits', () => {
  assert.equal(explainFlags(['NR'], { method: 'GET', authority: 'reviews:9080', path: '/x', routeConfig: '9080' })[0],
    'no route matched GET reviews:9080/x in route config "9080" (no virtual host matched the authority, or none of its routes matched)');
  assert.match(explainFlags(['NC'], { cluster: 'outbound|80||ghost', route: 'r1' })[0], /route "r1".*cluster outbound\|80\|\|ghost, which this proxy does not know/);
  assert.equal(explainFlags(['UO'], { cluster: CLUSTER, breaker: { resource: 'pending requests', limit: 1 } })[0],
    `circuit breaker of ${CLUSTER} is open: pending requests at its limit of 1 (DestinationRule connectionPool / Envoy circuit_breakers)`);
  assert.equal(explain(['URX', 'UF'], { status: 503, cluster: CLUSTER, upstreamHost: '10.0.0.7:9080', detail: 'connect ECONNREFUSED', retries: { done: 2, max: 2, lastReason: 'connect-failure' } }),
    `503 UF,URX: could not connect to 10.0.0.7:9080 in ${CLUSTER}: connect ECONNREFUSED; gave up after 2 retries to ${CLUSTER} (the retry policy allows 2); last attempt failed with connect-failure`);
  assert.match(explainFlags(['UT'], { cluster: CLUSTER, timeoutMs: 15000 })[0], /within the route timeout of 15000 ms/);
  assert.match(explainFlags(['UT'], { cluster: CLUSTER, perTryTimeoutMs: 200 })[0], /per-try timeout of 200 ms/);
  assert.match(explainFlags(['FI'], { fault: { abortStatus: 503 }, route: 'ratings' })[0], /aborted the request with HTTP 503 \(route "ratings"\)/);
  assert.match(explainFlags(['DI'], { fault: { delayMs: 7000 } })[0], /delayed the request by 7000 ms/);
});

test('every flag has an explanation; a 5xx without flags blames the upstream itself', () => {
  for (const f of RESPONSE_FLAGS) assert.ok(explainFlags([f.short], { cluster: CLUSTER })[0].length > 10, f.short);
  assert.equal(explain([], { status: 503, cluster: CLUSTER, upstreamHost: '10.0.0.1:9080' }), `503: the response came from 10.0.0.1:9080 in ${CLUSTER} itself (no proxy flag was set)`);
  assert.equal(explain([], { status: 200 }), '200: no response flags');
});

test('localCodeDetails: Envoy names for the flag that ended the request', async () => {
  const { localCodeDetails } = await import('./response-flags.ts');
  assert.equal(localCodeDetails(['FI'], false, false), 'fault_filter_abort');
  assert.equal(localCodeDetails(['URX', 'UF'], false, false), 'upstream_reset_before_response_started{remote_connection_failure}');
  assert.equal(localCodeDetails(['UT'], true, false), 'upstream_per_try_timeout');
  assert.equal(localCodeDetails(['UT'], false, false), 'response_timeout');
  assert.equal(localCodeDetails(['DI', 'UO'], false, false), 'upstream_reset_before_response_started{overflow}');
  assert.equal(localCodeDetails([], false, true), 'direct_response');
  assert.equal(localCodeDetails(['UC', 'DC'], false, false), 'downstream_remote_disconnect');
  assert.equal(localCodeDetails(['DPE'], false, false), 'DPE');
  assert.equal(localCodeDetails([], false, false), undefined);
});
