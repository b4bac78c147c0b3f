// test/proxy: the native HTTP/2 client (src/proxy/http/h2/client.ts) against node:http2 servers and hand-written
// frames on real sockets — concurrency on one connection, flow control both ways, trailers both ways, resets, GOAWAY,
// the peer's stream limit, malformed responses, connect failures, large header blocks (CONTINUATION).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createH2Server, constants, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { realClock } from '../../src/common/clock.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';
import { internalIO, probe } from '../../src/proxy/io/internal.ts';
import type { SocketIO } from '../../src/proxy/io/types.ts';
import { H2ClientPool } from '../../src/proxy/http/h2/client.ts';
import { HpackEncoder } from '../../src/proxy/http/h2/hpack.ts';
import { Flag, Frame, frameHead, goawayFrame, headersFrames, settingsFrame } from '../../src/proxy/http/h2/wire.ts';
import type { OutgoingRequest, ResponseSink, UpstreamFailure } from '../../src/proxy/http/exchange-types.ts';
import type { ClusterState } from '../../src/proxy/upstream/cluster-state.ts';

/** Every test is bounded: a client that loses a stream fails its test instead of hanging the suite. */
const T = { timeout: 15_000 };
const CLUSTER = { config: { connectTimeoutMs: 2000 } } as unknown as ClusterState;

/** Everything a sink was told, and a promise for the end (onEnd or onError). */
class Recorder implements ResponseSink {
  status = 0;
  headers: string[] = [];
  bodyLength = -3;
  chunks: Buffer[] = [];
  trailers: string[] | undefined;
  error: { kind: UpstreamFailure; detail: string } | undefined;
  ended = false;
  onDataHook?: (r: Recorder) => void;
  readonly done: Promise<void>;
  private resolve!: () => void;
  constructor() { this.done = new Promise((r) => { this.resolve = r; }); }
  onHead(status: number, _reason: string, headers: string[], bodyLength: number): void { this.status = status; this.headers = headers; this.bodyLength = bodyLength; }
  onData(buf: Buffer, start: number, end: number): void { this.chunks.push(Buffer.from(buf.subarray(start, end))); this.onDataHook?.(this); }
  onEnd(trailers: string[] | undefined): void { this.ended = true; this.trailers = trailers; this.resolve(); }
  onError(kind: UpstreamFailure, detail: string): void { this.error = { kind, detail }; this.resolve(); }
  get body(): Buffer { return Buffer.concat(this.chunks); }
  header(n: string): string | undefined { const i = this.headers.indexOf(n); return i >= 0 && i % 2 === 0 ? this.headers[i + 1] : undefined; }
}

function req(method: string, path: string, bodyLength: number, headers: string[] = []): OutgoingRequest {
  return { method, path, authority: 'backend', scheme: 'http', headers, bodyLength, upgrade: '' };
}

