// test/xds-server: the state-of-the-world ADS protocol on a real socket — versions, nonces, ACK/NACK,
// wildcard rules, pushes of only what changed, and clients that misbehave.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { XdsServer } from '../../src/xds/server/server.ts';
import { RawAdsClient, makeNode, namesOf } from '../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { logger } from '../../src/common/logger.ts';
import { tinyConfig, NODE_ID, type TinyMesh } from './fixtures.ts';

const log = logger('test');
log.level = 'silent';
let server: XdsServer;
let addr = '';
const clients: RawAdsClient<boolean>[] = [];
const mesh: TinyMesh = { services: [
  { host: 'a.default.svc.cluster.local', port: 80, endpoints: [{ ip: '127.0.0.1', port: 1001 }] },
  { host: 'b.default.svc.cluster.local', port: 80, endpoints: [{ ip: '127.0.0.1', port: 1002 }] },
] };

before(async () => {
  server = new XdsServer({ debounceMs: 5, debounceMaxMs: 20, logger: log });
  server.update('v1', () => tinyConfig(mesh));
  const port = await server.listen(0, '127.0.0.1');
  addr = `127.0.0.1:${port}`;
});
after(async () => { for (const c of clients) c.close(); await server.close(); });

function client(): RawAdsClient {
  const c = new RawAdsClient(addr);
  clients.push(c);
  return c;
}

test('CDS wildcard then EDS by name; ACK marks the type SYNCED', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID, { GENERATOR: 'grpc' }), type_url: TypeUrl.Cluster });
  const cds = await c.next();
  assert.ok(cds);
  assert.equal(cds.type_url, TypeUrl.Cluster);
  assert.deepEqual(namesOf(cds.resources).sort(), ['outbound|80||a.default.svc.cluster.local', 'outbound|80||b.default.svc.cluster.local']);
  assert.ok(cds.version_info && cds.nonce);
  c.ack(cds);
  c.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['outbound|80||a.default.svc.cluster.local'] });
  const eds = await c.next();
  assert.ok(eds);
  assert.deepEqual(namesOf(eds.resources), ['outbound|80||a.default.svc.cluster.local']);
  c.ack(eds);
  await new Promise((r) => setTimeout(r, 50));
  const st = server.status().find((s) => s.types.some((t) => t.type === 'endpoints'))!;
  assert.equal(st.proxyId, NODE_ID);
  assert.equal(st.generator, 'grpc', 'node metadata (a google.protobuf.Struct) reaches the proxy model');
  for (const t of st.types) assert.equal(t.state, 'SYNCED', `${t.type} ${JSON.stringify(t)}`);
});

test('NACK is recorded, not resent in a loop; a later good version is pushed', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.Listener, resource_names: ['a.default.svc.cluster.local:80'] });
  const lds = await c.next();
  assert.ok(lds);
  assert.deepEqual(namesOf(lds.resources), ['a.default.svc.cluster.local:80']);
  c.ack(lds, 'listener rejected: bad filter');
  await new Promise((r) => setTimeout(r, 50));
  const nacked = server.status().flatMap((s) => s.types).find((t) => t.type === 'listeners' && t.state === 'NACKED');
  assert.ok(nacked, 'NACK visible in status');
  assert.equal(nacked.error, 'listener rejected: bad filter');
  assert.ok(server.metrics.get('pilot_total_xds_rejects', { type: 'listeners' }) >= 1);
  // The same config pushed again (new version string, same content): nothing is resent.
  server.update('v1b', () => tinyConfig(mesh));
  await server.flush();
  assert.equal(await c.next(200), undefined, 'the rejected content is not resent');
  // Changed content is pushed with a new version.
  const mesh2: TinyMesh = { ...mesh, tag: 'v2' };
  server.update('v2', () => tinyConfig(mesh2));
  await server.flush();
  const again = await c.next();
  assert.ok(again);
  assert.notEqual(again.version_info, lds.version_info);
  c.ack(again);
  server.update('v3', () => tinyConfig(mesh));
  await server.flush();
});

