// proxy/upstream: ClusterStates follows snapshots — adds, updates in place (keeping ejections), removes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, ProxyConfigSnapshot } from '../config/types.ts';
import { seededRandom } from './lb/random.ts';
import { ClusterStates } from './cluster-states.ts';

function cluster(name: string, consecutive5xx = 1): ClusterConfig {
  return {
    name, type: 'EDS', lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 5000, idleTimeoutMs: 3_600_000, circuitBreakers: [], http2: false,
    useDownstreamProtocol: false, transportSocketMatches: [], dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {},
    commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: false, zoneAware: false },
    outlierDetection: {
      consecutive5xx, consecutiveGatewayFailure: 5, consecutiveLocalOriginFailure: 5, intervalMs: 1000, baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0,
      enforcingConsecutiveLocalOriginFailure: 100, enforcingSuccessRate: 0, successRateMinimumHosts: 5, successRateRequestVolume: 100,
      successRateStdevFactor: 1900, failurePercentageThreshold: 85, enforcingFailurePercentage: 0, failurePercentageMinimumHosts: 5,
      failurePercentageRequestVolume: 50, splitExternalLocalOriginErrors: false,
    },
  };
}
function cla(name: string, addrs: string[]): ClusterLoadAssignment {
  return { clusterName: name, overprovisioningFactor: 140, dropOverloads: [], localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0,
    endpoints: addrs.map((a) => ({ address: a, port: 80, health: 'HEALTHY' as const, weight: 1, metadata: {} })) }] };
}
function snap(gen: number, clusters: ClusterConfig[], endpoints: ClusterLoadAssignment[]): ProxyConfigSnapshot {
  return { generation: gen, listeners: new Map(), routes: new Map(), secrets: new Map(), versions: {},
    clusters: new Map(clusters.map((c) => [c.name, c])), endpoints: new Map(endpoints.map((e) => [e.clusterName, e])) };
}

test('apply adds, updates in place and removes clusters', () => {
  const clock = new FakeClock();
  const cs = new ClusterStates({ clock, random: seededRandom(1) });
  cs.apply(snap(1, [cluster('a'), cluster('b')], [cla('a', ['10.0.0.1', '10.0.0.2']), cla('b', ['10.0.1.1'])]));
  assert.deepEqual(cs.names(), ['a', 'b']);
  const a = cs.get('a')!;
  a.reportHttp(a.hosts[0], 500);
  assert.equal(a.hosts[0].ejected, true);
  // Same config, one more endpoint: same state object, ejection kept.
  cs.apply(snap(2, [cluster('a')], [cla('a', ['10.0.0.1', '10.0.0.2', '10.0.0.3'])]));
  assert.equal(cs.get('a'), a);
  assert.equal(a.hosts.length, 3);
  assert.equal(a.hosts[0].ejected, true);
  assert.equal(cs.get('b'), undefined);
  assert.match(cs.adminText(), /a::10\.0\.0\.1:80::health_flags::\/failed_outlier_check/);
  assert.equal(cs.adminJson()[0].hosts.length, 3);
  assert.equal(cs.stats()['cluster.a.membership_total'], 3);
  assert.equal(cs.stats()['cluster.a.outlier_detection.ejections_active'], 1);
  // Changed outlier config: updated in place, detector restarted.
  cs.apply(snap(3, [cluster('a', 7)], [cla('a', ['10.0.0.1'])]));
  assert.equal(cs.get('a'), a);
  assert.equal(a.outlier?.config.consecutive5xx, 7);
  cs.close();
  assert.equal(clock.pending(), 0);
});
