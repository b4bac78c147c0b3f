// test/proxy: the proxy's ADS client against a tiny ADS server (test/helpers/fake-ads.ts, grpc-js on 127.0.0.1:0):
// subscriptions, warming, ACK, NACK with error_detail, last-good kept, reconnect after a server restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { XdsClient } from '../../src/proxy/xds-client/client.ts';
import { FakeAds } from '../helpers/fake-ads.ts';
import type { ProxyConfigSnapshot } from '../../src/proxy/config/types.ts';
import { rootLogger } from '../../src/common/logger.ts';
import { waitFor } from '../helpers/wait.ts';

const log = rootLogger().child({ module: 'xds-client-test' });
log.level = 'silent';

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };
function listener(name: string, port: number, rds: string, filters: unknown[] = [router]): Record<string, unknown> {
  return {
    name, address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: name, rds: { route_config_name: rds, config_source: { ads: {} } }, http_filters: filters } }] }],
  };
}
function routeConfig(name: string, cluster: string): Record<string, unknown> {
  return { name, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] };
}
function edsCluster(name: string): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } };
}
function cla(name: string, port: number): Record<string, unknown> {
  return { cluster_name: name, endpoints: [{ locality: { zone: 'z' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] };
}

function newClient(port: number, clock = new FakeClock(), protocol: 'sotw' | 'delta' = 'sotw'): { client: XdsClient; clock: FakeClock; updates: ProxyConfigSnapshot[] } {
  const client = new XdsClient({
    protocol,
    backoff: { initialMs: 500, maxMs: 1000 },
    server: { host: '127.0.0.1', port },
    node: { id: 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local', cluster: 'app.ns', metadata: { NAMESPACE: 'ns', LABELS: { app: 'a' } } },
    clock, log, initialFetchTimeoutMs: 15_000,
  });
  const updates: ProxyConfigSnapshot[] = [];
  client.on('update', (s) => updates.push(s));
  return { client, clock, updates };
}

test('subscribes, warms listeners and clusters, ACKs each response', async () => {
  const ads = new FakeAds();
  await ads.start();
  const { client, updates } = newClient(ads.port);
  try {
    client.start();
    await waitFor('CDS and LDS wildcard requests', () => ads.of(TypeUrl.Cluster).length && ads.of(TypeUrl.Listener).length);
    const first = ads.requests[0]!;
    assert.equal(first.node?.id, 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local');
    assert.equal(first.type_url, TypeUrl.Cluster, 'CDS is requested first, as Envoy does');
    assert.ok(ads.requests.slice(1).every((r) => r.node === undefined), 'node only in the first request');
    assert.deepEqual(ads.of(TypeUrl.Listener)[0]!.resource_names ?? [], []);

    const cdsNonce = ads.respond(TypeUrl.Cluster, 'c1', [edsCluster('backend')]);
    const edsReq = await waitFor('EDS subscription', () => ads.of(TypeUrl.ClusterLoadAssignment).find((r) => r.resource_names?.includes('backend')));
    assert.ok(edsReq);
    const cdsAck = await waitFor('CDS ACK', () => ads.of(TypeUrl.Cluster).find((r) => r.response_nonce === cdsNonce));
    assert.equal(cdsAck.version_info, 'c1');
    assert.equal(cdsAck.error_detail, undefined);
    // The cluster is warming until its endpoints arrive.
    assert.equal(client.snapshot()?.clusters.has('backend') ?? false, false);

    ads.respond(TypeUrl.ClusterLoadAssignment, 'e1', [cla('backend', 8080)]);
    await waitFor('cluster warmed', () => client.snapshot()?.clusters.has('backend'));
    assert.equal(client.snapshot()!.endpoints.get('backend')!.localities[0]!.endpoints[0]!.port, 8080);

    ads.respond(TypeUrl.Listener, 'l1', [listener('http', 15001, 'r80')]);
    await waitFor('RDS subscription', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.resource_names?.includes('r80')));
    await waitFor('ready', () => client.isReady());
    assert.equal(client.snapshot()!.listeners.has('http'), false, 'listener waits for its route config');

    const rdsNonce = ads.respond(TypeUrl.RouteConfiguration, 'r1', [routeConfig('r80', 'backend')]);
    await waitFor('listener warmed', () => client.snapshot()?.listeners.has('http'));
    const snap = client.snapshot()!;
    assert.equal(snap.routes.get('r80')!.virtualHosts[0]!.routes[0]!.action.kind, 'route');
    assert.equal(snap.versions[TypeUrl.Listener], 'l1');
    await waitFor('RDS ACK', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.response_nonce === rdsNonce && r.version_info === 'r1'));
    // Every published snapshot is consistent: listeners only with their routes, EDS clusters only with endpoints.
    for (const u of updates) {
      for (const l of u.listeners.values()) for (const fc of l.filterChains) if (fc.handler.kind === 'http' && fc.handler.routeConfigName) assert.ok(u.routes.has(fc.handler.routeConfigName));
      for (const c of u.clusters.values()) if (c.type === 'EDS') assert.ok(u.endpoints.has(c.edsServiceName ?? c.name));
    }
    assert.ok(updates.length >= 3);
    // Re-sending identical content publishes nothing new.
    const before = updates.length;
    const again = ads.respond(TypeUrl.RouteConfiguration, 'r2', [routeConfig('r80', 'backend')]);
    await waitFor('ACK r2', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.response_nonce === again));
    assert.equal(updates.length, before);
  } finally {
    client.stop();
    ads.stop();
  }
});

test('NACKs an invalid listener with previous version, nonce and a precise error, and keeps the last good config', async () => {
  const ads = new FakeAds();
  await ads.start();
  const { client } = newClient(ads.port);
  const nacks: string[] = [];
  client.on('nack', (n) => nacks.push(n.errors.map((e) => e.message).join()));
  try {
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c1', []);
    ads.respond(TypeUrl.Listener, 'v1', [listener('a', 15001, 'r1'), listener('b', 15002, 'r1')]);
    await waitFor('RDS subscription', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.resource_names?.includes('r1')));
    ads.respond(TypeUrl.RouteConfiguration, 'rv1', [routeConfig('r1', 'x')]);
    await waitFor('listeners served', () => client.snapshot()?.listeners.size === 2);
    const goodA = client.snapshot()!.listeners.get('a');

    const bad = listener('a', 15001, 'r1', [{ name: 'acme.unknown', typed_config: { '@type': TypeUrl.TlsInspector } }, router]);
    const nonce = ads.respond(TypeUrl.Listener, 'v2', [bad, listener('b', 15003, 'r1')]);
    const nack = await waitFor('NACK', () => ads.of(TypeUrl.Listener).find((r) => r.response_nonce === nonce));
    assert.equal(nack.version_info, 'v1', 'a NACK carries the previous accepted version');
    assert.ok(nack.error_detail?.message);
    assert.match(nack.error_detail.message, /Listener a: filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]: unknown http filter "acme\.unknown"/);
    assert.equal(nacks.length, 1);
    await waitFor('valid listener b applied', () => client.snapshot()?.listeners.get('b')?.port === 15003);
    assert.equal(client.snapshot()!.listeners.get('a'), goodA, 'the rejected listener keeps its last good version');
    const st = client.status().find((s) => s.typeUrl === TypeUrl.Listener)!;
    assert.equal(st.version, 'v1');
    assert.equal(st.lastNack?.version, 'v2');

    // A later good response clears the NACK and is ACKed with its version.
    const n3 = ads.respond(TypeUrl.Listener, 'v3', [listener('a', 15004, 'r1')]);
    const ack = await waitFor('ACK v3', () => ads.of(TypeUrl.Listener).find((r) => r.response_nonce === n3));
    assert.equal(ack.version_info, 'v3');
    assert.equal(ack.error_detail, undefined);
    await waitFor('b removed (SotW full state)', () => !client.snapshot()?.listeners.has('b'));
    assert.equal(client.snapshot()!.listeners.get('a')!.port, 15004);
    assert.equal(client.status().find((s) => s.typeUrl === TypeUrl.Listener)!.lastNack, undefined);
  } finally {
    client.stop();
    ads.stop();
  }
});

