// test/proxy: HTTP/2 request and response trailers through a proxy engine on real sockets — h2 upstream, retries
// (trailers resent), HTTP/1.1 upstream (dropped by default, chunked trailers with enable_trailers) and streamed responses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, connect as h2connect, type ServerHttp2Stream, type IncomingHttpHeaders, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { cluster, httpHandler, listener, retryPolicy, routes, snapshot, testRouter } from './engine-fixtures.ts';
import type { ClusterConfig } from '../../src/proxy/config/types.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

async function listen(s: Server | ReturnType<typeof createH2Server> | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** What an upstream saw of one request. */
interface Seen { body: string; trailers: Record<string, unknown> }

/** h2 backend: records each request's body and trailers; `answer` picks status and response trailers per attempt. */
async function h2Backend(answer: (n: number, seen: Seen, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const be = createH2Server();
  be.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    let trailers: Record<string, unknown> = {};
    stream.on('trailers', (t) => { trailers = { ...t }; });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const s = { body: Buffer.concat(chunks).toString(), trailers };
      seen.push(s);
      answer(seen.length, s, stream, headers);
    });
  });
  const port = await listen(be);
  cleanups.push(() => new Promise((r) => be.close(r)));
  return { port, seen };
}

async function engineFor(c: ClusterConfig, retry = false): Promise<number> {
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  const rs = retry ? retryPolicy({ retryOn: ['5xx'], numRetries: 2 }) : undefined;
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/', retry: rs }])))], [c]));
  return engine.portOf('l')!;
}

interface Result { status: number; body: string; trailers: Record<string, unknown> }

/** One h2 request whose body ends with trailers (as a client-streaming gRPC call may send). */
function requestWithTrailers(client: ClientHttp2Session, path: string, chunks: string[], trailers: Record<string, string> | undefined, contentType = 'application/grpc'): Promise<Result> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers' }, { waitForTrailers: trailers !== undefined });
    let status = 0, body = '';
    let got: Record<string, unknown> = {};
    if (trailers) req.on('wantTrailers', () => req.sendTrailers(trailers));
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('trailers', (t) => { got = { ...t }; });
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => resolve({ status, body, trailers: got }));
    req.on('error', reject);
    const t = setTimeout(() => { req.close(); reject(new Error('timeout')); }, 5000);
    req.on('close', () => clearTimeout(t));
    // Several DATA frames, written across turns, so the proxy streams them rather than seeing one buffer.
    let i = 0;
    const next = (): void => { if (i < chunks.length) { req.write(chunks[i++]); setImmediate(next); } else req.end(); };
    next();
  });
}

function h2Client(port: number): ClientHttp2Session {
  const c = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => c.close());
  return c;
}

test('h2 downstream -> h2 upstream: request trailers reach the upstream; response trailers come back', async () => {
  const be = await h2Backend((_n, s, stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-echo-checksum': String(s.trailers['x-checksum'] ?? 'none') }));
    stream.end(`got ${s.body}`);
  });
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }], { http2: true }));
  const r = await requestWithTrailers(h2Client(port), '/pkg.Svc/Upload', ['a', 'b', 'c'], { 'x-checksum': 'abc123', 'grpc-foo': 'bar' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'got abc');
  assert.equal(be.seen.length, 1);
  assert.equal(be.seen[0]!.trailers['x-checksum'], 'abc123');
  assert.equal(be.seen[0]!.trailers['grpc-foo'], 'bar');
  assert.equal(r.trailers['grpc-status'], '0');
  assert.equal(r.trailers['x-echo-checksum'], 'abc123');

  // Without trailers the stream still ends cleanly (an empty END_STREAM frame closes it).
  const r2 = await requestWithTrailers(h2Client(port), '/pkg.Svc/Upload', ['xy'], undefined);
  assert.equal(r2.body, 'got xy');
  assert.deepEqual(Object.keys(be.seen[1]!.trailers).filter((k) => !k.startsWith(':')), []);
});

