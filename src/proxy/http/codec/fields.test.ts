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
