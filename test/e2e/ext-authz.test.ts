// e2e (authorization, CUSTOM): real processes — `rig control-plane` translating an AuthorizationPolicy CUSTOM action
// with a MeshConfig envoyExtAuthzHttp provider into RBAC shadow + ext_authz, and the server's `rig proxy` sidecar
// checking the requests the rule selects with a small authorization server: 200 -> the backend gets the request and
// the allowed headers, the client the headersToDownstreamOnAllow ones; 403 -> the client gets the server's status, body and allowed headers, the backend nothing;
// unselected paths skip the check; the server down -> 403 with flag UAEX (failOpen false).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mesh } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';
import { extAuthzMeshConfig } from '../helpers/ext-authz-mesh.ts';

interface Check { method: string; url: string; headers: IncomingHttpHeaders }

/** The authorization server: /check/allow* -> 200 with identity headers, anything else -> 403 with a reason. */
async function startAuthz(): Promise<{ port: number; seen: Check[]; close(): Promise<void> }> {
  const seen: Check[] = [];
  const srv = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    if ((req.url ?? '').startsWith('/check/allow')) {
      res.writeHead(200, { 'x-user': 'alice', 'x-authz-level': 'gold', 'x-not-forwarded': 'secret', 'x-session': 'sess-1' });
      res.end();
      return;
    }
    res.writeHead(403, { 'content-type': 'text/plain', 'x-reason': 'not-on-list', 'x-internal': 'hidden' });
    res.end('denied by the test authz server');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port, seen,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

const config = (authzPort: number): string => extAuthzMeshConfig({
  provider: 'test-authz', service: 'authz', port: authzPort, protocol: 'HTTP',
  providerYaml: `      envoyExtAuthzHttp:
        service: authz.default.svc.cluster.local
        port: ${authzPort}
        timeout: 2s
        pathPrefix: /check
        includeRequestHeadersInCheck: [x-ext-authz]
        headersToUpstreamOnAllow: [x-user, "x-authz-*"]
        headersToDownstreamOnDeny: [x-reason]
        headersToDownstreamOnAllow: [x-session]`,
});

test('AuthorizationPolicy CUSTOM: ext_authz HTTP provider checked by the server sidecar', { timeout: 120_000 }, async () => {
  const app: TestApp = await startApp('server');
  const authz = await startAuthz();
  let authzOpen = true;
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

    // A path the CUSTOM rule does not select skips the check.
    const checksBefore = authz.seen.length;
    assert.equal((await m.request('client', `${url}/public`)).status, 200);
    assert.equal(authz.seen.length, checksBefore, 'unselected requests are not checked');

    // Allowed: the check carries path prefix + path and the listed header; the backend sees the allowed headers only.
    const ok = await poll(async () => {
      const r = await m.request('client', `${url}/allow/x?q=1`, { headers: { 'x-ext-authz': 'please', 'x-unlisted': 'no' }, timeoutMs: 3000 });
      return r.status === 200 ? r : undefined;
    }, 20_000, 200);
    const check = authz.seen.at(-1)!;
    assert.equal(check.url, '/check/allow/x?q=1');
    assert.equal(check.method, 'GET');
    assert.equal(check.headers['x-ext-authz'], 'please');
    assert.equal(check.headers['x-unlisted'], undefined, 'headers not in includeRequestHeadersInCheck stay out of the check');
    assert.equal(ok.json!.headers['x-user'], 'alice');
    assert.equal(ok.json!.headers['x-authz-level'], 'gold');
    assert.equal(ok.json!.headers['x-not-forwarded'], undefined, 'only headersToUpstreamOnAllow reach the backend');
    assert.equal(ok.json!.headers['x-session'], undefined);
    // headersToDownstreamOnAllow: the check's x-session reaches the client with the backend's response, nothing else
    assert.equal(ok.headers['x-session'], 'sess-1');
    assert.equal(ok.headers['x-user'], undefined);
    assert.equal(ok.headers['x-not-forwarded'], undefined);
    assert.equal(ok.json!.url, '/allow/x?q=1');
    // a request body waits while the check is in flight, then reaches the backend whole; the check carries none
    const big = 'b'.repeat(100_000);
    const posted = await m.request('client', `${url}/allow/post`, { method: 'POST', body: big, headers: { 'content-type': 'text/plain' } });
    assert.equal(posted.status, 200);
    assert.equal(app.seen.find((x) => x.url === '/allow/post')?.body, big);
    assert.equal(authz.seen.at(-1)!.url, '/check/allow/post');
    assert.equal(authz.seen.at(-1)!.method, 'POST');
    assert.equal(authz.seen.at(-1)!.headers['content-length'], '0');

    // Denied: the server's status, body and listed headers; the backend sees nothing.
    const seenBefore = app.seen.length;
    const denied = await m.request('client', `${url}/deny/me`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'denied by the test authz server');
    assert.equal(denied.headers['x-reason'], 'not-on-list');
    assert.equal(denied.headers['x-internal'], undefined, 'only headersToDownstreamOnDeny reach the client');
    assert.equal(app.seen.length, seenBefore, 'a denied request never reaches the backend');
    const denyLine = await poll(async () => m.flagged('server').find((l) => l.path === '/deny/me'), 5000, 100);
    assert.equal(denyLine.flags, 'UAEX');
    assert.match(denyLine.explanation ?? '', /the authorization service answered 403 \(envoy\.filters\.http\.ext_authz, AuthorizationPolicy action CUSTOM\)/);

    // The authorization server down: failOpen false -> 403 (status_on_error), flag UAEX; unselected paths still work.
    await authz.close();
    authzOpen = false;
    const down = await m.request('client', `${url}/allow/down`, { timeoutMs: 5000 });
    assert.equal(down.status, 403);
    assert.equal(app.seen.some((s) => s.url === '/allow/down'), false);
    const downLine = await poll(async () => m.flagged('server').find((l) => l.path === '/allow/down'), 5000, 100);
    assert.equal(downLine.flags, 'UAEX');
    assert.equal(downLine.status, 403);
    // Connect refused, or (when the check took the pooled connection before the proxy read the server's FIN, a race
    // Envoy's pools have too) the connection closed under it: either way the check failed and nothing passed.
    assert.match(downLine.explanation ?? '', /the authorization check failed \((connect-failure|reset-before-response: upstream connection closed)/);
    assert.equal((await m.request('client', `${url}/public`)).status, 200);
    const stats = await m.admin('server', '/stats');
    assert.match(stats, /^http\..*\.ext_authz\.ok: [1-9]/m);
    assert.match(stats, /^http\..*\.ext_authz\.denied: [1-9]/m);
    assert.match(stats, /^http\..*\.ext_authz\.error: [1-9]/m);
  } finally {
    await mesh?.stop();
    await app.close();
    if (authzOpen) await authz.close();
  }
});

test('CUSTOM: the authorization server is a mesh workload behind its own sidecar (check over mTLS)', { timeout: 120_000 }, async () => {
  const app: TestApp = await startApp('server');
  const authz = await startAuthz();
  let mesh: Mesh | undefined;
  try {
    const cfgText = config(8000)
      .replace(/kind: ServiceEntry\nmetadata: \{name: authz[\s\S]*?endpoints: \[\{address: 127\.0\.0\.1\}\]\n/, `kind: ServiceEntry
metadata: {name: authz, namespace: default}
spec:
  hosts: [authz.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8000, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: authz}}
`);
    assert.match(cfgText, /workloadSelector: \{labels: \{app: authz\}\}/);
    mesh = await Mesh.start({
      config: cfgText,
      workloads: [
        { name: 'client', labels: { app: 'client' }, serviceAccount: 'client-sa' },
        { name: 'server', labels: { app: 'server' }, serviceAccount: 'server-sa', app, ports: { http: 9080 } },
        { name: 'authz', labels: { app: 'authz' }, serviceAccount: 'authz-sa', app: { port: authz.port } as TestApp, ports: { http: 8000 } },
      ],
    });
    const m = mesh;
    const url = 'http://server:9080';
    await m.waitRoutable('client', `${url}/public`, 30_000);
    const ok = await poll(async () => { const r = await m.request('client', `${url}/allow/mtls`, { timeoutMs: 3000 }); return r.status === 200 ? r : undefined; }, 20_000, 200);
    assert.equal(ok.json!.headers['x-user'], 'alice');
    assert.equal(authz.seen.at(-1)!.url, '/check/allow/mtls');
    // the check arrived through the authorization server's sidecar, which adds the mTLS peer's identity
    assert.match(String(authz.seen.at(-1)!.headers['x-forwarded-client-cert'] ?? ''), /spiffe:\/\/cluster\.local\/ns\/default\/sa\/server-sa/);
    const denied = await m.request('client', `${url}/deny/mtls`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'denied by the test authz server');
  } finally {
    await mesh?.stop();
    await app.close();
    await authz.close();
  }
});
