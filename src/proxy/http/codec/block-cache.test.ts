// proxy/http/codec: the field-block cache gives exactly what parsing gives (fields, line starts and flags), never
// lets a changed byte through (invalid heads of the same length still fail), and re-checks the caller's limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, parseResponseHead } from './parser.ts';
import { FieldBlockCache } from './block-cache.ts';
import { parseFieldLines } from './fields.ts';
import { forwardHeaders, serializeResponseHead } from './serialize.ts';
import type { RequestHead, ResponseHead } from './head.ts';

const req = (s: string, maxHeaders = 100) => { const b = Buffer.from(s, 'latin1'); return parseRequestHead(b, 0, b.length, { maxHeadBytes: 65536, maxHeaders }); };
const res = (s: string) => { const b = Buffer.from(s, 'latin1'); return parseResponseHead(b, 0, b.length, 'GET'); };

/** Parse a block directly (no cache) for reference. */
function reference(block: string): { err: string; headers: string[]; lines: number[] } {
  const b = Buffer.from(block, 'latin1');
  const headers: string[] = [];
  const lines = new Int32Array(102);
  const err = parseFieldLines(b, 0, b.length, headers, 100, block, 0, lines);
  return { err, headers, lines: [...lines.subarray(0, (headers.length >> 1) + 1)] };
}

test('a repeated request head gets the same fields in a fresh array each time', () => {
  const head = 'GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: X/1\r\nAccept: */*\r\n\r\n';
  const first = req(head);
  assert.equal(first.kind, 'ok');
  const h1 = (first as { head: RequestHead }).head.headers;
  h1.push('x-mutated', '1'); // callers may modify their array
  for (let k = 0; k < 3; k++) {
    const again = req(head);
    assert.equal(again.kind, 'ok');
    const h = (again as { head: RequestHead }).head.headers;
    assert.deepEqual(h, ['host', 'a.example', 'user-agent', 'X/1', 'accept', '*/*']);
    assert.notEqual(h, h1);
  }
});

test('one changed byte in a cached block is parsed (and refused) as if nothing were cached', () => {
  const ok = 'HTTP/1.1 200 OK\r\nx-a: value1\r\nx-b: value2\r\n\r\n';
  for (let k = 0; k < 4; k++) assert.equal(res(ok).kind, 'ok');
  // A control byte, a bare CR, a space before the colon (all the same length as the cached line), an obs-fold: errors.
  for (const bad of ['x-a: val\x01e1', 'x-a: val\re1', 'x-a : value', 'x-a: value1\r\n value']) {
    const head = 'HTTP/1.1 200 OK\r\n' + bad + '\r\nx-b: value2\r\n\r\n';
    assert.equal(res(head).kind, 'error', JSON.stringify(bad));
  }
  const changed = res('HTTP/1.1 200 OK\r\nx-a: value9\r\nx-b: value2\r\n\r\n');
  assert.deepEqual((changed as { head: ResponseHead }).head.headers, ['x-a', 'value9', 'x-b', 'value2']);
});

test('the caller\'s header-count limit is checked on a cached block too', () => {
  const head = 'GET / HTTP/1.1\r\nHost: a\r\nx-1: 1\r\nx-2: 2\r\nx-3: 3\r\n\r\n';
  for (let k = 0; k < 3; k++) assert.equal(req(head).kind, 'ok');
  const r = req(head, 2);
  assert.equal(r.kind, 'error');
  assert.equal((r as { status: number }).status, 431);
});

test('cached response blocks give the parse\'s line starts and flags: copied lines serialize as rebuilt ones', () => {
  const pad = Array.from({ length: 9 }, (_, i) => (i % 3 ? `x-p${i}: v${i}\r\n` : `X-P${i}:  v${i}\r\n`)).join('');
  const head = 'HTTP/1.1 200 OK\r\n' + pad + 'content-length: 2\r\n\r\n';
  for (let k = 0; k < 4; k++) {
    const p = (res(head) as { head: ResponseHead }).head;
    const h: string[] = [];
    forwardHeaders(p.headers, h);
    assert.equal(serializeResponseHead(200, '', h, p.bodyKind, p.contentLength, undefined, p), serializeResponseHead(200, '', h, p.bodyKind, p.contentLength));
    const ref = reference(pad + 'content-length: 2\r\n');
    assert.deepEqual([...Array.from(p.lines).slice(0, ref.lines.length)].map((x) => x - 2), ref.lines);
  }
});

