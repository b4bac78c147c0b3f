// test/proxy: authorization on real sockets — handcrafted Envoy listeners (jwt_authn + RBAC DENY/ALLOW in the HCM,
// network RBAC before tcp_proxy) decoded by the proxy's own decoder and served by the engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { connect as h2connect } from 'node:http2';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { Engine } from '../../src/proxy/engine.ts';
import { decodeObject, ResourceType } from '../../src/proxy/config/decode.ts';
import type { ListenerConfig } from '../../src/proxy/config/types.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import type { AccessLogEntry } from '../../src/proxy/telemetry/access-log.ts';
import { authzStats } from '../../src/proxy/http/filters/rbac.ts';
import { backend, cluster, snapshot, testRouter, type Backend } from './engine-fixtures.ts';

const T = 'type.googleapis.com/';
let be: Backend;
let engine: Engine;
let httpPort: number;
let key: CryptoKey;
let foreign: CryptoKey;
const records: RequestRecord[] = [];
const logged: AccessLogEntry[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 2 });

function decodeListener(raw: Record<string, unknown>): ListenerConfig {
  const r = decodeObject(ResourceType.Listener, raw);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.value as ListenerConfig;
}

const md = (claim: string, value: string) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: claim }], value: { string_match: { exact: value } } } });

function httpListener(jwks: string): Record<string, unknown> {
  const jwt = {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': `${T}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
      providers: { 'origins-0': { issuer: 'https://issuer.test', local_jwks: { inline_string: jwks }, payload_in_metadata: 'payload' } },
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
    },
  };
  const deny = {
    name: 'envoy.filters.http.rbac',
    typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'DENY', policies: {
      'ns[default]-policy[no-admin]-rule[0]': { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] },
    } } },
  };
  const allow = {
    name: 'envoy.filters.http.rbac',
    typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'ALLOW', policies: {
      'ns[default]-policy[allow]-rule[0]': { permissions: [{ any: true }], principals: [{ header: { name: 'x-user', string_match: { exact: 'good' } } }] },
      'ns[default]-policy[allow]-rule[1]': { permissions: [{ any: true }], principals: [{ and_ids: { ids: [md('iss', 'https://issuer.test'), md('sub', 'alice')] } }] },
    } } },
  };
  return {
    name: 'inbound-http', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`, stat_prefix: 'inbound_8080',
      normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'REJECT_REQUEST',
      access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`, path: '/dev/null' } }],
      route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
      http_filters: [jwt, deny, allow, { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
    } }] }],
  };
}

