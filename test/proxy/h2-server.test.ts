// test/proxy: the native HTTP/2 server (src/proxy/http/h2/server.ts) through a proxy engine on 127.0.0.1 — node's h2
// client for concurrency, flow control and the HPACK dynamic table; hand-written frames for the protocol errors, each
// answered with the GOAWAY or RST_STREAM code RFC 9113 names; a client reset aborts the upstream request; drain sends
// GOAWAY and lets the streams in flight finish; random frames never crash the proxy; @grpc/grpc-js interoperates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { HpackEncoder } from '../../src/proxy/http/h2/hpack.ts';
import { Flag, Frame, H2Error, PREFACE, frameHead, headersFrames, settingsFrame } from '../../src/proxy/http/h2/wire.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter, type Backend } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';
import * as grpc from '@grpc/grpc-js';
import { EchoClient, hello, startGrpcBackend } from '../helpers/grpc-backend.ts';

const cleanups = cleanupsAfterAll();
const T = { timeout: 20_000 };

let slowAborted = 0;
async function setup(): Promise<{ engine: Engine; port: number; be: Backend }> {
  const be = await backend((req, res) => {
    if (req.url === '/slow') { req.on('close', () => { if (!res.writableEnded) slowAborted++; }); return; }
    if (req.url === '/echo') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => { hash.update(d); n += d.length; });
      req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`${n} ${hash.digest('hex')}`); });
      return;
    }
    if (req.url === '/big') { res.writeHead(200, { 'content-length': String(3 << 20) }); res.end(Buffer.alloc(3 << 20, 'b')); return; }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-path': req.url ?? '', 'x-cookie': String(req.headers.cookie ?? '') });
    res.end(`ok ${req.url}`);
  });
  cleanups.push(() => be.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/', cluster: 'c' }]), { codecType: 'HTTP2' }))], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  return { engine, port: engine.portOf('l')!, be };
}

function ask(c: ClientHttp2Session, path: string, opts: { method?: string; body?: Buffer; headers?: Record<string, string | string[]> } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const q = c.request({ ':method': opts.method ?? (opts.body ? 'POST' : 'GET'), ':path': path, ...opts.headers }, { endStream: !opts.body });
    let status = 0;
    let headers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    q.on('response', (h) => { status = Number(h[':status']); headers = { ...h }; });
    q.on('data', (d: Buffer) => chunks.push(d));
    q.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks) }));
    q.on('error', reject);
    if (opts.body) q.end(opts.body);
  });
}

test('100 concurrent streams on one connection; repeated heads use the HPACK dynamic table; cookies are joined', T, async () => {
  const { port } = await setup();
  const c = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => c.close(() => r())));
  const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(c, `/p${i}`, { headers: { 'x-same': 'v'.repeat(50), cookie: ['a=1', 'b=2'] } })));
  rs.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), `ok /p${i}`);
    assert.equal(r.headers['x-cookie'], 'a=1; b=2');
  });
});

test('flow control: a 1 MB upload and a 3 MB download through the proxy arrive whole', T, async () => {
  const { port } = await setup();
  const c = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => c.close(() => r())));
  const up = Buffer.alloc(1 << 20);
  for (let i = 0; i < up.length; i++) up[i] = (i * 7) & 0xff;
  const r = await ask(c, '/echo', { body: up });
  assert.equal(r.body.toString(), `${up.length} ${createHash('sha256').update(up).digest('hex')}`);
  const big = await ask(c, '/big');
  assert.equal(big.body.length, 3 << 20);
  assert.ok(big.body.every((b) => b === 0x62));
});

