// test/proxy: HTTP/2 over TLS with ALPN through the engine on real sockets — h2 and HTTP/1.1 clients on one TLS
// listener (ALPN picks the codec), and an upstream h2-over-TLS cluster carrying a gRPC call with its trailers.
import { documentedIO } from '../../src/proxy/io/documented.ts';
import { internalIO, probe } from '../../src/proxy/io/internal.ts';
import type { SocketIO } from '../../src/proxy/io/types.ts';
import 'reflect-metadata';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, createSecureServer, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { Engine } from '../../src/proxy/engine.ts';
import type { DownstreamTlsConfig, ListenerConfig, UpstreamTlsConfig } from '../../src/proxy/config/types.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, terminatingTls, testRouter } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();
const SERVER_ID = 'spiffe://cluster.local/ns/ns/sa/server';
let rootPem = '';
let server = { cert: '', key: '' };
let client = { cert: '', key: '' };

before(async () => {
  const ca = await CertificateAuthority.generate();
  rootPem = ca.rootCertPem();
  const { certChain, privateKeyPem } = await ca.issue({ namespace: 'ns', serviceAccount: 'server' });
  server = { cert: certChain.join(''), key: privateKeyPem };
  const c = await ca.issue({ namespace: 'ns', serviceAccount: 'client' });
  client = { cert: c.certChain.join(''), key: c.privateKeyPem };
});

// Workload certificates carry only a SPIFFE URI SAN, so clients pin that instead of a host name (as Envoy does).
const pinServer = (_host: string, cert: { subjectaltname?: string }): Error | undefined =>
  (cert.subjectaltname ?? '').includes(`URI:${SERVER_ID}`) ? undefined : new Error(`unexpected peer ${cert.subjectaltname}`);

function downstreamTls(): DownstreamTlsConfig {
  return {
    certificates: [{ certChain: { inline: server.cert }, privateKey: { inline: server.key } }], certificateSdsNames: [],
    matchSubjectAltNames: [], alpnProtocols: ['h2', 'http/1.1'], requireClientCertificate: false,
  };
}

function upstreamTls(): UpstreamTlsConfig {
  return {
    certificates: [], certificateSdsNames: [], trustedCa: { inline: rootPem },
    matchSubjectAltNames: [{ kind: 'exact', value: SERVER_ID, ignoreCase: false }], alpnProtocols: [], sni: 'backend.local',
  };
}

/** A listener whose only chain terminates TLS (after the tls_inspector, as Istio's inbound listeners do). */
function tlsListener(name: string, route = routes('r', [{ prefix: '/' }])): ListenerConfig {
  return terminatingTls(listener(name, httpHandler(route)), downstreamTls());
}

async function h2Session(port: number, id?: { cert: string; key: string }): Promise<ClientHttp2Session> {
  const s = h2connect(`https://127.0.0.1:${port}`, { ca: rootPem, ALPNProtocols: ['h2'], checkServerIdentity: pinServer, ...id });
  cleanups.push(() => s.close());
  await new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('error', reject); });
  return s;
}

interface H2Result { status: number; headers: Record<string, unknown>; body: string; trailers: Record<string, unknown> }

function h2Request(s: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const req = s.request(headers);
    const out: H2Result = { status: 0, headers: {}, body: '', trailers: {} };
    const t = setTimeout(() => { req.close(); reject(new Error('h2 request timed out')); }, 5000);
    req.on('response', (h) => { out.status = Number(h[':status']); out.headers = h; });
    req.on('trailers', (tr) => { out.trailers = tr; });
    req.on('data', (c: Buffer) => { out.body += c.toString(); });
    req.on('end', () => { clearTimeout(t); resolve(out); });
    req.on('error', (e) => { clearTimeout(t); reject(e); });
    req.end(body);
  });
}

