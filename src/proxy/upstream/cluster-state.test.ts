// proxy/upstream: ClusterState wiring — EDS updates keep host state, outlier ejection reaches the balancer,
// no-host reasons, breakers, admin text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, OutlierDetectionConfig } from '../config/types.ts';
import { seededRandom } from './lb/random.ts';
import { ClusterState } from './cluster-state.ts';

const NAME = 'outbound|9080|v2|reviews.default.svc.cluster.local';

function cluster(extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: NAME, type: 'EDS', lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 5000, idleTimeoutMs: 3_600_000,
    circuitBreakers: [], http2: false, useDownstreamProtocol: false, transportSocketMatches: [],
    commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: false, zoneAware: false },
    dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {}, ...extra,
  };
}
function cla(addrs: string[], health: 'HEALTHY' | 'UNHEALTHY' = 'HEALTHY'): ClusterLoadAssignment {
  return {
    clusterName: NAME, overprovisioningFactor: 140, dropOverloads: [],
    localities: [{ locality: { region: 'r', zone: 'z', subZone: '' }, priority: 0, weight: 1,
      endpoints: addrs.map((a) => ({ address: a, port: 9080, health, weight: 1, metadata: {} })) }],
  };
}
const outlier: OutlierDetectionConfig = {
  consecutive5xx: 2, consecutiveGatewayFailure: 5, consecutiveLocalOriginFailure: 5, intervalMs: 1000,
  baseEjectionTimeMs: 5000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0, enforcingConsecutiveLocalOriginFailure: 100, enforcingSuccessRate: 0,
  successRateMinimumHosts: 5, successRateRequestVolume: 100, successRateStdevFactor: 1900, failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0, failurePercentageMinimumHosts: 5, failurePercentageRequestVolume: 50, splitExternalLocalOriginErrors: false,
};

test('picks rotate over endpoints; ejected hosts are skipped until they return', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier }), cla(['10.0.0.1', '10.0.0.2', '10.0.0.3']), { clock, random: seededRandom(1) });
  const bad = cs.hosts[0];
  cs.reportHttp(bad, 503);
  cs.reportHttp(bad, 503);
  assert.equal(bad.ejected, true);
  for (let i = 0; i < 20; i++) assert.notEqual(cs.pick().host!.id, bad.id);
  assert.equal(cs.summary().ejected, 1);
  clock.advance(5000);
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(cs.pick().host!.id);
  assert.equal(seen.size, 3);
  cs.close();
  assert.equal(clock.pending(), 0);
});

test('all hosts ejected with panic disabled: pick explains no healthy hosts', () => {
  const clock = new FakeClock();
  const cfg = cluster({ outlierDetection: outlier, commonLbConfig: { healthyPanicThresholdPercent: 0, localityWeighted: false, zoneAware: false } });
  const cs = new ClusterState(cfg, cla(['10.0.0.1', '10.0.0.2', '10.0.0.3']), { clock, random: seededRandom(1) });
  for (const h of cs.hosts) { cs.reportHttp(h, 500); cs.reportHttp(h, 500); }
  const r = cs.pick();
  assert.equal(r.host, undefined);
  assert.equal(r.reason, 'no_healthy_hosts');
  assert.deepEqual(r.reason && r.summary, { total: 3, healthy: 0, unhealthy: 0, degraded: 0, draining: 0, ejected: 3, panicPriorities: [] });
  cs.close();
});

test('empty cluster: no_hosts; EDS update brings hosts and keeps survivors state', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster(), undefined, { clock, random: seededRandom(1) });
  assert.equal(cs.pick().reason, 'no_hosts');
  cs.updateEndpoints(cla(['10.0.0.1', '10.0.0.2']));
  const h1 = cs.hosts[0];
  const done = cs.startRequest(h1);
  cs.updateEndpoints(cla(['10.0.0.1', '10.0.0.3']));
  assert.equal(cs.hosts[0].activeRequests, 1);
  assert.deepEqual(cs.hosts.map((h) => h.id), ['10.0.0.1:9080', '10.0.0.3:9080']);
  done();
  done();
  assert.equal(h1.activeRequests, 0);
});