test('a retried h2 request resends its body and trailers on every attempt', async () => {
  const be = await h2Backend((n, s, stream) => {
    if (n === 1) { stream.respond({ ':status': 503 }); stream.end('busy'); return; }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-attempt': String(n) }));
    stream.end(`attempt ${n}: ${s.body}`);
  });
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }], { http2: true }), true);
  const r = await requestWithTrailers(h2Client(port), '/pkg.Svc/Upload', ['one', '-two'], { 'x-checksum': 'c1' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'attempt 2: one-two');
  assert.equal(r.trailers['x-attempt'], '2');
  assert.equal(be.seen.length, 2);
  for (const s of be.seen) {
    assert.equal(s.body, 'one-two');
    assert.equal(s.trailers['x-checksum'], 'c1');
  }
});

/** HTTP/1.1 backend recording the body and trailers of each request; answers with a chunked body and trailers. */
async function h1Backend(): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const be = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ body: Buffer.concat(chunks).toString(), trailers: { ...req.trailers } });
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-resp-sum' });
      res.write('h1:');
      res.addTrailers({ 'x-resp-sum': 'r42' });
      res.end(Buffer.concat(chunks));
    });
  });
  const port = await listen(be);
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(() => r(undefined)); }));
  return { port, seen };
}

test('h2 downstream -> HTTP/1.1 upstream: trailers dropped by default, sent as chunked trailers with enable_trailers', async () => {
  const be = await h1Backend();
  const plain = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }]));
  const r = await requestWithTrailers(h2Client(plain), '/up', ['12', '34'], { 'x-checksum': 'd1' }, 'text/plain');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'h1:1234');
  assert.equal(be.seen[0]!.body, '1234');
  assert.deepEqual(be.seen[0]!.trailers, {});
  // The chunked HTTP/1.1 response's trailers reach the h2 client (its length was unknown, so the stream waited for them).
  assert.equal(r.trailers['x-resp-sum'], 'r42');

  const enabled = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }], { http1EnableTrailers: true }));
  const r2 = await requestWithTrailers(h2Client(enabled), '/up', ['56', '78'], { 'x-checksum': 'd2' }, 'text/plain');
  assert.equal(r2.body, 'h1:5678');
  assert.equal(be.seen[1]!.body, '5678');
  assert.deepEqual(be.seen[1]!.trailers, { 'x-checksum': 'd2' });
});

test('h2 upstream response of unknown length: its trailers reach an h2 client even without gRPC', async () => {
  const be = await h2Backend((_n, s, stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-digest': `len=${s.body.length}` }));
    stream.write('part1 ');
    stream.end('part2');
  });
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }], { http2: true }));
  const r = await requestWithTrailers(h2Client(port), '/stream', ['abcd'], undefined, 'text/plain');
  assert.equal(r.body, 'part1 part2');
  assert.equal(r.trailers['x-digest'], 'len=4');
});

test('HTTP/1.1 upstream with enable_trailers: a retry (body fully buffered by then) still ends with the trailers', async () => {
  const seen: Seen[] = [];
  const be = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ body: Buffer.concat(chunks).toString(), trailers: { ...req.trailers } });
      res.statusCode = seen.length === 1 ? 503 : 200;
      res.end(`attempt ${seen.length}`);
    });
  });
  const port = await listen(be);
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(() => r(undefined)); }));
  const proxy = await engineFor(cluster('c', [{ address: '127.0.0.1', port }], { http1EnableTrailers: true }), true);
  const r = await requestWithTrailers(h2Client(proxy), '/retry', ['ab', 'cd'], { 'x-checksum': 'e1' }, 'text/plain');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'attempt 2');
  assert.equal(seen.length, 2);
  for (const s of seen) assert.deepEqual(s, { body: 'abcd', trailers: { 'x-checksum': 'e1' } });
});
