// test/proxy: the engine on real sockets — forwarding, keep-alive pools, chunked bodies, local replies, flags.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { Engine } from '../../src/proxy/engine.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter, rawExchange, type Backend } from './engine-fixtures.ts';

let be: Backend;
let engine: Engine;
let port: number;
const records: RequestRecord[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('latin1');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    r.on('error', reject);
    if (body !== undefined) r.end(body); else r.end();
  });
}

before(async () => {
  be = await backend((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        setTimeout(() => res.end('part2'), 5);
        return;
      }
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 2000); return; }
      res.setHeader('x-echo-method', req.method!);
      res.setHeader('x-echo-host', req.headers.host ?? '');
      res.setHeader('x-echo-added', String(req.headers['x-added'] ?? ''));
      res.setHeader('x-echo-rid', String(req.headers['x-request-id'] ?? ''));
      res.setHeader('x-echo-te', String(req.headers['transfer-encoding'] ?? ''));
      res.setHeader('x-echo-xfp', String(req.headers['x-forwarded-proto'] ?? ''));
      res.end(`${req.method} ${req.url} ${body.length} ${body.subarray(0, 32).toString()}`);
    });
  });
  engine = new Engine({ compileRouter: testRouter, onRequestComplete: (r) => records.push(r) });
  const rc = routes('r', [
    { prefix: '/direct', direct: { status: 418, body: 'teapot' } },
    { prefix: '/redirect', redirect: 'elsewhere.example' },
    { prefix: '/nocluster', cluster: 'missing' },
    { prefix: '/dead', cluster: 'dead' },
    { prefix: '/slow', timeoutMs: 200 },
    { prefix: '/' },
  ]);
  await engine.apply(snapshot(
    [listener('l1', httpHandler(rc))],
    [cluster('c', [{ address: '127.0.0.1', port: be.port }]), cluster('dead', [{ address: '127.0.0.1', port: 1 }])],
  ));
  port = engine.portOf('l1')!;
  assert.ok(port > 0);
});

after(async () => {
  agent.destroy();
  engine.close();
  await be.close();
});

test('forwards a GET with route header edits, x-request-id, x-forwarded-proto and service time', async () => {
  const r = await call('GET', '/hello?x=1');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'GET /hello?x=1 0 ');
  assert.equal(r.headers['x-echo-added'], 'yes');
  assert.match(String(r.headers['x-echo-rid']), /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-echo-xfp'], 'http');
  assert.equal(r.headers['x-resp-added'], 'yes');
  assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
  assert.equal(r.headers['server'], 'envoy');
  const rid = await call('GET', '/', undefined, { 'x-request-id': 'given-id' });
  assert.equal(rid.headers['x-echo-rid'], 'given-id');
});

test('reuses upstream connections across sequential requests (keep-alive pool)', async () => {
  const before = be.connections;
  for (let i = 0; i < 20; i++) assert.equal((await call('GET', `/k${i}`)).status, 200);
  assert.ok(be.connections - before <= 1, `opened ${be.connections - before} upstream connections for 20 sequential requests`);
});

test('streams request bodies (content-length and chunked) and chunked responses', async () => {
  const big = Buffer.alloc(300_000, 0x61);
  const r1 = await call('POST', '/upload', big);
  assert.equal(r1.body, `POST /upload 300000 ${'a'.repeat(32)}`);
  const r2 = await call('POST', '/upload', undefined);
  assert.equal(r2.status, 200);
  const chunked = 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const raw = await rawExchange(port, chunked, (t) => t.includes('hello world'));
  assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(raw, /POST \/c 11 hello world/);
  assert.match(raw, /x-echo-te: chunked/);
  const r3 = await call('GET', '/chunked');
  assert.equal(r3.body, 'part1-part2');
  assert.equal(r3.headers['transfer-encoding'], 'chunked');
});

test('local replies: direct response, redirect, NR, NC, UF, UT', async () => {
  const d = await call('GET', '/direct');
  assert.equal(d.status, 418);
  assert.equal(d.body, 'teapot');
  const rd = await call('GET', '/redirect/x');
  assert.equal(rd.status, 301);
  assert.equal(rd.headers.location, 'http://elsewhere.example/redirect/x');
  const nc = await call('GET', '/nocluster');
  assert.equal(nc.status, 503);
  const uf = await call('GET', '/dead');
  assert.equal(uf.status, 503);
  assert.match(uf.body, /connection failure/);
  const ut = await call('GET', '/slow');
  assert.equal(ut.status, 504);
  assert.equal(ut.body, 'upstream request timeout');
  const flags = (p: string) => records.find((r) => r.path === p)?.flags.join(',');
  assert.equal(flags('/nocluster'), 'NC');
  assert.equal(flags('/dead'), 'UF');
  assert.equal(flags('/slow'), 'UT');
});

test('rejects malformed requests with 400 and closes; pipelined requests are answered in order', async () => {
  const bad = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', () => false);
  assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(bad, /connection: close/);
  const two = 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const out = await rawExchange(port, two, () => false);
  const i1 = out.indexOf('GET /p1 0'), i2 = out.indexOf('GET /p2 0');
  assert.ok(i1 > 0 && i2 > i1, out);
});

test('HTTP/1.0 client gets a close-delimited or length-framed response and the connection closes', async () => {
  const out = await rawExchange(port, 'GET /chunked HTTP/1.0\r\n\r\n', () => false);
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(!/transfer-encoding: chunked/i.test(out));
  assert.ok(out.endsWith('part1-part2'));
});

test('HEAD responses carry no body and keep the connection usable', async () => {
  const out = await rawExchange(port, 'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', () => false);
  assert.equal((out.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2);
  assert.match(out, /GET \/after 0/);
});

test('regression: a request head and body trickling in a few bytes at a time are parsed (no re-parse loop)', async () => {
  const { connect } = await import('node:net');
  const wire = 'POST /trickle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
  const out = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let t = '';
    s.on('data', (b) => { t += b.toString('latin1'); });
    s.on('close', () => resolve(t));
    s.on('error', reject);
    let i = 0;
    const step = (): void => {
      if (i >= wire.length) return;
      s.write(wire.slice(i, i + 3));
      i += 3;
      setTimeout(step, 2);
    };
    s.on('connect', step);
  });
  assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(out, /POST \/trickle 5 hello/);
});