async function h2Server(handler: (s: ServerHttp2Stream, h: Record<string, unknown>) => void, settings: Record<string, number> = {}): Promise<{ server: Http2Server; port: number; sessions: () => number }> {
  const server = createH2Server({ settings });
  let sessions = 0;
  server.on('session', () => { sessions++; });
  server.on('stream', (s, h) => { s.on('error', () => {}); handler(s, h as Record<string, unknown>); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, sessions: () => sessions };
}

const ios: Array<[string, SocketIO]> = [['documented', documentedIO]];
if (probe() === undefined) ios.push(['internal', internalIO]);

for (const [ioName, io] of ios) {
  test(`[${ioName} io] 100 concurrent GETs share one connection; heads, bodies and lengths arrive`, T, async () => {
    const { server, port, sessions } = await h2Server((s, h) => {
      const body = `hello ${String(h[':path'])}`;
      s.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-seen-te': String(h.te ?? '') });
      s.end(body);
    });
    const pool = new H2ClientPool(realClock, () => io);
    try {
      const rs = Array.from({ length: 100 }, (_, i) => {
        const r = new Recorder();
        const u = pool.request(CLUSTER, '127.0.0.1', port, req('GET', `/r${i}`, 0, ['te', 'trailers', 'connection', 'close', 'x-a', 'b']), r);
        u.end();
        return r;
      });
      await Promise.all(rs.map((r) => r.done));
      rs.forEach((r, i) => {
        assert.equal(r.error, undefined);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `hello /r${i}`);
        assert.equal(r.bodyLength, `hello /r${i}`.length);
        assert.equal(r.header('x-seen-te'), 'trailers'); // te: trailers kept, connection dropped
      });
      assert.equal(sessions(), 1);
      assert.equal(pool.connectionCount, 1);
    } finally {
      pool.close();
      server.close();
    }
  });

  test(`[${ioName} io] a 1 MB upload and a 3 MB download respect flow control; a paused response stops at the window`, T, async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    for (let i = 0; i < big.length; i += 997) big[i] = i & 0xff;
    const { server, port } = await h2Server((s, h) => {
      if (h[':method'] === 'POST') {
        const hash = createHash('sha256');
        let n = 0;
        s.on('data', (b: Buffer) => { hash.update(b); n += b.length; });
        s.on('end', () => { s.respond({ ':status': 200 }); s.end(`${n} ${hash.digest('hex')}`); });
        return;
      }
      s.respond({ ':status': 200, 'content-length': big.length });
      s.end(big);
    });
    const pool = new H2ClientPool(realClock, () => io);
    try {
      const up = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < up.length; i++) up[i] = (i * 31) & 0xff;
      const r = new Recorder();
      const u = pool.request(CLUSTER, '127.0.0.1', port, req('POST', '/up', up.length), r);
      let drained = 0;
      for (let at = 0; at < up.length; at += 64 * 1024) {
        if (!u.write(up, at, at + 64 * 1024)) await new Promise<void>((res) => u.onDrain(() => { drained++; res(); }));
      }
      u.end();
      await r.done;
      assert.equal(r.error, undefined);
      assert.equal(r.body.toString(), `${up.length} ${createHash('sha256').update(up).digest('hex')}`);

      const d = new Recorder();
      let paused = false;
      d.onDataHook = (rec) => { if (!paused) { paused = true; dl.pauseResponse(); } void rec; };
      const dl = pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/down', 0), d);
      dl.end();
      await new Promise((res) => setTimeout(res, 300));
      const whilePaused = d.body.length;
      assert.ok(paused);
      assert.ok(whilePaused < big.length, `paused at ${whilePaused} of ${big.length}`);
      assert.ok(whilePaused <= (1 << 20) + 64 * 1024, `no more than the stream window while paused (${whilePaused})`);
      dl.resumeResponse();
      await d.done;
      assert.equal(d.error, undefined);
      assert.ok(d.body.equals(big));
      void drained;
    } finally {
      pool.close();
      server.close();
    }
  });
}

test('trailers both ways: request trailers reach the server, response trailers reach the sink', T, async () => {
  let gotTrailers: Record<string, unknown> | undefined;
  const { server, port } = await h2Server((s) => {
    s.on('trailers', (t) => { gotTrailers = t; });
    s.on('data', () => {});
    s.on('end', () => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      s.end(Buffer.from([0, 0, 0, 0, 1, 9]));
    });
  });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    const r = new Recorder();
    const u = pool.request(CLUSTER, '127.0.0.1', port, req('POST', '/svc/M', -1, ['content-type', 'application/grpc', 'te', 'trailers']), r);
    u.write(Buffer.from([0, 0, 0, 0, 2, 1, 2]), 0, 7);
    u.end(['x-client-trailer', 'yes']);
    await r.done;
    assert.equal(r.error, undefined);
    assert.deepEqual([...r.body], [0, 0, 0, 0, 1, 9]);
    assert.deepEqual(r.trailers, ['grpc-status', '0', 'grpc-message', 'ok']);
    assert.equal(gotTrailers?.['x-client-trailer'], 'yes');
  } finally {
    pool.close();
    server.close();
  }
});

test('a stream reset by the server before its response fails as reset-before-response; others go on', T, async () => {
  const { server, port } = await h2Server((s, h) => {
    if (h[':path'] === '/refuse') { s.close(constants.NGHTTP2_REFUSED_STREAM); return; }
    s.respond({ ':status': 204 });
    s.end();
  });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    const bad = new Recorder(), good = new Recorder();
    pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/refuse', 0), bad).end();
    pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/ok', 0), good).end();
    await Promise.all([bad.done, good.done]);
    assert.equal(bad.error?.kind, 'reset-before-response');
    assert.match(bad.error!.detail, /REFUSED_STREAM/);
    assert.equal(good.status, 204);
    assert.equal(good.bodyLength, 0);
    assert.ok(good.ended);
  } finally {
    pool.close();
    server.close();
  }
});

test('the peer\'s MAX_CONCURRENT_STREAMS: requests beyond it open another connection', T, async () => {
  const waiting: ServerHttp2Stream[] = [];
  const { server, port, sessions } = await h2Server((s) => {
    waiting.push(s);
    if (waiting.length === 6) for (const w of waiting) { w.respond({ ':status': 200 }); w.end('x'); }
  }, { maxConcurrentStreams: 2 });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    // the first connection learns the limit from the server's SETTINGS before the others are asked for
    const first = new Recorder();
    pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/0', 0), first).end();
    await new Promise((r) => setTimeout(r, 100));
    const rs = [first, ...Array.from({ length: 5 }, (_, i) => {
      const r = new Recorder();
      pool.request(CLUSTER, '127.0.0.1', port, req('GET', `/${i + 1}`, 0), r).end();
      return r;
    })];
    await Promise.all(rs.map((r) => r.done));
    for (const r of rs) assert.equal(r.status, 200, r.error?.detail);
    assert.equal(sessions(), 3);
  } finally {
    pool.close();
    server.close();
  }
});

