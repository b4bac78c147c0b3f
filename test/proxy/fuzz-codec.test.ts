// test/proxy: seeded mutation fuzzing of the HTTP/1.1 codec: never throws, never accepts ambiguity, round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, parseResponseHead, serializeRequestHead, serializeResponseHead, ChunkedDecoder, encodeChunked } from '../../src/proxy/http/codec/index.ts';
import { TOKEN, FIELD_VALUE } from '../../src/proxy/http/codec/chars.ts';
// The same seeded PRNG the load balancers use in tests (mulberry32): a failing seed reproduces.
import { seededRandom } from '../../src/proxy/upstream/lb/random.ts';

const SEEDS_REQ = [
  'GET /index.html?x=1 HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n',
  'PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Y: z\r\n\r\n',
  'GET http://ratings:9080/r HTTP/1.1\r\nHost: other\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
];
const PIECES = ['\r', '\n', '\r\n', ' ', '\t', ':', ',', '0', '5', '9', '\x00', '\x7f', '\xff', 'a', '/', 'chunked',
  'Content-Length: 6\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: b\r\n', ' x', 'HTTP/1.1', '#', '@'];

function mutate(s: string, r: () => number): string {
  let out = s;
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(r() * (out.length + 1));
    const op = Math.floor(r() * 3);
    const piece = PIECES[Math.floor(r() * PIECES.length)];
    if (op === 0) out = out.slice(0, pos) + piece + out.slice(pos);
    else if (op === 1) out = out.slice(0, pos) + out.slice(pos + 1 + Math.floor(r() * 3));
    else out = out.slice(0, pos) + piece + out.slice(pos + piece.length);
  }
  return out;
}

function countDistinct(headers: string[], name: string): string[] {
  const v: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) v.push(headers[i + 1]);
  return v;
}

test('request parser: 20,000 seeded mutations never throw and never accept ambiguity', () => {
  const r = seededRandom(0xC0FFEE);
  let accepted = 0, rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const wire = mutate(SEEDS_REQ[i % SEEDS_REQ.length], r);
    const buf = Buffer.from(wire, 'latin1');
    const out = parseRequestHead(buf, 0, buf.length);
    if (out.kind === 'error') { rejected++; assert.ok(out.status >= 400 && out.status < 600); continue; }
    if (out.kind === 'incomplete') continue;
    accepted++;
    const h = out.head;
    // Invariants of an accepted message.
    const cl = countDistinct(h.headers, 'content-length');
    const te = countDistinct(h.headers, 'transfer-encoding');
    assert.ok(!(cl.length && te.length), `CL+TE accepted: ${JSON.stringify(wire)}`);
    assert.ok(new Set(cl.flatMap((v) => v.split(',').map((x) => x.trim()))).size <= 1, `conflicting CL accepted: ${JSON.stringify(wire)}`);
    assert.ok(countDistinct(h.headers, 'host').length <= 1, `duplicate Host accepted: ${JSON.stringify(wire)}`);
    for (let k = 0; k < h.headers.length; k += 2) {
      for (const ch of h.headers[k]) assert.equal(TOKEN[ch.charCodeAt(0)], 1, `bad name byte: ${JSON.stringify(wire)}`);
      for (const ch of h.headers[k + 1]) assert.equal(FIELD_VALUE[ch.charCodeAt(0)], 1, `bad value byte: ${JSON.stringify(wire)}`);
    }
    assert.ok(!/[\s]/.test(h.target), 'whitespace in target');
    assert.ok(out.consumed <= buf.length);
    // Round trip: serialize what we understood, parse again, get the same meaning.
    const rest: string[] = [];
    for (let k = 0; k < h.headers.length; k += 2) {
      if (h.headers[k] !== 'content-length' && h.headers[k] !== 'transfer-encoding') rest.push(h.headers[k], h.headers[k + 1]);
    }
    // We always speak HTTP/1.1 upstream, which needs a Host; the proxy supplies one for HTTP/1.0 clients.
    if (h.get('host') === undefined && h.scheme === '' && h.method !== 'CONNECT') rest.push('host', 'fuzz');
    const again = Buffer.from(serializeRequestHead(h.method, h.target, rest, h.bodyKind, h.contentLength), 'latin1');
    const o2 = parseRequestHead(again, 0, again.length);
    assert.equal(o2.kind, 'ok', `round trip failed: ${JSON.stringify(wire)} -> ${JSON.stringify(again.toString('latin1'))}`);
    if (o2.kind === 'ok') {
      assert.equal(o2.head.method, h.method);
      assert.equal(o2.head.path, h.path);
      assert.equal(o2.head.authority, h.authority || 'fuzz');
      assert.equal(o2.head.bodyKind, h.bodyKind);
      assert.equal(o2.head.contentLength, h.contentLength);
      assert.equal(o2.consumed, again.length);
    }
  }
  // The corpus must exercise both sides, or the test proves nothing.
  assert.ok(accepted > 1000, `accepted ${accepted}`);
  assert.ok(rejected > 1000, `rejected ${rejected}`);
});

test('response parser: seeded mutations never throw; accepted ones round-trip', () => {
  const r = seededRandom(42);
  const seeds = ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: x\r\n\r\n', 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n'];
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) {
    const buf = Buffer.from(mutate(seeds[i % 2], r), 'latin1');
    const out = parseResponseHead(buf, 0, buf.length, 'GET');
    if (out.kind !== 'ok') continue;
    accepted++;
    const h = out.head;
    const rest: string[] = [];
    for (let k = 0; k < h.headers.length; k += 2) {
      if (h.headers[k] !== 'content-length' && h.headers[k] !== 'transfer-encoding') rest.push(h.headers[k], h.headers[k + 1]);
    }
    const kind = h.bodyKind === 'close' ? 'none' : h.bodyKind;
    const again = Buffer.from(serializeResponseHead(h.status, h.reason, rest, kind, h.contentLength), 'latin1');
    const o2 = parseResponseHead(again, 0, again.length, 'GET');
    assert.equal(o2.kind, 'ok');
    if (o2.kind === 'ok') assert.equal(o2.head.status, h.status);
  }
  assert.ok(accepted > 500);
});

test('chunked decoder: mutated bodies never throw; accepted ones decode to bytes of the right total', () => {
  const r = seededRandom(7);
  let done = 0;
  for (let i = 0; i < 10_000; i++) {
    const body = Buffer.from('x'.repeat(1 + Math.floor(r() * 40)));
    const wire = Buffer.from(mutate(encodeChunked(body, i % 3 === 0 ? ['x-t', 'v'] : undefined).toString('latin1'), r), 'latin1');
    const d = new ChunkedDecoder();
    let total = 0;
    const n = d.feed(wire, 0, wire.length, (_b, s, e) => { total += e - s; });
    assert.ok(n >= 0 && n <= wire.length);
    if (d.done) {
      done++;
      assert.ok(total <= wire.length);
    }
  }
  assert.ok(done > 100);
});
