// test/xds-server: the real @grpc/grpc-js-xds client against our ADS server (hand-written proxyless
// config, no translation): calls reach the backends, a pushed change moves traffic live, a config the
// client rejects is NACKed and recorded while the last accepted one keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { XdsServer } from '../../src/xds/server/server.ts';
import { logger } from '../../src/common/logger.ts';
import { startGrpcBackend, EchoClient, hello, type Backend } from '../helpers/grpc-backend.ts';
import { poll } from '../helpers/processes.ts';
import { tinyConfig } from './fixtures.ts';

const HOST = 'echo.default.svc.cluster.local';
let server: XdsServer;
let v1: Backend;
let v2: Backend;
const log = logger('test');
log.level = 'silent';

before(async () => {
  [v1, v2] = await Promise.all([startGrpcBackend('v1'), startGrpcBackend('v2')]);
  server = new XdsServer({ debounceMs: 5, debounceMaxMs: 20, logger: log });
  server.update('1', () => tinyConfig({ services: [{ host: HOST, port: 9080, endpoints: [{ ip: '127.0.0.1', port: v1.port }] }] }));
  const port = await server.listen(0, '127.0.0.1');
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' }, locality: {} },
  });
  grpcXds.register();
});
after(async () => { await server.close(); await Promise.all([v1.close(), v2.close()]); });

test('grpc-js-xds resolves through our server and follows a live push', async () => {
  const client = new EchoClient(`xds:///${HOST}:9080`, grpc.credentials.createInsecure());
  try {
    const r = await hello(client);
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.reply?.version, 'v1');
    const st = server.status();
    assert.equal(st.length, 1);
    assert.deepEqual(st[0]!.types.map((t) => t.state), st[0]!.types.map(() => 'SYNCED'));
    assert.ok(st[0]!.types.length >= 4, JSON.stringify(st[0]!.types.map((t) => t.type)));
    server.update('2', () => tinyConfig({ services: [{ host: HOST, port: 9080, endpoints: [{ ip: '127.0.0.1', port: v2.port }] }] }));
    await server.flush();
    await poll(async () => (await hello(client)).reply?.version === 'v2', 10000, 50);

    // A route config the client cannot accept (no virtual host matches nothing; a route with no action)
    // is NACKed: the server records it, the client keeps routing with its last good config.
    server.update('3', () => {
      const cfg = tinyConfig({ services: [{ host: HOST, port: 9080, endpoints: [{ ip: '127.0.0.1', port: v2.port }] }] });
      (cfg.routes[0] as { virtual_hosts: { routes: Record<string, unknown>[] }[] }).virtual_hosts[0]!.routes = [{ match: { prefix: '/' } }];
      return cfg;
    });
    await server.flush();
    const nacked = await poll(() => server.status()[0]?.types.find((t) => t.type === 'routes' && t.state === 'NACKED'), 10000, 50);
    assert.ok(nacked.error && nacked.error.length > 0, 'the NACK carries the client\'s error');
    assert.ok(server.metrics.get('pilot_total_xds_rejects', { type: 'routes' }) >= 1);
    for (let i = 0; i < 5; i++) assert.equal((await hello(client)).reply?.version, 'v2', 'last accepted config keeps serving');
    // A good config afterwards is accepted again.
    server.update('4', () => tinyConfig({ services: [{ host: HOST, port: 9080, endpoints: [{ ip: '127.0.0.1', port: v1.port }] }] }));
    await server.flush();
    await poll(async () => (await hello(client)).reply?.version === 'v1', 10000, 50);
    await poll(() => server.status()[0]?.types.every((t) => t.state === 'SYNCED'), 10000, 50);
  } finally { client.close(); }
});
