// proxy/http/codec: header-name interning and the single-value fast paths give the same answers as the general rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownName, listTokens, parseContentLength, parseFieldLines } from './fields.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('well-known names are matched case-insensitively and returned lower-cased', () => {
  for (const raw of ['Content-Length', 'content-length', 'CONTENT-LENGTH', 'cOnTeNt-LeNgTh']) assert.equal(knownName(b(raw), 0, raw.length), 'content-length');
  assert.equal(knownName(b('xxHostyy'), 2, 6), 'host');
  assert.equal(knownName(b('X-Request-Id'), 0, 12), 'x-request-id');
});

test('names that only look alike are not interned', () => {
  for (const raw of ['Content-Lengti', 'Hosu', 'X-Custom', 'content_length', 'Content~Length']) assert.equal(knownName(b(raw), 0, raw.length), undefined, raw);
});

test('parseFieldLines yields the same lower-case names for known and unknown headers', () => {
  const lines = 'Host: a\r\nX-Thing: 1\r\nCONNECTION: keep-alive\r\nContent-Type: text/plain\r\n';
  const out: string[] = [];
  assert.equal(parseFieldLines(b(lines), 0, lines.length, out, 100), '');
  assert.deepEqual(out, ['host', 'a', 'x-thing', '1', 'connection', 'keep-alive', 'content-type', 'text/plain']);
});

test('parseContentLength: one plain number, and the general list rules', () => {
  assert.equal(parseContentLength(['1024']), 1024);
  assert.equal(parseContentLength(['0']), 0);
  assert.equal(parseContentLength(['007']), 7);
  assert.equal(parseContentLength(['999999999999999']), 999999999999999);
  assert.equal(parseContentLength(['1000000000000000']), -1); // 16 digits: too long
  assert.equal(parseContentLength(['']), -1);
  assert.equal(parseContentLength(['12a']), -1);
  assert.equal(parseContentLength(['-1']), -1);
  assert.equal(parseContentLength([' 5 ']), 5);
  assert.equal(parseContentLength(['5, 5']), 5);
  assert.equal(parseContentLength(['5, 6']), -1);
  assert.equal(parseContentLength(['5', '5']), 5);
  assert.equal(parseContentLength(['5', '6']), -1);
});

test('listTokens: single tokens come back trimmed and lower-cased; lists are split', () => {
  assert.deepEqual(listTokens(['keep-alive']), ['keep-alive']);
  assert.deepEqual(listTokens(['Keep-Alive']), ['keep-alive']);
  assert.deepEqual(listTokens(['  CLOSE ']), ['close']);
  assert.deepEqual(listTokens(['Upgrade']), ['upgrade']);
  assert.deepEqual(listTokens(['']), []);
  assert.deepEqual(listTokens(['  ']), []);
  assert.deepEqual(listTokens(['Upgrade, HTTP2-Settings']), ['upgrade', 'http2-settings']);
  assert.deepEqual(listTokens(['gzip', 'Chunked']), ['gzip', 'chunked']);
});

test('knownPrefix matches a well-known name of either case only when exactly followed by a colon', async () => {
  const { knownPrefix } = await import('./fields.ts');
  const b = (s: string) => Buffer.from(s, 'latin1');
  const at = (s: string) => knownPrefix(b(s), 0, s.length);
  assert.equal(at('Content-Length: 5'), 'content-length');
  assert.equal(at('HOST:x'), 'host');
  assert.equal(at('X-B3-TraceId: 1'), 'x-b3-traceid');
  assert.equal(at('x-b3-spanid'), undefined, 'no colon');
  assert.equal(knownPrefix(b('x-b3-spanid: 1'), 0, 11), undefined, 'the colon must lie before end');
  assert.equal(at('host :x'), undefined, 'space before the colon is not a match');
  assert.equal(at('hostx: y'), undefined);
  // Bytes that fold to '-' or a digit under | 0x20 are not those characters.
  assert.equal(at('keep\ralive: 1'), undefined);
  assert.equal(at('x-b\x13-traceid: 1'), undefined);
  assert.equal(at('Keep_Alive: 1'), undefined);
  assert.equal(at('\x08ost: 1'), undefined);
});

test('parseFieldLines gives the same names through knownPrefix and the token path', () => {
  const raw = 'Host: a\r\nX-Custom: b\r\nkeep-ALIVE: c\r\nX-B3-Sampled: 1\r\n';
  const buf = Buffer.from(raw, 'latin1');
  const out: string[] = [];
  assert.equal(parseFieldLines(buf, 0, buf.length, out, 100, raw, 0), '');
  assert.deepEqual(out, ['host', 'a', 'x-custom', 'b', 'keep-alive', 'c', 'x-b3-sampled', '1']);
  for (const bad of ['keep\ralive: 1\r\n', 'ho\x00st: 1\r\n']) {
    const bb = Buffer.from(bad, 'latin1');
    assert.notEqual(parseFieldLines(bb, 0, bb.length, [], 100), '', JSON.stringify(bad));
  }
});