test('h2 over TLS (ALPN h2) to a TLS listener offering [h2, http/1.1] is routed and answered', async () => {
  const be = await backend((q, r) => r.end(`${q.method} ${q.url} v${q.httpVersion} added=${q.headers['x-added']}`));
  cleanups.push(() => be.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('tls-in')], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const s = await h2Session(engine.portOf('tls-in')!);
  assert.equal(s.alpnProtocol, 'h2', 'the proxy negotiated h2');
  assert.equal((s.socket as TLSSocket).alpnProtocol, 'h2');
  const r = await h2Request(s, { ':method': 'GET', ':path': '/hello?x=1', ':authority': 'svc.local' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'GET /hello?x=1 v1.1 added=yes');
  assert.equal(r.headers['x-resp-added'], 'yes');
  // several streams multiplexed on the one TLS connection
  const many = await Promise.all([1, 2, 3].map((i) => h2Request(s, { ':method': 'GET', ':path': `/m${i}`, ':authority': 'svc.local' })));
  assert.deepEqual(many.map((m) => m.body), [1, 2, 3].map((i) => `GET /m${i} v1.1 added=yes`));
  assert.equal(be.connections >= 1, true);
});

test('the same TLS listener serves an HTTP/1.1 client (ALPN http/1.1)', async () => {
  const be = await backend((q, r) => r.end(`${q.method} ${q.url} added=${q.headers['x-added']}`));
  cleanups.push(() => be.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('tls-in')], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const port = engine.portOf('tls-in')!;
  // ALPNProtocols is passed on to tls.connect, though https' option type does not list it
  const options: RequestOptions & { ALPNProtocols: string[] } = {
    host: '127.0.0.1', port, path: '/plain', method: 'POST', headers: { host: 'svc.local' }, ca: rootPem, ALPNProtocols: ['http/1.1'],
    checkServerIdentity: pinServer, agent: false,
  };
  const r = await new Promise<{ status: number; body: string; alpn: string | false | null; xr: unknown }>((resolve, reject) => {
    const req = httpsRequest(options, (res) => {
      let body = '';
      const alpn = (res.socket as TLSSocket).alpnProtocol;
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn, xr: res.headers['x-resp-added'] }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end('payload');
  });
  assert.equal(r.alpn, 'http/1.1');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'POST /plain added=yes');
  assert.equal(r.xr, 'yes');
});

// Both I/O paths: on the internal one the TLS upstream decrypts into reused read buffers (net's onread).
const upstreamIos: Array<[string, SocketIO]> = [['documented', documentedIO]];
if (probe() === undefined) upstreamIos.push(['internal', internalIO]);

for (const [ioName, io] of upstreamIos) test(`[${ioName} io] upstream h2 over TLS (ALPN h2 required) carries a gRPC call with trailers end to end`, async () => {
  const seen: Array<{ alpn: string | false; servername: unknown; path: unknown; body: string }> = [];
  const be = createSecureServer({ cert: server.cert, key: server.key, ALPNProtocols: ['h2'], allowHTTP1: false });
  let refused = 0;
  be.on('unknownProtocol', (sock) => { refused++; sock.destroy(); });
  be.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const sock = stream.session?.socket as TLSSocket | undefined;
      seen.push({ alpn: sock?.alpnProtocol ?? false, servername: (sock as unknown as { servername?: unknown })?.servername, path: headers[':path'], body: Buffer.concat(chunks).toString('hex') });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '7', 'grpc-message': 'denied-by-backend' }));
      // a gRPC length-prefixed message echoing the request's payload
      const payload = Buffer.concat(chunks).subarray(5);
      const frame = Buffer.alloc(5 + payload.length + 3);
      frame.writeUInt32BE(payload.length + 3, 1);
      Buffer.from('re:').copy(frame, 5);
      payload.copy(frame, 8);
      stream.end(frame);
    });
  });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  const bePort = (be.address() as AddressInfo).port;
  cleanups.push(() => new Promise((r) => be.close(() => r(undefined))));

  const engine = new Engine({ compileRouter: testRouter, io });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('grpc-in')], [cluster('c', [{ address: '127.0.0.1', port: bePort }], { http2: true, tls: upstreamTls() })]));
  const s = await h2Session(engine.portOf('grpc-in')!);
  const msg = Buffer.concat([Buffer.from([0, 0, 0, 0, 4]), Buffer.from('ping')]);
  const r = await h2Request(s, { ':method': 'POST', ':path': '/pkg.Svc/Call', ':authority': 'svc.local', 'content-type': 'application/grpc', te: 'trailers' }, msg);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/grpc');
  assert.equal(r.body.slice(5), 're:ping');
  assert.equal(r.trailers['grpc-status'], '7');
  assert.equal(r.trailers['grpc-message'], 'denied-by-backend');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.alpn, 'h2', 'the upstream connection negotiated h2');
  assert.equal(seen[0]!.servername, 'backend.local', 'the cluster SNI was sent');
  assert.equal(seen[0]!.path, '/pkg.Svc/Call');
  assert.equal(seen[0]!.body, msg.toString('hex'));
  assert.equal(refused, 0);
});

