// proxy/http/codec: unit tests for the strict request/response head parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, parseResponseHead } from './parser.ts';
import type { RequestHead, ResponseHead } from './head.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
function req(s: string) { const buf = b(s); return parseRequestHead(buf, 0, buf.length); }
function okReq(s: string): RequestHead {
  const r = req(s);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { head: RequestHead }).head;
}
function errReq(s: string, status = 400): string {
  const r = req(s);
  assert.equal(r.kind, 'error', `expected error for ${JSON.stringify(s)}`);
  assert.equal((r as { status: number }).status, status, JSON.stringify(r));
  return (r as { reason: string }).reason;
}
function res(s: string, method = 'GET') { const buf = b(s); return parseResponseHead(buf, 0, buf.length, method); }

test('parses a simple GET with lower-cased names and trimmed values', () => {
  const h = okReq('GET /a?b=1 HTTP/1.1\r\nHost: x.example:8080\r\nX-Foo:  bar  \r\n\r\n');
  assert.equal(h.method, 'GET');
  assert.equal(h.path, '/a?b=1');
  assert.equal(h.authority, 'x.example:8080');
  assert.deepEqual(h.headers, ['host', 'x.example:8080', 'x-foo', 'bar']);
  assert.equal(h.keepAlive, true);
  assert.equal(h.bodyKind, 'none');
});

test('consumed covers exactly the head, leaving pipelined bytes', () => {
  const s = 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n';
  const r = req(s);
  assert.equal(r.kind, 'ok');
  assert.equal((r as { consumed: number }).consumed, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.length);
});

test('incomplete until CRLFCRLF arrives', () => {
  assert.equal(req('GET / HTTP/1.1\r\nHost: a\r\n').kind, 'incomplete');
});