test('reconnects with backoff after the server restarts, keeps serving meanwhile, and resubscribes with accepted versions', async () => {
  const ads = new FakeAds();
  await ads.start();
  const port = ads.port;
  const { client, clock } = newClient(port);
  const delays: number[] = [];
  client.on('disconnected', ({ retryInMs }) => {
    delays.push(retryInMs);
    setTimeout(() => clock.advance(retryInMs), 20); // fire the reconnect timer on fake time
  });
  let ads2: FakeAds | undefined;
  try {
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c7', [{ name: 'static', type: 'STATIC', load_assignment: cla('static', 9000) }]);
    ads.respond(TypeUrl.Listener, 'l7', []);
    await waitFor('ready', () => client.isReady() && client.snapshot()?.clusters.has('static'));
    ads.stop();
    await waitFor('disconnect noticed', () => delays.length > 0);
    assert.ok(client.snapshot()!.clusters.has('static'), 'last good config keeps serving while disconnected');
    assert.ok(delays[0]! >= 250 && delays[0]! <= 500, `first backoff in [initial/2, initial], got ${delays[0]}`);

    ads2 = new FakeAds();
    await ads2.start(port);
    const s2 = ads2;
    const cds = await waitFor('CDS re-request on the new stream', () => s2.of(TypeUrl.Cluster)[0], 15_000);
    assert.equal(cds.version_info, 'c7', 'resubscribes with the version it accepted');
    assert.equal(cds.response_nonce ?? '', '', 'a nonce never crosses streams');
    assert.ok(cds.node?.id, 'node is sent again on the new stream');
    s2.respond(TypeUrl.Cluster, 'c8', [{ name: 'static2', type: 'STATIC', load_assignment: cla('static2', 9001) }]);
    await waitFor('new config applied', () => client.snapshot()?.clusters.has('static2'));
    assert.ok(delays.length >= 1);
  } finally {
    client.stop();
    ads2?.stop();
  }
});

