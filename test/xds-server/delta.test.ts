// test/xds-server: the incremental (delta) ADS protocol on a real socket — wildcard and named
// subscriptions, only changed resources sent, removals, initial_resource_versions, NACK.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { XdsServer } from '../../src/xds/server/server.ts';
import { RawAdsClient, makeNode } from '../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { logger } from '../../src/common/logger.ts';
import { tinyConfig, NODE_ID, type TinyMesh } from './fixtures.ts';

const log = logger('test');
log.level = 'silent';
let server: XdsServer;
let addr = '';
const a = { host: 'a.default.svc.cluster.local', port: 80, endpoints: [{ ip: '127.0.0.1', port: 1001 }] };
const b = { host: 'b.default.svc.cluster.local', port: 80, endpoints: [{ ip: '127.0.0.1', port: 1002 }] };
const c3 = { host: 'c.default.svc.cluster.local', port: 80, endpoints: [{ ip: '127.0.0.1', port: 1003 }] };
const clients: RawAdsClient<true>[] = [];

before(async () => {
  server = new XdsServer({ debounceMs: 5, debounceMaxMs: 20, logger: log });
  server.update('v1', () => tinyConfig({ services: [a, b] }));
  addr = `127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});
after(async () => { for (const c of clients) c.close(); await server.close(); });

function client(): RawAdsClient<true> {
  const c = new RawAdsClient(addr, true);
  clients.push(c);
  return c;
}
const push = async (v: string, m: TinyMesh) => { server.update(v, () => tinyConfig(m)); await server.flush(); };

test('delta CDS wildcard: all at first, then only changes and removals', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.Cluster });
  const r1 = await c.next();
  assert.ok(r1);
  assert.deepEqual((r1.resources ?? []).map((r) => r.name).sort(), ['outbound|80||a.default.svc.cluster.local', 'outbound|80||b.default.svc.cluster.local']);
  assert.ok((r1.resources ?? []).every((r) => r.version && r.resource?.type_url === TypeUrl.Cluster));
  assert.equal(r1.system_version_info, 'v1');
  c.ack(r1);
  // Add c, remove b: exactly one added resource and one removal.
  await push('v2', { services: [a, c3] });
  const r2 = await c.next();
  assert.ok(r2);
  assert.deepEqual((r2.resources ?? []).map((r) => r.name), ['outbound|80||c.default.svc.cluster.local']);
  assert.deepEqual(r2.removed_resources, ['outbound|80||b.default.svc.cluster.local']);
  c.ack(r2);
  // An endpoint-only change does not touch CDS.
  await push('v3', { services: [a, { ...c3, endpoints: [{ ip: '127.0.0.1', port: 9 }] }] });
  assert.equal(await c.next(200), undefined);
  await push('v4', { services: [a, b] });
  c.close();
});

test('delta named EDS subscribe/unsubscribe and initial_resource_versions', async () => {
  const c = client();
  const nameA = 'outbound|80||a.default.svc.cluster.local';
  const nameB = 'outbound|80||b.default.svc.cluster.local';
  c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: [nameA] });
  const r1 = await c.next();
  assert.ok(r1);
  assert.deepEqual((r1.resources ?? []).map((r) => r.name), [nameA]);
  const versionA = r1.resources![0]!.version;
  c.ack(r1);
  c.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: [nameB], response_nonce: r1.nonce });
  const r2 = await c.next();
  assert.deepEqual((r2?.resources ?? []).map((r) => r.name), [nameB], 'only the newly subscribed resource');
  c.ack(r2!);
  c.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_unsubscribe: [nameB], response_nonce: r2!.nonce });
  await new Promise((r) => setTimeout(r, 50)); // let the request arrive before pushing
  await push('v5', { services: [a, { ...b, endpoints: [{ ip: '127.0.0.1', port: 7 }] }] });
  assert.equal(await c.next(200), undefined, 'no update for an unsubscribed resource');

  // A reconnecting client that already holds A at its current version is not sent A again.
  const d = client();
  d.send({ node: makeNode(NODE_ID), type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: [nameA, nameB], initial_resource_versions: { [nameA]: versionA! } });
  const r3 = await d.next();
  assert.deepEqual((r3?.resources ?? []).map((r) => r.name), [nameB]);
  await push('v6', { services: [a, b] });
});

test('delta NACK is recorded and the rejected resource is not resent', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.Listener });
  const r1 = await c.next();
  assert.ok(r1);
  c.ack(r1, 'bad listener');
  await new Promise((r) => setTimeout(r, 50));
  const st = server.status().filter((s) => s.protocol === 'delta').flatMap((s) => s.types).find((t) => t.type === 'listeners');
  assert.equal(st?.state, 'NACKED');
  assert.equal(st?.error, 'bad listener');
  await push('v7', { services: [a, b] });
  assert.equal(await c.next(200), undefined);
  await push('v8', { services: [a, b], tag: 'x' });
  const r2 = await c.next();
  assert.equal(r2?.resources?.length, 2);
  c.ack(r2!);
  await new Promise((r) => setTimeout(r, 50));
  const st2 = server.status().filter((s) => s.protocol === 'delta').flatMap((s) => s.types).find((t) => t.type === 'listeners');
  assert.equal(st2?.state, 'SYNCED');
});
