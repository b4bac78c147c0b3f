// test/proxy: HTTP/2 downstream responses on real sockets — trailers of a known-length (non-gRPC) upstream response
// reach the h2 client, and responses without trailers cost no extra frame (checked frame by frame on a raw socket).
import { settings } from '../../src/common/settings.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { createServer as createH2Server, connect as h2connect, type ServerHttp2Stream } from 'node:http2';
import { Engine } from '../../src/proxy/engine.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import type { ClusterConfig } from '../../src/proxy/config/types.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

/** h2 backend answering each path with `answer`. */
async function h2Backend(answer: (path: string, stream: ServerHttp2Stream) => void): Promise<number> {
  const be = createH2Server();
  be.on('stream', (stream, headers) => { stream.on('error', () => {}); answer(String(headers[':path']), stream); });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => be.close(r)));
  return (be.address() as AddressInfo).port;
}

async function engineFor(c: ClusterConfig): Promise<number> {
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [
    { prefix: '/local-empty', direct: { status: 200 } },
    { prefix: '/', cluster: c.name },
  ])))], [c]));
  return engine.portOf('l')!;
}

interface Got { status: number; body: string; trailers: Record<string, unknown> }

/** A GET through node's h2 client (without `te: trailers` unless `extra` says so: a plain non-gRPC client). */
function get(port: number, path: string, extra: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const c = h2connect(`http://127.0.0.1:${port}`);
    c.on('error', reject);
    const req = c.request({ ':path': path, ...extra });
    let status = 0, body = '';
    let trailers: Record<string, unknown> = {};
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('trailers', (t) => { trailers = Object.fromEntries(Object.entries(t)); });
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => { c.close(); resolve({ status, body, trailers }); });
    req.on('error', (e) => { c.close(); reject(e); });
    const t = setTimeout(() => { c.destroy(); reject(new Error('timeout')); }, 5000);
    req.on('close', () => clearTimeout(t));
  });
}

test('h2 upstream, known content-length, trailers: they reach a non-gRPC h2 client (whole body, and in chunks with or without te: trailers)', async () => {
  const bePort = await h2Backend((path, stream) => {
    if (path === '/one') {
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': '5' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-digest': 'sha=abc' }));
      stream.end('hello');
    } else if (path === '/chunks') {
      // Several DATA frames across turns.
      stream.respond({ ':status': 200, 'content-length': '12' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-count': '3' }));
      stream.write('abcd');
      setTimeout(() => { stream.write('efgh'); setTimeout(() => stream.end('ijkl'), 20); }, 20);
    } else {
      stream.respond({ ':status': 200, 'content-length': '2' });
      stream.end('ok');
    }
  });
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: bePort }], { http2: true }));
  assert.deepEqual(await get(port, '/one'), { status: 200, body: 'hello', trailers: { 'x-digest': 'sha=abc' } });
  // A body in several chunks: its head goes with the first one, before trailers are known; a client that says
  // `te: trailers` gets them (as gRPC does), and so does a plain one (Envoy forwards them to any h2 client).
  const chunks = await get(port, '/chunks', { te: 'trailers' });
  assert.equal(chunks.body, 'abcdefghijkl');
  assert.equal(chunks.trailers['x-count'], '3');
  const plainChunks = await get(port, '/chunks');
  assert.deepEqual(plainChunks, { status: 200, body: 'abcdefghijkl', trailers: { 'x-count': '3' } });
  assert.deepEqual(await get(port, '/plain'), { status: 200, body: 'ok', trailers: {} });
});

interface Frame { type: number; flags: number; length: number }
const DATA = 0, HEADERS = 1, SETTINGS = 4, END_STREAM = 1;

/**
 * GET `path` on stream 1 over a raw h2c socket and list the frames of stream 1 until END_STREAM. The request is
 * HPACK-encoded by hand: indexed :method GET / :scheme http, literal :path and :authority (indexed names, no Huffman).
 */