test('initial fetch timeout serves a warming cluster without endpoints', async () => {
  const ads = new FakeAds();
  await ads.start();
  const { client, clock } = newClient(ads.port);
  try {
    client.start();
    await waitFor('CDS request', () => ads.of(TypeUrl.Cluster).length);
    ads.respond(TypeUrl.Cluster, 'c1', [edsCluster('slow')]);
    await waitFor('EDS subscription', () => ads.of(TypeUrl.ClusterLoadAssignment).length);
    assert.equal(client.snapshot()?.clusters.has('slow') ?? false, false);
    clock.advance(14_999);
    assert.equal(client.snapshot()?.clusters.has('slow') ?? false, false);
    clock.advance(1);
    assert.equal(client.snapshot()?.clusters.has('slow'), true);
    assert.equal(client.snapshot()?.endpoints.has('slow'), false);
  } finally {
    client.stop();
    ads.stop();
  }
});

test('an updated listener naming a new route config keeps serving the old version until the new one warms', async () => {
  const ads = new FakeAds();
  await ads.start();
  const { client } = newClient(ads.port);
  try {
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c1', []);
    ads.respond(TypeUrl.Listener, 'l1', [listener('a', 15001, 'r1')]);
    await waitFor('r1 subscription', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.resource_names?.includes('r1')));
    ads.respond(TypeUrl.RouteConfiguration, 'rv1', [routeConfig('r1', 'old')]);
    await waitFor('a served', () => client.snapshot()?.listeners.has('a'));

    ads.respond(TypeUrl.Listener, 'l2', [listener('a', 15001, 'r2')]);
    const both = await waitFor('r1 and r2 subscribed', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.resource_names?.includes('r1') && r.resource_names.includes('r2')));
    assert.deepEqual(both.resource_names, ['r1', 'r2']);
    const served = client.snapshot()!;
    const h = served.listeners.get('a')!.filterChains[0]!.handler;
    assert.ok(h.kind === 'http' && h.routeConfigName === 'r1', 'old listener still served while r2 warms');
    assert.ok(served.routes.has('r1'));

    ads.respond(TypeUrl.RouteConfiguration, 'rv2', [routeConfig('r2', 'new')]);
    await waitFor('new listener served', () => {
      const l = client.snapshot()?.listeners.get('a')?.filterChains[0]?.handler;
      return l?.kind === 'http' && l.routeConfigName === 'r2';
    });
    const only = await waitFor('r1 released', () => ads.of(TypeUrl.RouteConfiguration).find((r) => r.resource_names?.length === 1 && r.resource_names[0] === 'r2'));
    assert.ok(only);
    await waitFor('r1 dropped from the snapshot', () => client.snapshot() && !client.snapshot()!.routes.has('r1'));
  } finally {
    client.stop();
    ads.stop();
  }
});

