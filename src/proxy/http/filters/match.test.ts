// proxy/http/filters: string and header matcher semantics (full-match regex, ignore case, invert, present, range).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderMatcher } from '../../config/types.ts';
import { matchString, matchHeader, matchAllHeaders, matchAnyHeader, withPseudoHeaders } from './match.ts';

const hdrs = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n] });
const sm = (kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex', value: string, ignoreCase = false) => ({ kind, value, ignoreCase });

test('string matchers', () => {
  assert.equal(matchString(sm('exact', 'a'), 'a'), true);
  assert.equal(matchString(sm('exact', 'A', true), 'a'), true);
  assert.equal(matchString(sm('prefix', '/api'), '/api/v1'), true);
  assert.equal(matchString(sm('suffix', '.io'), 'x.io'), true);
  assert.equal(matchString(sm('contains', 'mid'), 'amidb'), true);
  assert.equal(matchString(sm('regex', '\\d{3}'), '123'), true);
  assert.equal(matchString(sm('regex', '\\d{3}'), '1234'), false); // whole value must match
  assert.equal(matchString(sm('regex', '('), '('), false); // invalid pattern matches nothing
});

test('header matchers: present, invert, range, missing-as-empty', () => {
  const present: HeaderMatcher = { name: 'x', match: { kind: 'present', present: true }, invert: false, treatMissingAsEmpty: false };
  assert.equal(matchHeader(present, hdrs({ x: '' })), true);
  assert.equal(matchHeader(present, hdrs()), false);
  const absent: HeaderMatcher = { ...present, match: { kind: 'present', present: false } };
  assert.equal(matchHeader(absent, hdrs()), true);
  const inv: HeaderMatcher = { name: 'x', match: { kind: 'string', string: sm('exact', 'a') }, invert: true, treatMissingAsEmpty: false };
  assert.equal(matchHeader(inv, hdrs({ x: 'b' })), true);
  assert.equal(matchHeader(inv, hdrs()), false);
  const range: HeaderMatcher = { name: 'n', match: { kind: 'range', start: 10, end: 20 }, invert: false, treatMissingAsEmpty: false };
  assert.equal(matchHeader(range, hdrs({ n: '19' })), true);
  assert.equal(matchHeader(range, hdrs({ n: '20' })), false);
  assert.equal(matchHeader(range, hdrs({ n: '1x' })), false);
  const empty: HeaderMatcher = { name: 'x', match: { kind: 'string', string: sm('exact', '') }, invert: false, treatMissingAsEmpty: true };
  assert.equal(matchHeader(empty, hdrs()), true);
  assert.equal(matchAllHeaders([], hdrs()), true);
  assert.equal(matchAnyHeader([], hdrs()), false);
  assert.equal(matchAllHeaders([present, range], hdrs({ x: '1', n: '15' })), true);
});

test('withPseudoHeaders answers :method/:path/:authority for HTTP/1.1 requests', () => {
  const h = withPseudoHeaders(hdrs({ host: 'reviews:9080', 'x-a': '1' }), { method: 'GET', path: '/p' });
  assert.equal(h.get(':method'), 'GET');
  assert.equal(h.get(':path'), '/p');
  assert.equal(h.get(':authority'), 'reviews:9080');
  assert.equal(h.get(':scheme'), undefined);
  assert.equal(h.get('x-a'), '1');
  const m: HeaderMatcher = { name: ':method', match: { kind: 'string', string: sm('exact', 'GET') }, invert: false, treatMissingAsEmpty: false };
  assert.equal(matchHeader(m, h), true);
});