test('stale and garbage nonces are ignored; only changes are pushed', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.RouteConfiguration, resource_names: ['a.default.svc.cluster.local:80'] });
  const r1 = await c.next();
  assert.ok(r1);
  // Garbage nonce: ignored (no response, no state change).
  c.send({ type_url: TypeUrl.RouteConfiguration, response_nonce: 'garbage', version_info: 'x', resource_names: ['a.default.svc.cluster.local:80'] });
  assert.equal(await c.next(200), undefined);
  c.ack(r1);
  // A config change that does not touch route "a" sends nothing to this stream...
  const mesh3: TinyMesh = { services: [mesh.services[0]!, { ...mesh.services[1]!, endpoints: [{ ip: '127.0.0.1', port: 2002 }] }] };
  server.update('v4', () => tinyConfig(mesh3));
  await server.flush();
  assert.equal(await c.next(200), undefined, 'unchanged subscribed resources are not resent');
  // ...but a change to it does.
  server.update('v5', () => tinyConfig({ ...mesh3, routeHeader: 'x-user' }));
  await server.flush();
  const r2 = await c.next();
  assert.ok(r2);
  assert.notEqual(r2.nonce, r1.nonce);
  // An ACK of the old nonce now is stale: status keeps STALE until the new nonce is ACKed.
  c.ack(r1);
  await new Promise((r) => setTimeout(r, 50));
  const t = server.status().flatMap((s) => s.types).find((x) => x.type === 'routes' && x.sentVersion === r2.version_info);
  assert.equal(t?.state, 'STALE');
  assert.ok(server.metrics.total('rig_xds_stale_nonce_total') >= 2);
  c.ack(r2);
  server.update('v6', () => tinyConfig(mesh));
  await server.flush();
});

test('unknown type URL gets an empty response and the stream keeps working', async () => {
  const c = client();
  c.send({ node: makeNode(NODE_ID), type_url: 'type.googleapis.com/example.Unknown' });
  const r = await c.next();
  assert.ok(r);
  assert.equal(r.resources?.length ?? 0, 0);
  assert.equal(r.type_url, 'type.googleapis.com/example.Unknown');
  c.send({ type_url: TypeUrl.Cluster });
  const cds = await c.next();
  assert.ok(cds);
  assert.equal(cds.resources?.length, 2);
  assert.ok(server.metrics.total('rig_xds_unknown_type_total') >= 1);
});

test('a bad node fails that stream only with INVALID_ARGUMENT', async () => {
  const good = client();
  good.send({ node: makeNode(NODE_ID), type_url: TypeUrl.Cluster });
  assert.ok(await good.next());
  const bad = client();
  bad.send({ node: makeNode('not-an-istio-node'), type_url: TypeUrl.Cluster });
  await bad.waitEnd();
  assert.equal(bad.status?.code, 3);
  assert.match(bad.status?.details ?? '', /RIG303/);
  const none = client();
  none.send({ type_url: TypeUrl.Cluster });
  await none.waitEnd();
  assert.equal(none.status?.code, 3);
  // The good stream still gets pushes.
  server.update('v7', () => tinyConfig({ services: mesh.services.slice(0, 1) }));
  await server.flush();
  const r = await good.next();
  assert.ok(r);
  assert.equal(r.resources?.length, 1);
  server.update('v8', () => tinyConfig(mesh));
  await server.flush();
});

test('endless re-requests are rate limited per stream', async () => {
  const s = new XdsServer({ logger: log, rateLimit: { burst: 5, perSecond: 10 } });
  s.update('v1', () => tinyConfig(mesh));
  const port = await s.listen(0, '127.0.0.1');
  const c = new RawAdsClient(`127.0.0.1:${port}`);
  try {
    c.send({ node: makeNode(NODE_ID), type_url: TypeUrl.Cluster });
    for (let i = 0; i < 50; i++) c.send({ type_url: TypeUrl.Cluster });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(c.received.length <= 10, `got ${c.received.length} responses to 51 requests`);
    assert.ok(c.received.length >= 5);
    assert.ok(s.metrics.total('rig_xds_rate_limited_total') > 0);
  } finally { c.close(); await s.close(); }
});