test('a client reset of a stream aborts its upstream request; drain sends GOAWAY and in-flight streams finish', T, async () => {
  const { engine, port } = await setup();
  const c = h2connect(`http://127.0.0.1:${port}`);
  // the drain below ends the session from our side: close() would wait for a 'close' that already happened
  cleanups.push(() => { c.destroy(); });
  c.on('error', () => {});
  const before = slowAborted;
  const q = c.request({ ':path': '/slow' });
  q.on('error', () => {});
  await new Promise((r) => setTimeout(r, 200));
  q.close(0x8); // CANCEL
  for (let i = 0; i < 50 && slowAborted === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(slowAborted, before + 1);

  let goaway = false;
  c.on('goaway', () => { goaway = true; });
  const inflight = ask(c, '/after');
  await new Promise((r) => setTimeout(r, 20));
  void engine.drain(5000);
  const r = await inflight;
  assert.equal(r.status, 200);
  for (let i = 0; i < 50 && !goaway; i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(goaway, 'GOAWAY received');
});

/** Raw connection: sends `bytes`, collects frames until the socket closes or `until` says so. */
function raw(port: number, bytes: string, until: (frames: Array<{ type: number; flags: number; id: number; payload: Buffer }>) => boolean, waitMs = 3000): Promise<Array<{ type: number; flags: number; id: number; payload: Buffer }>> {
  return new Promise((resolve) => {
    const s: Socket = tcpConnect(port, '127.0.0.1');
    const frames: Array<{ type: number; flags: number; id: number; payload: Buffer }> = [];
    let buf = Buffer.alloc(0);
    const done = (): void => { clearTimeout(t); s.destroy(); resolve(frames); };
    const t = setTimeout(done, waitMs);
    s.on('connect', () => s.write(bytes, 'latin1'));
    s.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        frames.push({ type: buf[3]!, flags: buf[4]!, id: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
        buf = buf.subarray(9 + len);
      }
      if (until(frames)) done();
    });
    s.on('close', done);
    s.on('error', done);
  });
}

/** A header block that only adds to the server's table, never refers to it: valid on any connection, in any order. */
const block = (fields: string[]): string => new HpackEncoder().encodeLatin1(undefined, fields);
const GET = [':method', 'GET', ':scheme', 'http', ':path', '/x', ':authority', 'backend'];
const START = PREFACE + settingsFrame([]);
const goawayCode = (f: Array<{ type: number; payload: Buffer }>): number | undefined => { const g = f.find((x) => x.type === Frame.GOAWAY); return g ? g.payload.readUInt32BE(4) : undefined; };
const rstCode = (f: Array<{ type: number; id: number; payload: Buffer }>, id: number): number | undefined => { const r = f.find((x) => x.type === Frame.RST_STREAM && x.id === id); return r ? r.payload.readUInt32BE(0) : undefined; };

test('connection errors answer GOAWAY with the RFC code', T, async () => {
  const { port } = await setup();
  const cases: Array<[string, string, number]> = [
    ['bad preface', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(24, 'x') + settingsFrame([]), H2Error.PROTOCOL_ERROR],
    ['first frame not SETTINGS', PREFACE + frameHead(8, Frame.PING, 0, 0) + '12345678', H2Error.PROTOCOL_ERROR],
    ['DATA on stream 0', START + frameHead(1, Frame.DATA, 0, 0) + 'x', H2Error.PROTOCOL_ERROR],
    ['CONTINUATION without HEADERS', START + frameHead(1, Frame.CONTINUATION, Flag.END_HEADERS, 1) + '\x82', H2Error.PROTOCOL_ERROR],
    ['frame larger than the maximum', START + frameHead(20_000, Frame.DATA, 0, 1) + 'x'.repeat(20_000), H2Error.FRAME_SIZE_ERROR],
    ['HPACK index 0', START + frameHead(1, Frame.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1) + '\x80', H2Error.COMPRESSION_ERROR],
    ['SETTINGS with a bad length', START + frameHead(5, Frame.SETTINGS, 0, 0) + '12345', H2Error.FRAME_SIZE_ERROR],
    ['stream id going down', START + headersFrames(5, block(GET), true, 16384) + headersFrames(3, block(GET), true, 16384), H2Error.STREAM_CLOSED],
    ['PUSH_PROMISE from a client', START + frameHead(4, Frame.PUSH_PROMISE, Flag.END_HEADERS, 1) + '\0\0\0\x02', H2Error.PROTOCOL_ERROR],
  ];
  for (const [what, bytes, code] of cases) {
    const f = await raw(port, bytes, (fr) => fr.some((x) => x.type === Frame.GOAWAY));
    assert.equal(goawayCode(f), code, what);
  }
});

test('malformed request heads reset their stream (PROTOCOL_ERROR); the connection serves the next one; PING is acknowledged', T, async () => {
  const { port } = await setup();
  const bad: Array<[string, string[]]> = [
    ['upper-case name', [...GET, 'X-Upper', '1']],
    ['missing :path', [':method', 'GET', ':scheme', 'http', ':authority', 'b']],
    ['pseudo after regular', [':method', 'GET', ':scheme', 'http', 'x-a', '1', ':path', '/']],
    ['connection header', [...GET, 'connection', 'keep-alive']],
    ['te other than trailers', [...GET, 'te', 'gzip']],
    ['unknown pseudo-header', [...GET, ':foo', 'bar']],
    ['method not a token', [':method', 'G@T', ':scheme', 'http', ':path', '/', ':authority', 'b']],
  ];
  let bytes = START;
  let id = 1;
  for (const [, fields] of bad) { bytes += headersFrames(id, block(fields), true, 16384); id += 2; }
  // DATA beyond the declared content-length
  bytes += headersFrames(id, block([':method', 'POST', ':scheme', 'http', ':path', '/echo', ':authority', 'b', 'content-length', '2']), false, 16384) + frameHead(5, Frame.DATA, Flag.END_STREAM, id) + 'abcde';
  const lenId = id;
  id += 2;
  const goodId = id;
  bytes += headersFrames(goodId, block(GET), true, 16384) + frameHead(8, Frame.PING, 0, 0) + 'pingpong';
  const f = await raw(port, bytes, (fr) => fr.some((x) => x.type === Frame.DATA && x.id === goodId && (x.flags & Flag.END_STREAM) !== 0));
  for (let i = 0, sid = 1; i < bad.length; i++, sid += 2) assert.equal(rstCode(f, sid), H2Error.PROTOCOL_ERROR, bad[i]![0]);
  assert.equal(rstCode(f, lenId), H2Error.PROTOCOL_ERROR, 'DATA beyond content-length');
  assert.ok(f.some((x) => x.type === Frame.HEADERS && x.id === goodId), 'the good request is answered');
  const ping = f.find((x) => x.type === Frame.PING);
  assert.ok(ping && (ping.flags & Flag.ACK) && ping.payload.toString() === 'pingpong');
  assert.equal(goawayCode(f), undefined, 'no connection error');
});

test('fuzz: random and mutated frames never crash the proxy, which keeps serving new connections', T, async () => {
  const { port } = await setup();
  let seed = 11;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const good = START + headersFrames(1, block(GET), true, 16384);
  for (let i = 0; i < 60; i++) {
    let bytes: string;
    if (i % 3 === 0) {
      bytes = START;
      for (let k = 0; k < 1 + rand(6); k++) {
        const len = rand(40);
        let payload = '';
        for (let j = 0; j < len; j++) payload += String.fromCharCode(rand(256));
        bytes += frameHead(len, rand(11), rand(256), rand(8)) + payload;
      }
    } else {
      const chars = good.split('');
      for (let m = 0; m < 1 + rand(3); m++) chars[PREFACE.length + rand(chars.length - PREFACE.length)] = String.fromCharCode(rand(256));
      bytes = chars.join('');
    }
    await raw(port, bytes, () => false, 150);
  }
  const c = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => c.close(() => r())));
  assert.equal((await ask(c, '/still')).status, 200);
});

test('gRPC with @grpc/grpc-js on both ends: unary calls, an error status and metadata pass through both native codecs', T, async () => {
  const grpcBe = await startGrpcBackend('v1');
  cleanups.push(() => grpcBe.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('g', httpHandler(routes('r', [{ prefix: '/', cluster: 'grpc' }])))], [cluster('grpc', [{ address: '127.0.0.1', port: grpcBe.port }], { http2: true })]));
  const client = new EchoClient(`127.0.0.1:${engine.portOf('g')!}`, grpc.credentials.createInsecure());
  cleanups.push(() => client.close());
  const replies = await Promise.all(Array.from({ length: 20 }, () => hello(client, { 'x-tenant': 'blue' })));
  for (const r of replies) assert.equal(r.reply?.version, 'v1', r.error?.message);
  assert.equal(grpcBe.lastMetadata?.['x-tenant'], 'blue');
  grpcBe.failNext(1, grpc.status.PERMISSION_DENIED);
  const denied = await hello(client);
  assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
  assert.match(denied.error!.details, /failing on purpose/);
});
