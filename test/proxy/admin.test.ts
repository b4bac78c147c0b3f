// test/proxy: the admin API on 127.0.0.1:0 with stub providers: readiness, clusters, stats, drain and quit hooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminServer } from '../../src/proxy/admin/server.ts';
import type { AdminProviders, ClusterStatus, Stat, XdsStatusProvider } from '../../src/proxy/admin/types.ts';
import type { ClusterConfig, ProxyConfigSnapshot } from '../../src/proxy/config/types.ts';
import { decodeCluster } from '../../src/proxy/config/decode.ts';
import { FakeClock } from '../../src/common/clock.ts';
import { waitFor } from '../helpers/wait.ts';

async function withAdmin(providers: AdminProviders, f: (get: (path: string, method?: string) => Promise<{ status: number; body: string; type: string }>, admin: AdminServer) => Promise<void>, clock = new FakeClock(1000)): Promise<void> {
  const admin = new AdminServer({ port: 0, providers, clock, wallNow: () => Date.UTC(2026, 0, 1) });
  const port = await admin.start();
  try {
    await f(async (path, method = 'GET') => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
      return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
    }, admin);
  } finally {
    await admin.close();
  }
}

function cluster(): ClusterConfig {
  const r = decodeCluster({ name: 'outbound|9080||reviews', type: 'STATIC', load_assignment: { cluster_name: 'outbound|9080||reviews', endpoints: [{ locality: { zone: 'z1' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } } } }] }] } });
  return r.value!;
}

function stubXds(ready: { v: boolean }): XdsStatusProvider {
  const c = cluster();
  const snap: ProxyConfigSnapshot = { generation: 1, listeners: new Map(), routes: new Map(), clusters: new Map([[c.name, c]]), endpoints: new Map(), secrets: new Map(), versions: {} };
  return {
    isReady: () => ready.v,
    isConnected: () => true,
    snapshot: () => snap,
    status: () => [
      { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', version: 'v1', nonce: 'n1', received: true, subscribed: '*', resources: [{ name: c.name, version: 'v1', appliedAt: 500, raw: { name: c.name } }] },
      {
        typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener', version: 'l1', nonce: 'n2', received: true, subscribed: '*', resources: [{ name: 'l', version: 'l1', appliedAt: 900, raw: { name: 'l' } }],
        lastNack: { version: 'l2', nonce: 'n2', at: 900, errors: [{ resource: 'Listener l', field: 'address', message: 'missing address' }] },
      },
    ],
  };
}

test('/ready is 503 until xDS is ready and the engine says so; /server_info reports the state', async () => {
  const ready = { v: false };
  const bound = { v: false };
  await withAdmin({ xds: stubXds(ready), ready: () => bound.v, bootstrap: () => ({ node: { id: 'sidecar~1~a.b~b.svc.cluster.local' } }) }, async (get) => {
    assert.equal((await get('/ready')).status, 503);
    assert.equal((await get('/ready')).body, 'PRE_INITIALIZING\n');
    ready.v = true;
    assert.equal((await get('/ready')).status, 503, 'listeners not bound yet');
    bound.v = true;
    const r = await get('/healthz/ready');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'LIVE\n');
    const info = JSON.parse((await get('/server_info')).body);
    assert.equal(info.state, 'LIVE');
    assert.equal(info.node.id, 'sidecar~1~a.b~b.svc.cluster.local');
  });
});

