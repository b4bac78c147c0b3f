// test/proxy: WebSocket upgrade tunnelling, HTTP/2 (h2c) downstream and upstream, gRPC trailers, and tcp_proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createH2Server, connect as h2connect, type Http2Server } from 'node:http2';
import { createServer as createNetServer, connect, type AddressInfo, type Server } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { cluster, httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import type { TcpHandlerConfig } from '../../src/proxy/config/types.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

async function listen(s: Server | Http2Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

test('WebSocket upgrade: 101 is relayed and raw bytes flow both ways', async () => {
  const be = createHttpServer((_q, r) => r.end('not ws'));
  be.on('upgrade', (req, sock, head) => {
    assert.equal(req.headers.upgrade, 'websocket');
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head.length) sock.write(head);
    sock.on('data', (b) => sock.write(Buffer.concat([Buffer.from('echo:'), b])));
    sock.on('end', () => sock.end()); // http servers allow half-open sockets; close ours when the proxy does
  });
  const bePort = await listen(be);
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(r); }));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('ws', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: bePort }])]));
  const port = engine.portOf('ws')!;
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    let sent = false;
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout: ${got}`)); }, 5000);
    s.on('data', (b) => {
      got += b.toString();
      if (!sent && got.includes('\r\n\r\n')) { sent = true; s.write('ping'); }
      if (got.includes('echo:ping')) { clearTimeout(t); s.destroy(); resolve(got); }
    });
    s.on('error', reject);
    s.write('GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  });
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(text, /upgrade: websocket/i);
  assert.match(text, /echo:ping/);
});

test('h2c downstream -> HTTP/2 upstream with gRPC trailers; HTTP/1.1 client -> h2 upstream', async () => {
  const be = createH2Server();
  be.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': String(headers['content-type'] ?? 'text/plain') }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(Buffer.concat([Buffer.from(`${headers[':method']} ${headers[':path']} `), ...chunks]));
    });
  });
  const bePort = await listen(be);
  cleanups.push(() => new Promise((r) => be.close(r)));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('h2', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: bePort }], { http2: true })]));
  const port = engine.portOf('h2')!;

  const client = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => client.close());
  const result = await new Promise<{ status: number; body: string; trailers: Record<string, unknown> }>((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': '/pkg.Svc/Method', 'content-type': 'application/grpc', te: 'trailers' });
    let status = 0, body = '';
    let trailers: Record<string, unknown> = {};
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => resolve({ status, body, trailers }));
    req.on('error', reject);
    req.end(Buffer.from('\x00\x00\x00\x00\x02hi', 'latin1'));
  });
  assert.equal(result.status, 200);
  assert.equal(result.body, 'POST /pkg.Svc/Method \x00\x00\x00\x00\x02hi');
  assert.equal(result.trailers['grpc-status'], '0');
  assert.equal(result.trailers['grpc-message'], 'fine');

  // HTTP/1.1 client to the same listener and HTTP/2 cluster: trailers arrive in the chunked body.
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let t = '';
    s.on('data', (b) => { t += b.toString('latin1'); if (t.endsWith('\r\n\r\n') && t.includes('0\r\n')) { s.destroy(); resolve(t); } });
    s.on('error', reject);
    s.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTE: trailers\r\n\r\nabc');
  });
  assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(raw, /transfer-encoding: chunked/);
  assert.match(raw, /POST \/x abc/);
  assert.match(raw, /grpc-status: 0/);
});

test('tcp_proxy pipes bytes to the cluster and closes with it', async () => {
  const echo = createNetServer((s) => s.on('data', (b) => s.write(Buffer.concat([Buffer.from('tcp:'), b]))));
  const ePort = await listen(echo);
  cleanups.push(() => new Promise((r) => echo.close(r)));
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  const tcp: TcpHandlerConfig = { kind: 'tcp', statPrefix: 't', cluster: 'echo', idleTimeoutMs: 60_000, accessLog: [], maxConnectAttempts: 1 };
  await engine.apply(snapshot([listener('tcp', tcp)], [cluster('echo', [{ address: '127.0.0.1', port: ePort }])]));
  const port = engine.portOf('tcp')!;
  const got = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.on('data', (b) => { s.destroy(); resolve(b.toString()); });
    s.on('error', reject);
    s.write('hello');
  });
  assert.equal(got, 'tcp:hello');
  assert.equal(engine.stats.tcp_cx_total, 1);
});