test('a response header block larger than a frame arrives through CONTINUATION frames', T, async () => {
  const long = 'v'.repeat(40_000);
  const { server, port } = await h2Server((s) => { s.respond({ ':status': 200, 'x-long': long, 'x-after': 'z' }); s.end(); });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    const r = new Recorder();
    pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/', 0, ['x-req-long', 'w'.repeat(40_000)]), r).end();
    await r.done;
    assert.equal(r.error, undefined);
    assert.equal(r.header('x-long'), long);
    assert.equal(r.header('x-after'), 'z');
  } finally {
    pool.close();
    server.close();
  }
});

test('nothing listening: connect-failure', T, async () => {
  const probeServer = createTcpServer();
  await new Promise<void>((r) => probeServer.listen(0, '127.0.0.1', r));
  const port = (probeServer.address() as AddressInfo).port;
  await new Promise((r) => probeServer.close(r));
  const pool = new H2ClientPool(realClock, () => documentedIO);
  const r = new Recorder();
  pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/', 0), r).end();
  await r.done;
  assert.equal(r.error?.kind, 'connect-failure');
  pool.close();
});

/** A TCP server speaking frames by hand: `onStreams` gets the socket and the stream ids of HEADERS seen so far. */
async function rawServer(onHeaders: (sock: Socket, ids: number[]) => void): Promise<{ server: Server; port: number }> {
  const server = createTcpServer((sock) => {
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    const ids: number[] = [];
    sock.write(settingsFrame([]), 'latin1');
    sock.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      if (!prefaceSeen) { if (buf.length < 24) return; buf = buf.subarray(24); prefaceSeen = true; }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!, id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === Frame.HEADERS) { ids.push(id); onHeaders(sock, ids); }
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

test('GOAWAY: streams above its last stream id fail as retriable resets, the one below completes', T, async () => {
  const enc = new HpackEncoder();
  const { server, port } = await rawServer((sock, ids) => {
    if (ids.length < 3) return;
    sock.write(goawayFrame(1, 0) + headersFrames(1, enc.encodeLatin1(200, ['content-length', '2']), false, 16384) + frameHead(2, Frame.DATA, Flag.END_STREAM, 1) + 'ok', 'latin1');
  });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    const rs = [0, 1, 2].map((i) => { const r = new Recorder(); pool.request(CLUSTER, '127.0.0.1', port, req('GET', `/${i}`, 0), r).end(); return r; });
    await Promise.all(rs.map((r) => r.done));
    assert.equal(rs[0]!.status, 200);
    assert.equal(rs[0]!.body.toString(), 'ok');
    for (const r of rs.slice(1)) {
      assert.equal(r.error?.kind, 'reset-before-response');
      assert.match(r.error!.detail, /GOAWAY/);
    }
    // the retired connection is not used again: a new request opens a new one
    const again = new Recorder();
    pool.request(CLUSTER, '127.0.0.1', port, req('GET', '/again', 0), again).end();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pool.connectionCount, 1);
  } finally {
    pool.close();
    server.close();
  }
});

test('malformed responses are upstream protocol errors: no :status, body longer than content-length, bad HPACK', T, async () => {
  const enc = new HpackEncoder();
  const { server, port } = await rawServer((sock, ids) => {
    const id = ids[ids.length - 1]!;
    if (ids.length === 1) sock.write(headersFrames(id, enc.encodeLatin1(undefined, ['x-no-status', '1']), true, 16384), 'latin1');
    if (ids.length === 2) sock.write(headersFrames(id, enc.encodeLatin1(200, ['content-length', '1']), false, 16384) + frameHead(3, Frame.DATA, Flag.END_STREAM, id) + 'abc', 'latin1');
    if (ids.length === 3) sock.write(frameHead(1, Frame.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id) + '\x80', 'latin1'); // index 0
  });
  const pool = new H2ClientPool(realClock, () => documentedIO);
  try {
    for (const [i, why] of [[0, /valid :status/], [1, /longer than content-length/], [2, /HPACK/]] as const) {
      const r = new Recorder();
      pool.request(CLUSTER, '127.0.0.1', port, req('GET', `/${i}`, 0), r).end();
      await r.done;
      assert.equal(r.error?.kind, 'protocol-error', `case ${i}: ${JSON.stringify(r.error)}`);
      assert.match(r.error!.detail, why);
    }
  } finally {
    pool.close();
    server.close();
  }
});