function rawFrames(port: number, path: string, body?: string): Promise<Frame[]> {
  const lit = (index: number, v: string): Buffer => Buffer.concat([Buffer.from([index, v.length]), Buffer.from(v, 'latin1')]);
  // 0x82 :method GET, 0x83 :method POST, 0x86 :scheme http; 0x0f 0x0d = content-length (static index 28), literal
  const cl = body === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0f, 0x0d, String(body.length).length]), Buffer.from(String(body.length))]);
  const block = Buffer.concat([Buffer.from([body === undefined ? 0x82 : 0x83, 0x86]), lit(0x04, path), lit(0x01, 'backend'), cl]);
  const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3); h[3] = type; h[4] = flags; h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1');
    const frames: Frame[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout; frames so far ${JSON.stringify(frames)}`)); }, 5000);
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('connect', () => {
      s.write(Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(SETTINGS, 0, 0, Buffer.alloc(0)),
        body === undefined ? frame(HEADERS, 0x4 | END_STREAM, 1, block) // END_HEADERS | END_STREAM
          : Buffer.concat([frame(HEADERS, 0x4, 1, block), frame(DATA, END_STREAM, 1, Buffer.from(body, 'latin1'))]),
      ]));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let guard = 0; guard < 1000 && buf.length >= 9; guard++) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!, flags = buf[4]!, stream = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === SETTINGS && !(flags & 1)) s.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
        if (stream !== 1) continue;
        frames.push({ type, flags, length: len });
        if (flags & END_STREAM) { clearTimeout(t); s.destroy(); resolve(frames); return; }
      }
    });
  });
}

test('h2 responses without trailers: END_STREAM on the last DATA frame (an empty one after a read request body), or on HEADERS when there is no body', async () => {
  const bodies: string[] = [];
  const be = await backend((req, res) => {
    let got = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => { got += d; });
    req.on('end', () => {
      bodies.push(got);
      if (req.url === '/empty') { res.writeHead(200, { 'content-length': '0' }); res.end(); return; }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1024' });
      res.end(Buffer.alloc(1024, 'a'));
    });
  });
  cleanups.push(() => be.close());
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }]));
  const withBody = await rawFrames(port, '/body');
  assert.deepEqual(withBody.map((f) => [f.type, f.flags & END_STREAM, f.length > 0]), [[HEADERS, 0, true], [DATA, END_STREAM, true]]);
  assert.equal(withBody[1]!.length, 1024);
  // An empty body: one HEADERS frame that ends the stream, not HEADERS + an empty DATA frame.
  for (const p of ['/empty', '/local-empty']) {
    const empty = await rawFrames(port, p);
    assert.deepEqual(empty.map((f) => [f.type, f.flags & END_STREAM]), [[HEADERS, END_STREAM]], p);
  }
  // A request whose body was read to its end. The native codec ends the response on its last DATA frame like the
  // others; on node:http2 (RIG_PROXY_H2=node) it ends with an empty DATA frame after the body, so node reports the
  // body's write done before the stream closes (see H2Responder in h2-downstream.ts).
  const post = await rawFrames(port, '/post', 'hello');
  assert.equal(bodies.at(-1), 'hello');
  assert.deepEqual(post.map((f) => [f.type, f.flags & END_STREAM, f.length]), settings.proxyH2 === 'node'
    ? [[HEADERS, 0, post[0]!.length], [DATA, 0, 1024], [DATA, END_STREAM, 0]]
    : [[HEADERS, 0, post[0]!.length], [DATA, END_STREAM, 1024]]);
});

test('h2 HEAD and 204 answers end cleanly; a client reset before the response aborts the upstream request', async () => {
  let aborted = 0;
  const be = await backend((req, res) => {
    if (req.url === '/slow') { req.on('close', () => { if (!res.writableEnded) aborted++; }); return; }
    if (req.url === '/nocontent') { res.writeHead(204); res.end(); return; }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1024' });
    res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(1024, 'a'));
  });
  cleanups.push(() => be.close());
  const port = await engineFor(cluster('c', [{ address: '127.0.0.1', port: be.port }]));
  const c = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => c.close(() => r())));
  c.on('error', () => {});
  const ask = (method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; bytes: number }> => new Promise((resolve, reject) => {
    const q = c.request({ ':method': method, ':path': path });
    let status = 0, bytes = 0;
    let headers: Record<string, unknown> = {};
    q.on('response', (h) => { status = Number(h[':status']); headers = { ...h }; });
    q.on('data', (d: Buffer) => { bytes += d.length; });
    q.on('end', () => resolve({ status, headers, bytes }));
    q.on('error', reject);
  });
  const head = await ask('HEAD', '/x');
  assert.equal(head.status, 200);
  assert.equal(head.bytes, 0);
  assert.deepEqual(await ask('GET', '/nocontent').then((r) => [r.status, r.bytes]), [204, 0]);

  const q = c.request({ ':path': '/slow' });
  q.on('error', () => {});
  await new Promise((r) => setTimeout(r, 100));
  q.close(0x8); // CANCEL
  for (let i = 0; i < 100 && aborted === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(aborted, 1);
  // The session still serves.
  assert.deepEqual(await ask('GET', '/x').then((r) => [r.status, r.bytes]), [200, 1024]);
});