test('/config_dump has Envoy dump types, active resources, and the last NACK per resource and type', async () => {
  await withAdmin({ xds: stubXds({ v: true }) }, async (get) => {
    const d = JSON.parse((await get('/config_dump')).body);
    const types = d.configs.map((c: { '@type': string }) => c['@type'].split('.').pop());
    assert.deepEqual(types, ['ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump', 'XdsStatus']);
    const clusters = d.configs[0];
    assert.equal(clusters.version_info, 'v1');
    assert.equal(clusters.dynamic_active_clusters[0].cluster.name, 'outbound|9080||reviews');
    assert.equal(clusters.dynamic_active_clusters[0].last_updated, new Date(Date.UTC(2026, 0, 1) - 500).toISOString(), 'clock times become wall times');
    const listeners = d.configs[1];
    assert.ok(listeners.dynamic_listeners[0].warming_state, 'a listener not in the snapshot is warming');
    assert.match(listeners.dynamic_listeners[0].error_state.details, /address: missing address/);
    const status = d.configs[4];
    assert.equal(status.types[1].last_nack.version_info, 'l2');
    const eds = JSON.parse((await get('/config_dump?include_eds')).body);
    assert.ok(eds.configs.some((c: { '@type': string }) => c['@type'].endsWith('EndpointsConfigDump')));
    const only = JSON.parse((await get('/config_dump?resource=ClustersConfigDump')).body);
    assert.equal(only.configs.length, 1);
    const active = JSON.parse((await get('/config_dump?resource=dynamic_active_clusters')).body);
    assert.deepEqual(active.configs.map((c: { cluster: { name: string } }) => c.cluster.name), ['outbound|9080||reviews']);
  });
});

test('/clusters from the provider (outlier state) or, without one, from the xDS snapshot', async () => {
  const provided: ClusterStatus[] = [{
    name: 'c1',
    endpoints: [
      { address: '10.0.0.1', port: 80, health: 'HEALTHY', weight: 1, outlier: { ejected: true, ejectionCount: 2, ejectedUntilMs: 5000 } },
      { address: '10.0.0.2', port: 80, health: 'UNHEALTHY', weight: 3, activeRequests: 4 },
      { address: '10.0.0.3', port: 80, health: 'HEALTHY', weight: 1 },
    ],
  }];
  await withAdmin({ clusters: () => provided }, async (get) => {
    const t = (await get('/clusters')).body;
    assert.match(t, /^c1::10\.0\.0\.1:80::health_flags::\/failed_outlier_check$/m);
    assert.match(t, /^c1::10\.0\.0\.1:80::ejections::2$/m);
    assert.match(t, /^c1::10\.0\.0\.2:80::health_flags::\/failed_eds_health$/m);
    assert.match(t, /^c1::10\.0\.0\.2:80::rq_active::4$/m);
    assert.match(t, /^c1::10\.0\.0\.3:80::health_flags::healthy$/m);
    const j = JSON.parse((await get('/clusters?format=json')).body);
    assert.equal(j.cluster_statuses[0].host_statuses[0].health_status.failed_outlier_check, true);
    assert.equal(j.cluster_statuses[0].host_statuses[1].weight, 3);
  });
  await withAdmin({ clusters: () => provided, clustersRendered: { text: () => 'c::1.2.3.4:80::health_flags::healthy\n', json: () => [{ name: 'c' }] } }, async (get) => {
    assert.equal((await get('/clusters')).body, 'c::1.2.3.4:80::health_flags::healthy\n', 'pre-rendered output wins');
    assert.deepEqual(JSON.parse((await get('/clusters?format=json')).body), [{ name: 'c' }]);
  });
  await withAdmin({ xds: stubXds({ v: true }) }, async (get) => {
    const t = (await get('/clusters')).body;
    assert.match(t, /^outbound\|9080\|\|reviews::10\.0\.0\.1:9080::zone::z1$/m);
    assert.match(t, /^outbound\|9080\|\|reviews::default_priority::max_requests::1024$/m);
  });
});