test('keep-alive rules for 1.0 and 1.1', () => {
  assert.equal(okReq('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  assert.equal(okReq('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  assert.equal(okReq('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').keepAlive, false);
  assert.equal(okReq('GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n').keepAlive, false);
});

test('content-length and chunked framing', () => {
  const h = okReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n');
  assert.equal(h.bodyKind, 'length');
  assert.equal(h.contentLength, 12);
  assert.equal(okReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n').contentLength, 5);
  assert.equal(okReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n').bodyKind, 'chunked');
});

test('rejects request smuggling shapes', () => {
  errReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501);
  errReq('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n');
  errReq('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n');
});

test('rejects obs-fold, bad bytes, bare LF', () => {
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX(: a\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n');
  errReq('GET / HTTP/1.1\nHost: a\n\n');
  errReq('GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n');
  errReq('GET / HTTP/1.1\r\n: novalue\r\nHost: a\r\n\r\n');
  // obs-text in values is allowed and preserved byte for byte
  assert.equal(okReq('GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n').get('x'), 'caf\xe9');
});

test('request-line and target rules', () => {
  errReq('GET  / HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GET / HTTP/1.1 \r\nHost: a\r\n\r\n');
  errReq('GET /a b HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GE(T / HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505);
  errReq('GET / HTTP/1.1x\r\nHost: a\r\n\r\n');
  errReq('GET / HTTX/1.1\r\nHost: a\r\n\r\n');
  errReq('GET foo HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GET * HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n');
  errReq('GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(okReq('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n').path, '*');
});

test('Host rules: required on 1.1, single, valid', () => {
  errReq('GET / HTTP/1.1\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: a b\r\n\r\n');
  errReq('GET / HTTP/1.1\r\nHost: user@a\r\n\r\n');
  assert.equal(okReq('GET / HTTP/1.0\r\n\r\n').authority, '');
});

test('absolute-form (local HTTP_PROXY mode) overrides Host', () => {
  const h = okReq('GET http://reviews:9080/path?q HTTP/1.1\r\nHost: other\r\n\r\n');
  assert.equal(h.authority, 'reviews:9080');
  assert.equal(h.path, '/path?q');
  assert.equal(h.scheme, 'http');
  assert.equal(okReq('GET http://reviews:9080 HTTP/1.1\r\n\r\n').path, '/');
  errReq('GET http://u@reviews/ HTTP/1.1\r\n\r\n');
  errReq('GET ftp://reviews/ HTTP/1.1\r\n\r\n');
});

test('upgrade and CONNECT', () => {
  const h = okReq('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  assert.equal(h.upgrade, 'websocket');
  assert.equal(okReq('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n').upgrade, '');
  const c = okReq('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
  assert.equal(c.upgrade, 'connect');
  assert.equal(c.authority, 'a.example:443');
  errReq('CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n');
});

test('oversized heads and too many headers give 431', () => {
  errReq('GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'a'.repeat(70 * 1024) + '\r\n\r\n', 431);
  // incomplete but already over the limit: 431 without waiting for the end
  const buf = b('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(70 * 1024));
  assert.equal((parseRequestHead(buf, 0, buf.length) as { status: number }).status, 431);
  let many = 'GET / HTTP/1.1\r\nHost: a\r\n';
  for (let i = 0; i < 101; i++) many += `x-${i}: v\r\n`;
  errReq(many + '\r\n', 431);
});

test('response framing: CL, chunked, close-delimited, bodiless', () => {
  const ok = (s: string, m = 'GET') => { const r = res(s, m); assert.equal(r.kind, 'ok', JSON.stringify(r)); return (r as { head: ResponseHead }).head; };
  const a = ok('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n');
  assert.equal(a.status, 200);
  assert.equal(a.bodyKind, 'length');
  assert.equal(a.keepAlive, true);
  assert.equal(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').bodyKind, 'chunked');
  const c = ok('HTTP/1.1 200 OK\r\n\r\n');
  assert.equal(c.bodyKind, 'close');
  assert.equal(c.keepAlive, false);
  assert.equal(ok('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n', 'HEAD').bodyKind, 'none');
  assert.equal(ok('HTTP/1.1 204 No Content\r\n\r\n').bodyKind, 'none');
  assert.equal(ok('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').bodyKind, 'none');
  assert.equal(ok('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').reason, '');
  assert.equal(ok('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n').keepAlive, false);
  const both = ok('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.equal(both.bodyKind, 'chunked');
  assert.equal(both.keepAlive, false);
  assert.equal(res('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n').kind, 'error');
  assert.equal(res('HTTP/1.1 20 OK\r\n\r\n').kind, 'error');
  assert.equal(res('HTTP/1.1 200 OK\nX: y\r\n\r\n').kind, 'error');
});

test('findHeadEnd agrees with a plain search for CRLFCRLF over CR/LF-heavy random input, short and long', async () => {
  const { findHeadEnd } = await import('./parser.ts');
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let t = 0; t < 5000; t++) {
    const n = t % 50 === 0 ? 2000 + Math.floor(rnd() * 3000) : Math.floor(rnd() * 80);
    const bytes: number[] = [];
    for (let i = 0; i < n; i++) { const r = rnd(); bytes.push(r < 0.25 ? 13 : r < 0.45 ? 10 : 97); }
    const buf = Buffer.from(bytes);
    const off = Math.floor(rnd() * 3);
    const i = buf.indexOf('\r\n\r\n', off);
    const got = findHeadEnd(buf, off, buf.length, 1_000_000);
    if (i !== -1) assert.equal(got, i + 4, `input ${JSON.stringify(buf.toString('latin1'))} from ${off}`);
    else assert.ok(got < 0, `no head end expected, got ${got}`);
  }
});

test('Connection tokens: one value or a list, any case, repeated headers; response and request agree', () => {
  const cases: Array<[string, number, boolean]> = [
    ['Connection: close\r\n', 1, false], ['Connection: Close\r\n', 1, false], ['Connection:  CLOSE \r\n', 1, false],
    ['Connection: keep-alive\r\n', 0, true], ['Connection: Keep-Alive\r\n', 0, true], ['Connection: keep-alive, close\r\n', 1, false],
    ['Connection: x\r\nConnection: close\r\n', 1, false], ['Connection: x\r\nConnection: keep-alive\r\n', 0, true],
    ['Connection: closed\r\n', 1, true], ['Connection: \r\n', 1, true], ['Connection: ,,close,,\r\n', 1, false],
    ['Connection: x-close\r\n', 0, false],
  ];
  for (const [line, minor, keepAlive] of cases) {
    assert.equal(okReq(`GET / HTTP/1.${minor}\r\nHost: a\r\n${line}\r\n`).keepAlive, keepAlive, `request 1.${minor} ${JSON.stringify(line)}`);
    const r = res(`HTTP/1.${minor} 200 OK\r\nContent-Length: 0\r\n${line}\r\n`);
    assert.equal(r.kind, 'ok');
    assert.equal((r as { head: ResponseHead }).head.keepAlive, keepAlive, `response 1.${minor} ${JSON.stringify(line)}`);
  }
  assert.equal(okReq('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, UPGRADE\r\nUpgrade: WebSocket\r\n\r\n').upgrade, 'websocket');
  assert.equal(okReq('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgraded\r\nUpgrade: websocket\r\n\r\n').upgrade, '');
});

test('a fragment in the request-target is refused wherever the # is; an encoded one is a path byte', () => {
  for (const t of ['/a#b', '/#', '/a%20b#c', '/a?x=1#']) assert.match(errReq(`GET ${t} HTTP/1.1\r\nHost: h.example\r\n\r\n`), /fragment/, t);
  errReq('GET http://h.example/p#f HTTP/1.1\r\nHost: h.example\r\n\r\n');
  assert.equal(okReq('GET /a%23b HTTP/1.1\r\nHost: h\r\n\r\n').path, '/a%23b');
  assert.match(errReq('GET /a#%00 HTTP/1.1\r\nHost: h\r\n\r\n'), /%00|fragment/);
});