test('mutual TLS without a tls_inspector: an h2 client with a mesh certificate is served, one without is refused', async () => {
  const be = await backend((q, r) => r.end(`xfcc=${q.headers['x-forwarded-client-cert'] ?? ''}`));
  cleanups.push(() => be.close());
  const l = listener('mtls-in', httpHandler(routes('r', [{ prefix: '/' }])));
  l.filterChains[0]!.tls = { ...downstreamTls(), trustedCa: { inline: rootPem }, requireClientCertificate: true };
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([l], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const port = engine.portOf('mtls-in')!;
  const s = await h2Session(port, client);
  assert.equal(s.alpnProtocol, 'h2');
  const r = await h2Request(s, { ':method': 'GET', ':path': '/id', ':authority': 'svc.local' });
  assert.equal(r.status, 200);
  assert.match(r.body, /URI=spiffe:\/\/cluster\.local\/ns\/ns\/sa\/client/, 'the peer identity reached the backend in XFCC');
  // no client certificate: the handshake fails or the connection closes before any response
  const anon = h2connect(`https://127.0.0.1:${port}`, { ca: rootPem, ALPNProtocols: ['h2'], checkServerIdentity: pinServer });
  cleanups.push(() => anon.destroy());
  anon.on('error', () => {});
  const outcome = await new Promise<string>((resolve) => {
    const t = setTimeout(() => resolve('timeout'), 5000);
    const req = anon.request({ ':method': 'GET', ':path': '/id', ':authority': 'svc.local' });
    req.on('response', () => { clearTimeout(t); resolve('answered'); });
    req.on('error', () => { clearTimeout(t); resolve('refused'); });
    req.on('close', () => { clearTimeout(t); resolve('refused'); });
    req.end();
  });
  assert.equal(outcome, 'refused');
});

test('an HTTP/1.1 TLS cluster in front of an h2-only upstream fails fast with 503 instead of hanging', async () => {
  const be = createSecureServer({ cert: server.cert, key: server.key, ALPNProtocols: ['h2'], allowHTTP1: false });
  be.on('stream', (stream) => { stream.respond({ ':status': 200 }); stream.end('should not be reached'); });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  const bePort = (be.address() as AddressInfo).port;
  cleanups.push(() => new Promise((r) => be.close(() => r(undefined))));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('mismatch-in')], [cluster('c', [{ address: '127.0.0.1', port: bePort }], { tls: upstreamTls() })]));
  const s = await h2Session(engine.portOf('mismatch-in')!);
  const started = Date.now();
  const r = await h2Request(s, { ':method': 'GET', ':path': '/x', ':authority': 'svc.local' });
  assert.equal(r.status, 503);
  assert.match(r.body, /NO_APPLICATION_PROTOCOL/, 'the upstream refused the ALPN offer (http/1.1 only)');
  assert.ok(Date.now() - started < 4000, 'answered without waiting for a timeout');
});