test('/stats text, JSON, filter, and Prometheus exposition with labels and histograms', async () => {
  const stats: Stat[] = [
    { type: 'counter', name: 'istio_requests_total', value: 3, labels: { reporter: 'destination', response_code: '200', response_flags: '-' }, help: 'requests' },
    { type: 'counter', name: 'istio_requests_total', value: 1, labels: { reporter: 'destination', response_code: '503', response_flags: 'UO' } },
    { type: 'gauge', name: 'server.live', value: 1 },
    { type: 'histogram', name: 'istio_request_duration_milliseconds', labels: { reporter: 'source' }, buckets: [[5, 1], [10, 3]], sum: 17.5, count: 4 },
  ];
  await withAdmin({ stats: () => stats }, async (get) => {
    const text = (await get('/stats')).body;
    assert.match(text, /^server\.live: 1$/m);
    assert.match(text, /^istio_requests_total\.reporter=destination\.response_code=503\.response_flags=UO: 1$/m);
    const filtered = (await get('/stats?filter=^server')).body;
    assert.equal(filtered, 'server.live: 1\n');
    const j = JSON.parse((await get('/stats?format=json')).body);
    assert.equal(j.stats.length, 4);
    const p = await get('/stats/prometheus');
    assert.match(p.type, /text\/plain/);
    const lines = p.body.split('\n');
    assert.equal(lines.filter((l) => l === '# TYPE istio_requests_total counter').length, 1, 'one TYPE line per family');
    assert.ok(lines.includes('istio_requests_total{reporter="destination",response_code="503",response_flags="UO"} 1'));
    assert.ok(lines.includes('server_live 1'), 'dots become underscores');
    assert.ok(lines.includes('istio_request_duration_milliseconds_bucket{reporter="source",le="10"} 3'));
    assert.ok(lines.includes('istio_request_duration_milliseconds_bucket{reporter="source",le="+Inf"} 4'));
    assert.ok(lines.includes('istio_request_duration_milliseconds_sum{reporter="source"} 17.5'));
  });
});

test('/drain_listeners and /quitquitquit need POST and call the hooks; draining makes /ready 503', async () => {
  const calls: string[] = [];
  await withAdmin({
    xds: stubXds({ v: true }),
    drainListeners: (o) => { calls.push(`drain:${o.inboundOnly}:${o.graceful}`); },
    quit: () => { calls.push('quit'); },
  }, async (get) => {
    assert.equal((await get('/drain_listeners')).status, 405);
    assert.equal((await get('/drain_listeners?inboundonly&graceful', 'POST')).status, 200);
    assert.equal((await get('/ready')).status, 200, 'inbound-only drain keeps the proxy ready');
    assert.equal((await get('/drain_listeners', 'POST')).status, 200);
    assert.equal((await get('/ready')).body, 'DRAINING\n');
    assert.equal((await get('/quitquitquit', 'GET')).status, 405);
    assert.equal((await get('/quitquitquit', 'POST')).status, 200);
    await waitFor('the quit call', () => calls.includes('quit'), 500);
    assert.deepEqual(calls, ['drain:true:true', 'drain:false:false', 'quit']);
    assert.equal((await get('/nope')).status, 404);
  });
});

test('/listeners from the served snapshot, /memory, and /logging level changes need POST', async () => {
  const xds = stubXds({ v: true });
  const snap = xds.snapshot()!;
  (snap.listeners as Map<string, unknown>).set('virtualOutbound', { name: 'virtualOutbound', address: '0.0.0.0', port: 15001, bindToPort: true });
  const { rootLogger } = await import('../../src/common/logger.ts');
  const before = rootLogger().level;
  try {
    await withAdmin({ xds }, async (get) => {
      assert.equal((await get('/listeners')).body, 'virtualOutbound::0.0.0.0:15001\n');
      const j = JSON.parse((await get('/listeners?format=json')).body);
      assert.equal(j.listener_statuses[0].local_address.socket_address.port_value, 15001);
      const mem = JSON.parse((await get('/memory')).body);
      assert.ok(Number(mem.resident) > 0);
      assert.equal((await get('/logging?level=debug')).status, 405);
      assert.equal((await get('/logging?level=loud', 'POST')).status, 400);
      const r = await get('/logging?level=debug', 'POST');
      assert.equal(r.status, 200);
      assert.match(r.body, /all: debug/);
      assert.equal(rootLogger().level, 'debug');
    });
  } finally {
    rootLogger().level = before;
  }
});
