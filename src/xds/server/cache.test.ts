// xds/server: the snapshot cache — encoding, content-hash versions, dropped bad resources and the
// Consistent() check (EDS clusters without a CLA, listeners naming a missing route config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../envoy/protos.ts';
import { buildNodeSnapshot, encodeResource, setVersion } from './cache.ts';
import type { GeneratedConfig } from '../translate/types.ts';

const empty = (): GeneratedConfig => ({ listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] });

test('equal content gets the same hash; different content a different one', () => {
  const a = encodeResource(TypeUrl.Cluster, { name: 'c', type: 'STATIC' });
  const b = encodeResource(TypeUrl.Cluster, { name: 'c', type: 'STATIC' });
  const c = encodeResource(TypeUrl.Cluster, { name: 'c', type: 'STRICT_DNS' });
  const d = encodeResource(TypeUrl.Cluster, { name: 'd', type: 'STATIC' });
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  assert.equal(setVersion([a]), setVersion([b]));
  assert.notEqual(setVersion([a]), setVersion([c]));
  assert.equal(setVersion([a, d]), setVersion([d, a]), 'order does not matter');
});

test('a resource that cannot be encoded is dropped and reported; the rest are served', () => {
  const cfg = empty();
  cfg.clusters.push({ name: 'good', type: 'STATIC' }, { name: 'bad', type: 'STATIC', load_assignment: 5 }, { type: 'STATIC' });
  const s = buildNodeSnapshot('v1', cfg);
  assert.deepEqual([...s.types.get(TypeUrl.Cluster)!.keys()], ['good']);
  assert.equal(s.problems.length, 2);
  assert.match(s.problems[0]!.message, /"bad" cannot be encoded/);
  assert.equal(s.problems[0]!.code, 'RIG304');
});

test('Consistent(): missing CLA for an EDS cluster and missing route config are reported', () => {
  const cfg = empty();
  cfg.clusters.push({ name: 'outbound|80||a', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
  cfg.listeners.push({ name: 'l', api_listener: { api_listener: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'l', rds: { route_config_name: 'r1', config_source: { ads: {} } } } } });
  const s = buildNodeSnapshot('v1', cfg);
  assert.deepEqual(s.problems.map((p) => p.message).sort(), [
    'cluster "outbound|80||a" uses EDS but no ClusterLoadAssignment "outbound|80||a" was generated',
    'listener "l" references route config "r1" which was not generated',
  ]);
  cfg.endpoints.push({ cluster_name: 'outbound|80||a' });
  cfg.routes.push({ name: 'r1' });
  assert.deepEqual(buildNodeSnapshot('v2', cfg).problems, []);
});