test('use_downstream_protocol over TLS: an h2 client goes upstream as h2 (ALPN h2, trailers kept), an HTTP/1.1 client as HTTP/1.1', async () => {
  const seen: Array<{ version: string; alpn: string | false | null }> = [];
  const be = createSecureServer({ cert: server.cert, key: server.key, ALPNProtocols: ['h2', 'http/1.1'], allowHTTP1: true }, (q, r) => {
    seen.push({ version: q.httpVersion, alpn: (q.socket as TLSSocket).alpnProtocol });
    q.resume();
    q.on('end', () => {
      if (q.httpVersion === '2.0') { r.addTrailers({ 'grpc-status': '0' }); r.setHeader('content-type', 'application/grpc'); }
      r.end(`v${q.httpVersion}`);
    });
  });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  const bePort = (be.address() as AddressInfo).port;
  cleanups.push(() => new Promise((r) => be.close(() => r(undefined))));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('auto-in')], [cluster('c', [{ address: '127.0.0.1', port: bePort }], { useDownstreamProtocol: true, tls: upstreamTls() })]));
  const port = engine.portOf('auto-in')!;
  const s = await h2Session(port);
  const r = await h2Request(s, { ':method': 'POST', ':path': '/pkg.Svc/Call', ':authority': 'svc.local', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
  assert.equal(r.status, 200);
  assert.equal(r.body, 'v2.0');
  assert.equal(r.trailers['grpc-status'], '0');
  const options: RequestOptions & { ALPNProtocols: string[] } = {
    host: '127.0.0.1', port, path: '/h1', headers: { host: 'svc.local' }, ca: rootPem, ALPNProtocols: ['http/1.1'], checkServerIdentity: pinServer, agent: false,
  };
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(options, (res) => { let b = ''; res.on('data', (c: Buffer) => { b += c.toString(); }); res.on('end', () => resolve(b)); });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'v1.1');
  assert.deepEqual(seen, [{ version: '2.0', alpn: 'h2' }, { version: '1.1', alpn: 'http/1.1' }]);
});

test('an h2 TLS cluster whose upstream only speaks HTTP/1.1 answers 503 without hanging', async () => {
  const { createServer: createHttpsServer } = await import('node:https');
  let hits = 0;
  const be = createHttpsServer({ cert: server.cert, key: server.key, ALPNProtocols: ['http/1.1'] }, (_q, r) => { hits++; r.end('h1'); });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  const bePort = (be.address() as AddressInfo).port;
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(() => r(undefined)); }));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([tlsListener('h1only-in')], [cluster('c', [{ address: '127.0.0.1', port: bePort }], { http2: true, tls: upstreamTls() })]));
  const s = await h2Session(engine.portOf('h1only-in')!);
  const started = Date.now();
  const r = await h2Request(s, { ':method': 'GET', ':path': '/x', ':authority': 'svc.local' });
  assert.equal(r.status, 503);
  assert.ok(Date.now() - started < 4000, 'answered without waiting for a timeout');
  assert.equal(hits, 0, 'no HTTP/1.1 request was made of the h2 preface');
});

test('an h2 cluster speaks HTTP/2 whatever ALPN settled on (a peer sidecar picking "istio"), as Envoy\'s explicit codec does', async () => {
  const be = await backend((q, r) => r.end(`via ${q.httpVersion} ${q.url}`));
  cleanups.push(() => be.close());
  // the server side: a TLS listener whose ALPN prefers Istio's in-mesh token, routing to the plain backend
  const inbound = new Engine({ compileRouter: testRouter });
  cleanups.push(() => inbound.close());
  const l = tlsListener('in', routes('r', [{ prefix: '/', cluster: 'be' }]));
  l.filterChains[0]!.tls!.alpnProtocols = ['istio', 'h2', 'http/1.1'];
  await inbound.apply(snapshot([l], [cluster('be', [{ address: '127.0.0.1', port: be.port }])]));
  // the client side: an HTTP/2 cluster offering ["istio"] only (an in-mesh list), reached over plain HTTP/1.1
  const outbound = new Engine({ compileRouter: testRouter });
  cleanups.push(() => outbound.close());
  const tls = { ...upstreamTls(), alpnProtocols: ['istio'] };
  await outbound.apply(snapshot([listener('out', httpHandler(routes('r', [{ prefix: '/', cluster: 'in' }])))], [cluster('in', [{ address: '127.0.0.1', port: inbound.portOf('in')! }], { http2: true, tls })]));
  const res = await fetch(`http://127.0.0.1:${outbound.portOf('out')!}/hello`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await res.text(), 'via 1.1 /hello');
});
