// e2e (authorization, CUSTOM over gRPC): real processes — an envoyExtAuthzGrpc provider; the server's sidecar calls
// envoy.service.auth.v3.Authorization/Check on a grpc-js authorization server: OK -> the backend gets the request
// plus the ok_response headers; PERMISSION_DENIED with a denied_response -> the client gets its status, body and
// headers; unselected paths are not checked; the server down -> 403 with flag UAEX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { lookupType } from '../../src/envoy/protos.ts';
import { Mesh } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';
import { extAuthzMeshConfig } from '../helpers/ext-authz-mesh.ts';

type Obj = Record<string, any>;
const opts = { enums: String, longs: Number, defaults: false } as const;

async function startGrpcAuthz(): Promise<{ port: number; seen: Obj[]; close(): Promise<void> }> {
  const reqT = lookupType('envoy.service.auth.v3.CheckRequest');
  const resT = lookupType('envoy.service.auth.v3.CheckResponse');
  const seen: Obj[] = [];
  const server = new grpc.Server();
  server.addService({
    Check: {
      path: '/envoy.service.auth.v3.Authorization/Check', requestStream: false, responseStream: false,
      requestSerialize: (o: Obj) => Buffer.from(reqT.encode(reqT.fromObject(o)).finish()),
      requestDeserialize: (b: Buffer) => reqT.toObject(reqT.decode(b), opts),
      responseSerialize: (o: Obj) => Buffer.from(resT.encode(resT.fromObject(o)).finish()),
      responseDeserialize: (b: Buffer) => resT.toObject(resT.decode(b), opts),
    },
  }, {
    Check: (call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
      const http = call.request.attributes?.request?.http ?? {};
      seen.push(http);
      if (String(http.path).startsWith('/allow')) cb(null, { status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-user', value: 'grpc-alice' } }] } });
      else cb(null, { status: { code: 7 }, denied_response: { status: { code: 'Unauthorized' }, body: 'grpc authz says no', headers: [{ header: { key: 'x-reason', value: 'grpc' } }] } });
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, seen, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

const config = (port: number): string => extAuthzMeshConfig({
  provider: 'grpc-authz', service: 'authz-grpc', port, protocol: 'GRPC',
  providerYaml: `      envoyExtAuthzGrpc: {service: authz-grpc.default.svc.cluster.local, port: ${port}, timeout: 2s}`,
});

test('AuthorizationPolicy CUSTOM: envoyExtAuthzGrpc provider (Authorization/Check over HTTP/2)', { timeout: 120_000 }, async () => {
  const app: TestApp = await startApp('server');
  const authz = await startGrpcAuthz();
  let open = true;
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: config(authz.port),
      workloads: [
        { name: 'client', labels: { app: 'client' }, serviceAccount: 'client-sa' },
        { name: 'server', labels: { app: 'server' }, serviceAccount: 'server-sa', app, ports: { http: 9080 } },
      ],
    });
    const m = mesh;
    const url = 'http://server:9080';
    await m.waitRoutable('client', `${url}/public`, 30_000);
    assert.equal(authz.seen.length, 0, 'unselected requests are not checked');

    const ok = await poll(async () => {
      const r = await m.request('client', `${url}/allow/g?x=1`, { headers: { 'x-custom': 'v' }, timeoutMs: 3000 });
      return r.status === 200 ? r : undefined;
    }, 20_000, 200);
    assert.equal(ok.json!.headers['x-user'], 'grpc-alice');
    const c = authz.seen.at(-1)!;
    assert.equal(c.method, 'GET');
    assert.equal(c.path, '/allow/g?x=1');
    assert.equal(c.headers['x-custom'], 'v', 'the CheckRequest carries the request headers');

    const before = app.seen.length;
    const denied = await m.request('client', `${url}/deny/g`);
    assert.equal(denied.status, 401);
    assert.equal(denied.body, 'grpc authz says no');
    assert.equal(denied.headers['x-reason'], 'grpc');
    assert.equal(app.seen.length, before, 'the backend sees nothing');

    await authz.close();
    open = false;
    const down = await m.request('client', `${url}/allow/down`, { timeoutMs: 5000 });
    assert.equal(down.status, 403);
    const line = await poll(async () => m.flagged('server').find((l) => l.path === '/allow/down'), 5000, 100);
    assert.equal(line.flags, 'UAEX');
  } finally {
    await mesh?.stop();
    await app.close();
    if (open) await authz.close();
  }
});