test('the admin config dump of a live client shows applied resources and the NACK that was sent', async () => {
  const { AdminServer } = await import('../../src/proxy/admin/server.ts');
  const ads = new FakeAds();
  await ads.start();
  const { client } = newClient(ads.port);
  const admin = new AdminServer({ port: 0, providers: { xds: client } });
  const port = await admin.start();
  try {
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 503);
    ads.respond(TypeUrl.Cluster, 'c1', [{ name: 's', type: 'STATIC', load_assignment: cla('s', 1) }]);
    ads.respond(TypeUrl.Listener, 'l1', [{ name: 'bad', address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, filter_chains: [] }]);
    await waitFor('ready', () => client.isReady());
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
    const dump = await (await fetch(`http://127.0.0.1:${port}/config_dump`)).json() as { configs: Record<string, any>[] };
    const clusters = dump.configs.find((c) => c['@type'].endsWith('ClustersConfigDump'))!;
    assert.equal(clusters.dynamic_active_clusters[0].cluster.name, 's');
    // Held packed, decoded for the dump: the canonical object with its @type.
    assert.equal(clusters.dynamic_active_clusters[0].cluster['@type'], TypeUrl.Cluster);
    assert.equal(clusters.dynamic_active_clusters[0].cluster.type, 'STATIC');
    assert.equal(clusters.dynamic_active_clusters[0].cluster.load_assignment.cluster_name, 's');
    const st = dump.configs.find((c) => c['@type'] === 'rigging.admin.XdsStatus')!;
    const lds = st.types.find((t: { type_url: string }) => t.type_url === TypeUrl.Listener);
    assert.equal(lds.last_nack.version_info, 'l1');
    assert.match(lds.last_nack.errors[0].message, /no filter chains/);
    const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).text();
    assert.match(stats, /^listener_manager\.lds\.update_rejected: 1$/m);
    assert.match(stats, /^cluster_manager\.cds\.update_success: 1$/m);
    assert.match(stats, /^cluster_manager\.cds\.resources: 1$/m);
    // The same content again keeps the same decoded object (consumers see no change), under the new version.
    const before = client.snapshot()!.clusters.get('s');
    ads.respond(TypeUrl.Cluster, 'c2', [{ name: 's', type: 'STATIC', load_assignment: cla('s', 1) }]);
    await waitFor('c2 ACK', () => ads.of(TypeUrl.Cluster).some((r) => r.version_info === 'c2'));
    assert.equal(client.snapshot()!.clusters.get('s'), before);
    assert.equal(client.status().find((t) => t.typeUrl === TypeUrl.Cluster)!.resources[0].version, 'c2');
  } finally {
    await admin.close();
    client.stop();
    ads.stop();
  }
});

