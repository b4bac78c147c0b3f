// e2e (mesh mTLS): real processes — `rig control-plane` (CA + CertificateService on its xDS port) and two `rig proxy`
// sidecars in local mode. The sidecars get SPIFFE certificates from CSRs; app -> client sidecar -> server sidecar ->
// app goes over mTLS (auto mTLS: no DestinationRule) and the server app sees the client's SPIFFE ID in
// x-forwarded-client-cert. PERMISSIVE (the default) also takes plaintext straight to the server sidecar; STRICT
// refuses it while mesh traffic keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client-sa';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server-sa';

const pa = (mode: string) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: ${mode}}}
`;

/** A plaintext HTTP request straight to host:port (what a workload outside the mesh would send). */
function plain(host: string, port: number): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/direct', agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

test('mTLS between sidecars with SPIFFE identities; PERMISSIVE takes plaintext, STRICT refuses it', { timeout: 60_000 }, async () => {
  const app: TestApp = await startApp('server');
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: serviceEntry('server'), // no PeerAuthentication: Istio's default, PERMISSIVE
      workloads: [
        { name: 'client', labels: { app: 'client' }, serviceAccount: 'client-sa' },
        { name: 'server', labels: { app: 'server' }, serviceAccount: 'server-sa', app },
      ],
    });
    const r = await mesh.waitRoutable('client', 'http://server:9080/hello', 20_000);
    assert.equal(r.json!.app, 'server');
    const xfcc = String(r.json!.headers['x-forwarded-client-cert'] ?? '');
    assert.match(xfcc, new RegExp(`^By=${SERVER_ID};Hash=[0-9a-f]{64};Subject="";URI=${CLIENT_ID}$`), `server app saw XFCC ${xfcc}`);

    // the client's cluster to the server uses TLS (auto mTLS picked the tlsMode=istio endpoint)
    const dump = await mesh.admin('client', '/config_dump');
    assert.match(dump, /tlsMode-istio/);

    // PERMISSIVE: plaintext straight to the server sidecar's inbound listener reaches the app, with no identity
    const server = mesh.w('server');
    const direct = await plain(server.address, 9080);
    assert.ok('status' in direct && direct.status === 200, JSON.stringify(direct));
    const seen = app.seen[app.seen.length - 1]!;
    assert.equal(seen.url, '/direct');
    assert.equal(seen.headers['x-forwarded-client-cert'], undefined);

    // STRICT: plaintext is refused; mesh traffic still flows (and still carries the client identity)
    mesh.writeConfig('pa.yaml', pa('STRICT'));
    await poll(async () => { const d = await plain(server.address, 9080); return 'error' in d ? d : undefined; }, 15_000, 200);
    const before = app.seen.length;
    const again = await mesh.request('client', 'http://server:9080/strict');
    assert.equal(again.status, 200);
    assert.match(String(again.json!.headers['x-forwarded-client-cert']), new RegExp(`URI=${CLIENT_ID}$`));
    const d2 = await plain(server.address, 9080);
    assert.ok('error' in d2, `plaintext under STRICT: ${JSON.stringify(d2)}`);
    assert.equal(app.seen.slice(before).filter((s) => s.url === '/direct').length, 0, 'no plaintext request reached the app');

    // a mesh client told to send plaintext (DestinationRule tls DISABLE) is refused by STRICT too
    mesh.writeConfig('dr.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: server, namespace: default}
spec: {host: server.default.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}
`);
    const refused = await poll(async () => { const x = await mesh!.request('client', 'http://server:9080/plain-mesh', { timeoutMs: 3000 }); return x.status >= 500 ? x : undefined; }, 15_000, 200);
    assert.ok(refused.status === 503 || refused.status === 502, `status ${refused.status}`);
    // (requests sent before the DestinationRule arrived went over mTLS; from now on none gets through)
    const seenBefore = app.seen.length;
    const again2 = await mesh.request('client', 'http://server:9080/plain-mesh');
    assert.ok(again2.status >= 500, `status ${again2.status}`);
    assert.equal(app.seen.length, seenBefore, 'a plaintext mesh request reached the STRICT server app');
  } finally {
    await mesh?.stop();
    await app.close();
  }
});