function tcpListener(name: string, allowCidr: string): Record<string, unknown> {
  return {
    name, address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [
      { name: 'envoy.filters.network.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.network.rbac.v3.RBAC`, stat_prefix: 'tcp.', rules: { action: 'ALLOW', policies: {
        p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: allowCidr, prefix_len: { value: 32 } } }] },
      } } } },
      { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 't', cluster: 'c',
        access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`, path: '/dev/null' } }] } },
    ] }],
  };
}

function call(path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: httpPort, path, agent, headers, method: body ? 'POST' : 'GET' }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Raw HTTP/1.1 GET over a TCP listener: the response text, or '' when the proxy closed the connection. */
function rawGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('connect', () => s.write('GET /tcp HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    s.on('data', (d) => { out += d.toString(); });
    s.on('error', () => {});
    s.on('close', () => resolve(out));
    s.setTimeout(5000, () => s.destroy());
  });
}

const token = (sub: string, k: CryptoKey = key) =>
  new SignJWT({ iss: 'https://issuer.test', sub }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setExpirationTime('10m').sign(k);

before(async () => {
  const kp = await generateKeyPair('ES256');
  key = kp.privateKey;
  foreign = (await generateKeyPair('ES256')).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'k', alg: 'ES256' }] });
  be = await backend((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => { res.setHeader('x-saw-auth', String(req.headers.authorization ?? '')); res.end(`ok ${req.url}${n ? ` ${n}` : ''}`); });
  });
  engine = new Engine({ compileRouter: testRouter, onRequestComplete: (r) => records.push(r) });
  // Access-log entries as the telemetry module would get them (the listener has an access_log).
  engine.ctx.telemetry = {
    peerHeader: 'test', onHttp: (d) => { if (d.entry) logged.push(d.entry()); },
    onTcpOpen: () => (_sent, _received, entry) => { if (entry) logged.push(entry()); },
  };
  await engine.apply(snapshot(
    [decodeListener(httpListener(jwks)), decodeListener(tcpListener('tcp-allowed', '127.0.0.1')), decodeListener(tcpListener('tcp-denied', '10.0.0.1'))],
    [cluster('c', [{ address: '127.0.0.1', port: be.port }])],
  ));
  httpPort = engine.portOf('inbound-http')!;
});

after(async () => {
  agent.destroy();
  engine.close();
  await be.close();
});

test('ALLOW admits a matching principal; others get 403 "RBAC: access denied" explained in the record', async () => {
  const ok = await call('/', { 'x-user': 'good' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok /');
  const no = await call('/', { 'x-user': 'bad' });
  assert.equal(no.status, 403);
  assert.equal(no.body, 'RBAC: access denied');
  const rec = records.find((r) => r.status === 403 && r.path === '/');
  assert.ok(rec?.explanation, 'a denial is explained');
  assert.match(rec!.explanation!, /no ALLOW policy matched/);
});

test('DENY on a path wins over ALLOW and names the policy', async () => {
  const r = await call('/admin/panel', { 'x-user': 'good' });
  assert.equal(r.status, 403);
  const rec = records.find((x) => x.path === '/admin/panel');
  assert.match(rec!.explanation!, /DENY policy "ns\[default\]-policy\[no-admin\]-rule\[0\]" matched/);
});

test('JWT: good token admitted by request principal (and stripped), bad token 401, token in access_token param', async () => {
  const good = await call('/', { authorization: `Bearer ${await token('alice')}` });
  assert.equal(good.status, 200);
  assert.equal(good.headers['x-saw-auth'], '', 'forward: false removes the token before the upstream');
  const other = await call('/', { authorization: `Bearer ${await token('bob')}` });
  assert.equal(other.status, 403, 'valid token, but not a principal the ALLOW policy lists');
  const forged = await call('/', { authorization: `Bearer ${await token('alice', foreign)}` });
  assert.equal(forged.status, 401);
  assert.equal(forged.body, 'Jwt verification fails');
  assert.match(String(forged.headers['www-authenticate']), /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/", error="invalid_token"$/);
  const q = await call(`/?access_token=${await token('alice')}`);
  assert.equal(q.status, 200);
  // The same token again comes from the cache (synchronous path) and is still admitted.
  const again = await call('/', { authorization: `Bearer ${await token('alice')}` });
  assert.equal(again.status, 200);
});

test('stats count per filter under Envoy names', () => {
  const stats = new Map(authzStats(engine.stats).map((s) => [s.name, s.value]));
  assert.ok((stats.get('http.inbound_8080.rbac.allowed') ?? 0) >= 4, JSON.stringify([...stats]));
  assert.ok((stats.get('http.inbound_8080.rbac.denied') ?? 0) >= 3, JSON.stringify([...stats]));
});

test('network RBAC: an allowed source is proxied, a denied one is closed without a byte', async () => {
  const ok = await rawGet(engine.portOf('tcp-allowed')!);
  assert.match(ok, /^HTTP\/1\.1 200/);
  assert.match(ok, /ok \/tcp/);
  assert.equal(await rawGet(engine.portOf('tcp-denied')!), '');
  const stats = new Map(authzStats(engine.stats).map((s) => [s.name, s.value]));
  assert.equal(stats.get('tcp.rbac.allowed'), 1);
  assert.equal(stats.get('tcp.rbac.denied'), 1);
  assert.ok(logged.some((e) => e.connectionTerminationDetails === 'rbac_access_denied_matched_policy[none]' && e.bytesSent === 0), 'the denied connection is logged with the reason');
});

test('access log response code details name the RBAC policy / JWT status', async () => {
  await call('/admin/log', { 'x-user': 'good' });
  await call('/', { authorization: 'Bearer a.b.c' });
  assert.ok(logged.some((e) => e.path === '/admin/log' && e.status === 403 && e.responseCodeDetails === 'rbac_access_denied_matched_policy[ns[default]-policy[no-admin]-rule[0]]'), JSON.stringify(logged.map((e) => [e.path, e.responseCodeDetails])));
  assert.ok(logged.some((e) => e.status === 401 && /^jwt_authn_access_denied\{Jwt_/.test(e.responseCodeDetails ?? '')), JSON.stringify(logged.map((e) => [e.path, e.responseCodeDetails])));
  assert.ok(logged.some((e) => e.status === 403 && e.responseCodeDetails === 'rbac_access_denied_matched_policy[none]'));
});

test('a request body waits while a fresh token is verified, then reaches the upstream whole', async () => {
  const body = Buffer.alloc(200_000, 'b');
  const r = await call('/upload', { authorization: `Bearer ${await token('alice')}`, 'content-length': String(body.length) }, body);
  assert.equal(r.status, 200);
  assert.equal(r.body, `ok /upload ${body.length}`);
});

test('normalize_path / merge_slashes apply before RBAC: encoded, dotted or doubled paths cannot dodge the DENY', async () => {
  for (const p of ['/./admin', '//admin', '/%61dmin', '/x/../admin/y', '/%2e%2e/admin']) {
    const r = await call(p, { 'x-user': 'good' });
    assert.equal(r.status, 403, p);
  }
  const ok = await call('/x/../fine?a=/../', { 'x-user': 'good' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok /fine?a=/../', 'the upstream gets the normalized path, query untouched');
});

test('a denied gRPC request (HTTP/2) gets a trailers-only PERMISSION_DENIED, as from Envoy', async () => {
  const session = h2connect(`http://127.0.0.1:${httpPort}`);
  try {
    const head = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const st = session.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc', te: 'trailers', 'x-user': 'bad' });
      st.on('response', (h) => resolve(h as Record<string, unknown>));
      st.on('error', reject);
      st.resume();
      st.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    assert.equal(head[':status'], 200);
    assert.equal(head['grpc-status'], '7');
    assert.equal(head['grpc-message'], 'RBAC: access denied');
  } finally {
    session.close();
  }
});

test('path_with_escaped_slashes_action REJECT_REQUEST answers 400 before any filter or route', async () => {
  const r = await call('/a%2Fadmin', { 'x-user': 'good' });
  assert.equal(r.status, 400);
});