test('unhealthy EDS endpoints count in the summary; breakers come from config', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 1 }] }),
    cla(['10.0.0.1', '10.0.0.2'], 'UNHEALTHY'), { clock, random: seededRandom(1) });
  const s = cs.summary();
  assert.equal(s.unhealthy, 2);
  assert.deepEqual(s.panicPriorities, [0]);
  // In panic the balancer still routes to unhealthy hosts, as Envoy does.
  assert.ok(cs.pick().host);
  assert.ok(cs.breakers.tryAcquire('requests').ok);
  assert.equal(cs.breakers.tryAcquire('requests').ok, false);
});

test('admin view and Envoy-style text show health flags and outlier state', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier }), cla(['10.0.0.1', '10.0.0.2']), { clock, random: seededRandom(1) });
  cs.reportLocal(cs.hosts[1], 'connect_failed');
  cs.reportLocal(cs.hosts[1], 'connect_failed');
  const view = cs.adminHosts();
  assert.equal(view[0].healthFlags, 'healthy');
  assert.equal(view[1].healthFlags, '/failed_outlier_check');
  assert.equal(view[1].outlier?.lastEjectionReason, 'consecutive_5xx');
  const text = cs.adminText();
  assert.ok(text.includes(`${NAME}::10.0.0.2:9080::health_flags::/failed_outlier_check`));
  assert.ok(text.includes(`${NAME}::10.0.0.1:9080::zone::z`));
  assert.ok(text.includes(`${NAME}::default_priority::max_requests::1024`));
  cs.close();
});

test('CDS update with new outlier config resets ejections; same config keeps them', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier }), cla(['10.0.0.1', '10.0.0.2']), { clock, random: seededRandom(1) });
  cs.reportHttp(cs.hosts[0], 500);
  cs.reportHttp(cs.hosts[0], 500);
  cs.updateConfig(cluster({ outlierDetection: outlier, lbPolicy: 'LEAST_REQUEST' }));
  assert.equal(cs.hosts[0].ejected, true);
  cs.updateConfig(cluster({ outlierDetection: { ...outlier, consecutive5xx: 10 } }));
  assert.equal(cs.hosts[0].ejected, false);
  cs.updateConfig(cluster());
  assert.equal(cs.outlier, undefined);
  cs.close();
  assert.equal(clock.pending(), 0);
});

test('stats use Envoy names: membership, breakers, overflow, outlier, panic', () => {
  const clock = new FakeClock();
  const cs = new ClusterState(cluster({ outlierDetection: outlier, circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 5, maxPendingRequests: 5, maxRequests: 1, maxRetries: 2 }] }),
    cla(['10.0.0.1', '10.0.0.2']), { clock, random: seededRandom(1) });
  cs.breakers.tryAcquire('requests');
  cs.breakers.tryAcquire('requests');
  cs.reportHttp(cs.hosts[0], 500);
  cs.reportHttp(cs.hosts[0], 500);
  const st = cs.stats();
  assert.equal(st.membership_total, 2);
  assert.equal(st.membership_healthy, 1);
  assert.equal(st['circuit_breakers.default.rq_open'], 1);
  assert.equal(st['circuit_breakers.default.remaining_rq'], 0);
  assert.equal(st['circuit_breakers.default.remaining_retries'], 2);
  assert.equal(st.upstream_rq_pending_overflow, 1);
  assert.equal(st['outlier_detection.ejections_active'], 1);
  assert.equal(st['outlier_detection.ejections_detected_consecutive_5xx'], 1);
  // One of two ejected: 50% < 50% panic threshold is false; eject the other too and picks count as panic.
  cs.reportHttp(cs.hosts[1], 500);
  cs.reportHttp(cs.hosts[1], 500);
  cs.pick();
  assert.equal(cs.stats().lb_healthy_panic, 1);
  // Overflow counts survive a CDS update.
  cs.updateConfig(cluster({ outlierDetection: outlier, lbPolicy: 'RANDOM' }));
  assert.equal(cs.stats().upstream_rq_pending_overflow, 1);
  assert.equal(cs.stats().lb_healthy_panic, 1);
  cs.close();
});

test('locality weighting without locality weights: UH says why', () => {
  const clock = new FakeClock();
  const noWeights = cla(['10.0.0.1']);
  noWeights.localities[0].weight = undefined;
  const cs = new ClusterState(cluster({ commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: true, zoneAware: false } }), noWeights, { clock, random: seededRandom(1) });
  const r = cs.pick();
  assert.equal(r.reason, 'no_healthy_hosts');
  assert.match(r.reason ? r.summary.note ?? '' : '', /no locality has a load_balancing_weight/);
});