test('delta: subscribes by difference, applies removals, NACKs by nonce, and reports held versions after a reconnect', async () => {
  const ads = new FakeAds();
  await ads.start();
  const port = ads.port;
  const { client, clock } = newClient(port, new FakeClock(), 'delta');
  client.on('disconnected', ({ retryInMs }) => setTimeout(() => clock.advance(retryInMs), 20));
  let ads2: FakeAds | undefined;
  try {
    client.start();
    const lds = await waitFor('LDS wildcard', () => ads.deltaRequests.find((r) => r.type_url === TypeUrl.Listener));
    assert.deepEqual(lds.resource_names_subscribe ?? [], [], 'empty first subscribe = wildcard');
    assert.ok(ads.deltaRequests[0]!.node?.id);
    ads.respondDelta(TypeUrl.Cluster, [edsCluster('a'), edsCluster('b')], [], 'c1');
    const sub = await waitFor('EDS subscribe', () => ads.deltaRequests.find((r) => r.type_url === TypeUrl.ClusterLoadAssignment && r.resource_names_subscribe?.length));
    assert.deepEqual(sub.resource_names_subscribe, ['a', 'b']);
    ads.respondDelta(TypeUrl.ClusterLoadAssignment, [cla('a', 1), cla('b', 2)], [], 'e1');
    ads.respondDelta(TypeUrl.Listener, [], [], 'l0');
    await waitFor('both clusters warm', () => client.snapshot()?.clusters.size === 2);

    // Removal of cluster b: EDS name b is unsubscribed by difference.
    const n = ads.respondDelta(TypeUrl.Cluster, [], ['b']);
    const ack = await waitFor('ACK by nonce', () => ads.deltaRequests.find((r) => r.response_nonce === n));
    assert.equal(ack.error_detail, undefined);
    const unsub = await waitFor('EDS unsubscribe', () => ads.deltaRequests.find((r) => r.type_url === TypeUrl.ClusterLoadAssignment && r.resource_names_unsubscribe?.length));
    assert.deepEqual(unsub.resource_names_unsubscribe, ['b']);
    assert.deepEqual(unsub.resource_names_subscribe ?? [], []);
    await waitFor('b gone', () => !client.snapshot()?.clusters.has('b') && !client.snapshot()?.endpoints.has('b'));

    // A bad cluster is NACKed with the nonce and an error; cluster a keeps its version.
    const bad = ads.respondDelta(TypeUrl.Cluster, [{ name: 'a', type: 'EDS', lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 10 } } }], [], 'c2');
    const nack = await waitFor('NACK', () => ads.deltaRequests.find((r) => r.response_nonce === bad));
    assert.match(nack.error_detail?.message ?? '', /Cluster a: maglev_lb_config\.table_size: must be prime/);
    assert.equal(client.snapshot()!.clusters.get('a')!.lbPolicy, 'ROUND_ROBIN');

    // Reconnect: the new stream says what we hold, per resource version.
    ads.stop();
    ads2 = new FakeAds();
    await ads2.start(port);
    const s2 = ads2;
    const again = await waitFor('CDS on the new stream', () => s2.deltaRequests.find((r) => r.type_url === TypeUrl.Cluster), 15_000);
    assert.deepEqual(again.initial_resource_versions, { a: 'c1' });
    const eds = await waitFor('EDS on the new stream', () => s2.deltaRequests.find((r) => r.type_url === TypeUrl.ClusterLoadAssignment));
    assert.deepEqual(eds.resource_names_subscribe, ['a']);
    assert.deepEqual(eds.initial_resource_versions, { a: 'e1' });
  } finally {
    client.stop();
    ads.stop();
    ads2?.stop();
  }
});

test('a throwing update listener does not stop ACKs', async () => {
  const ads = new FakeAds();
  await ads.start();
  const { client } = newClient(ads.port);
  client.on('update', () => {
    throw new Error('listener bug');
  });
  try {
    client.start();
    await waitFor('CDS request', () => ads.of(TypeUrl.Cluster).length);
    const n = ads.respond(TypeUrl.Cluster, 'c1', [{ name: 's', type: 'STATIC' }]);
    const ack = await waitFor('ACK', () => ads.of(TypeUrl.Cluster).find((r) => r.response_nonce === n));
    assert.equal(ack.version_info, 'c1');
    assert.ok(client.snapshot()?.clusters.has('s'));
  } finally {
    client.stop();
    ads.stop();
  }
});
