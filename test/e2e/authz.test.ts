// e2e (authorization): real processes — `rig control-plane` translating AuthorizationPolicy / RequestAuthentication
// into Envoy RBAC / jwt_authn, and `rig proxy` sidecars enforcing them on the server's inbound side. Two client
// identities over mTLS: an ALLOW policy admits only one service account, a DENY policy blocks a path, a request
// principal requirement gives no token -> 403, bad token -> 401, good token -> 200; live edits take effect.
import { test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Mesh } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const ISSUER = 'https://issuer.rig.test';

const policy = (name: string, action: string, rules: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  action: ${action}
  rules: ${rules}
`;

/** The server's ports: HTTP 9080 and a TCP port 9090 (same app behind both). */
const SERVER_SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: server, namespace: default}
spec:
  hosts: [server.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}, {number: 9090, name: tcp, protocol: TCP}]
  workloadSelector: {labels: {app: server}}
---
`;

/** Plaintext HTTP over a raw TCP connection to host:port: the response text, '' when the proxy closed it unanswered. */
function rawHttp(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, host);
    let out = '';
    sock.on('connect', () => sock.write('GET /tcp HTTP/1.1\r\nhost: server\r\nconnection: close\r\n\r\n'));
    sock.on('data', (d) => { out += d.toString(); });
    sock.on('error', () => {});
    sock.on('close', () => resolve(out));
    sock.setTimeout(5000, () => sock.destroy());
  });
}

test('AuthorizationPolicy + RequestAuthentication enforced by the server sidecar', { timeout: 120_000 }, async () => {
  const kp = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'e2e', alg: 'RS256', use: 'sig' }] });
  const forgedKey = (await generateKeyPair('RS256')).privateKey;
  const sign = (sub: string, key = kp.privateKey) => new SignJWT({ iss: ISSUER, sub }).setProtectedHeader({ alg: 'RS256', kid: 'e2e' }).setExpirationTime('10m').sign(key);

  const app: TestApp = await startApp('server');
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({
      config: SERVER_SE + policy('allow-client', 'ALLOW', '[{from: [{source: {principals: ["cluster.local/ns/default/sa/client-sa"]}}]}]'),
      workloads: [
        { name: 'client', labels: { app: 'client' }, serviceAccount: 'client-sa' },
        { name: 'other', labels: { app: 'other' }, serviceAccount: 'other-sa' },
        { name: 'server', labels: { app: 'server' }, serviceAccount: 'server-sa', app, ports: { http: 9080, tcp: 9090 } },
      ],
    });
    const m = mesh;
    const url = 'http://server:9080';

    // ALLOW: only client-sa gets in (mTLS identity); other-sa gets Envoy's 403.
    await m.waitRoutable('client', `${url}/hello`, 30_000);
    const denied = await poll(async () => { const r = await m.request('other', `${url}/hello`, { timeoutMs: 3000 }); return r.status === 403 ? r : undefined; }, 20_000, 200);
    assert.equal(denied.body, 'RBAC: access denied');
    const seenBefore = app.seen.length;
    assert.equal((await m.request('other', `${url}/again`)).status, 403);
    assert.equal(app.seen.length, seenBefore, 'a denied request never reaches the app');
    const line = await poll(async () => m.flagged('server').find((l) => l.status === 403 && l.path === '/hello'), 5000, 100);
    assert.match(line.explanation ?? '', /no ALLOW policy matched/);
    const stats = await m.admin('server', '/stats');
    assert.match(stats, /^http\..*\.rbac\.denied: [1-9]/m, 'the RBAC filter counts denials in /stats');

    // DENY on a path wins even for the allowed identity, and the log names the policy.
    // (rule 1: connection.sni is the SNI the client sidecar sends over mTLS, read by the server's tls_inspector)
    m.writeConfig('deny.yaml', policy('deny-admin', 'DENY', '[{to: [{operation: {paths: ["/admin*"]}}]}, {to: [{operation: {paths: ["/sni"]}}], when: [{key: connection.sni, values: ["outbound_.9080_._.server.default.svc.cluster.local"]}]}]'));
    await poll(async () => ((await m.request('client', `${url}/admin/x`, { timeoutMs: 3000 })).status === 403 ? true : undefined), 20_000, 200);
    assert.equal((await m.request('client', `${url}/ok`)).status, 200);
    const denyLine = await poll(async () => m.flagged('server').find((l) => l.path === '/admin/x'), 5000, 100);
    assert.match(denyLine.explanation ?? '', /DENY policy "ns\[default\]-policy\[deny-admin\]-rule\[0\]"/);
    assert.equal((await m.request('client', `${url}/sni`)).status, 403, 'connection.sni matched');
    assert.match((await poll(async () => m.flagged('server').find((l) => l.path === '/sni'), 5000, 100)).explanation ?? '', /deny-admin\]-rule\[1\]/);

    // RequestAuthentication + an ALLOW that needs a request principal (live edit replaces the identity rule).
    m.writeConfig('ra.yaml', `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  jwtRules:
  - issuer: "${ISSUER}"
    jwks: '${jwks}'
`);
    m.writeConfig('mesh.yaml', SERVER_SE + policy('allow-client', 'ALLOW', `[{from: [{source: {requestPrincipals: ["${ISSUER}/alice"]}}]}]`));
    const good = await sign('alice');
    const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` }, timeoutMs: 3000 });
    // bad token -> 401 once jwt_authn is in place
    const forged = await sign('alice', forgedKey);
    const bad = await poll(async () => { const r = await m.request('client', `${url}/jwt`, auth(forged)); return r.status === 401 ? r : undefined; }, 20_000, 200);
    assert.match(String(bad.headers['www-authenticate']), /^Bearer realm=".*", error="invalid_token"$/);
    // good token -> 200 (from either identity: the rule now names a request principal), no token -> 403
    await poll(async () => ((await m.request('other', `${url}/jwt`, auth(good))).status === 200 ? true : undefined), 20_000, 200);
    const r200 = await m.request('client', `${url}/jwt`, auth(good));
    assert.equal(r200.status, 200);
    assert.equal(r200.json!.headers.authorization, undefined, 'the token is not forwarded to the app (forwardOriginalToken false)');
    assert.equal((await m.request('client', `${url}/jwt`)).status, 403);
    assert.equal((await m.request('client', `${url}/jwt`, auth(await sign('bob')))).status, 403, 'valid token, wrong principal');
    assert.equal((await m.request('client', `${url}/admin/x`, auth(good))).status, 403, 'DENY still applies');

    // Removing the policies opens the service again.
    m.removeConfig('deny.yaml');
    m.writeConfig('mesh.yaml', SERVER_SE);
    await poll(async () => ((await m.request('other', `${url}/open`, { timeoutMs: 3000 })).status === 200 ? true : undefined), 20_000, 200);

    // TCP port: network RBAC before tcp_proxy. Open now; a DENY on port 9090 closes connections unanswered.
    const server = m.w('server');
    assert.match(await rawHttp(server.address, 9090), /^HTTP\/1\.1 200/);
    m.writeConfig('deny-tcp.yaml', policy('deny-tcp', 'DENY', '[{to: [{operation: {ports: ["9090"]}}]}]'));
    await poll(async () => ((await rawHttp(server.address, 9090)) === '' ? true : undefined), 20_000, 200);
    assert.equal((await m.request('client', `${url}/still-http`)).status, 200, 'the HTTP port is not affected');
    assert.match(await m.admin('server', '/stats'), /^tcp\.rbac\.denied: [1-9]/m);
  } finally {
    await mesh?.stop();
    await app.close();
  }
});