test('randomized heads, repeating and not: the cache never changes a result', () => {
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const values = ['a', 'b', 'x\x01', 'c', ' d ', 'e\x7f', 'f'];
  const pool: string[] = [];
  for (let k = 0; k < 12; k++) {
    let block = '';
    for (let l = 0; l < 1 + rnd(4); l++) block += `X-${rnd(3)}: ${values[rnd(values.length)]}\r\n`;
    pool.push(block);
  }
  for (let round = 0; round < 2000; round++) {
    const block = pool[rnd(pool.length)];
    const r = res('HTTP/1.1 200 OK\r\n' + block + '\r\n');
    const ref = reference(block);
    if (ref.err) { assert.equal(r.kind, 'error', block); continue; }
    assert.equal(r.kind, 'ok', block);
    const p = (r as { head: ResponseHead }).head;
    assert.deepEqual(p.headers, ref.headers);
    // Line starts count from the status line's CRLF (RawFields.text starts there).
    assert.deepEqual(Array.from(p.lines).slice(0, ref.lines.length).map((x) => x - 2), ref.lines);
  }
});

test('a slot whose same-length blocks keep differing is skipped for a while, then used again', () => {
  const c = new FieldBlockCache();
  const blk = (v: string) => `x-id: ${v}\r\n`;
  const parse = (s: string) => { const r = reference(s); return r.headers; };
  let hits = 0;
  for (let k = 0; k < 100; k++) {
    const s = blk(String(1000 + k));
    const got = c.get(s, 0, s.length, 100, undefined);
    if (got !== undefined) hits++;
    else c.set(s, 0, s.length, parse(s), undefined);
  }
  assert.equal(hits, 0);
  // A block that now repeats is cached again once the skip runs out (bounded: at most 1024 lookups).
  const s = blk('9999');
  let first = -1;
  for (let k = 0; k < 1100 && first < 0; k++) {
    const got = c.get(s, 0, s.length, 100, undefined);
    if (got !== undefined) { first = k; assert.deepEqual(got, ['x-id', '9999']); } else c.set(s, 0, s.length, parse(s), undefined);
  }
  assert.ok(first > 0 && first < 1100, `hit after ${first}`);
});

test('a repeated head is found at the last head\'s length only when its block is the cached one (pipelining, early CRLFCRLF)', () => {
  const one = 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n';
  for (let k = 0; k < 3; k++) assert.equal(req(one).kind, 'ok');
  // Three pipelined copies: each parse ends exactly at its own head.
  const three = Buffer.from(one + one + one, 'latin1');
  let pos = 0;
  for (let k = 0; k < 3; k++) {
    const r = parseRequestHead(three, pos, three.length);
    assert.equal(r.kind, 'ok');
    assert.equal((r as { consumed: number }).consumed, one.length);
    assert.deepEqual((r as { head: RequestHead }).head.headers, ['host', 'a', 'x', '1']);
    pos += one.length;
  }
  // Same total length with CRLFCRLF at the guessed end, but the real head ends earlier: the guess must not hold.
  const early = 'GET / HTTP/1.1\r\nHost: a\r\n\r\nX1\r\n\r\n';
  assert.equal(early.length, one.length);
  const r = req(early);
  assert.equal(r.kind, 'ok');
  assert.equal((r as { consumed: number }).consumed, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.length);
  assert.deepEqual((r as { head: RequestHead }).head.headers, ['host', 'a']);
  // A response head of the cached length whose status line changed is parsed (and checked) in full.
  const ok = 'HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\n';
  for (let k = 0; k < 3; k++) assert.equal(res(ok).kind, 'ok');
  assert.equal(res('HTTP/1.1 2x0 OK\r\nx-a: 1\r\n\r\n').kind, 'error');
  const other = res('HTTP/1.1 404 No\r\nx-a: 1\r\n\r\n');
  assert.equal((other as { head: ResponseHead }).head.status, 404);
  assert.equal((other as { head: ResponseHead }).head.reason, 'No');
});
