// proxy/router: unit tests for the small helpers (ports in authorities, grpc-timeout units, regex rewrites, queries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portOf, stripPort } from './vhost.ts';
import { applyRegexRewrite, compileRegexRewrite, grpcTimeoutMs, splitPath } from './rewrite.ts';
import { parseQuery, compileStringMatch } from './match.ts';

test('authority ports, IPv4 names and IPv6 literals', () => {
  assert.equal(stripPort('a.b:80'), 'a.b');
  assert.equal(stripPort('a.b'), 'a.b');
  assert.equal(stripPort('[::1]:8080'), '[::1]');
  assert.equal(stripPort('[::1]'), '[::1]');
  assert.equal(stripPort('::1'), '::1', 'a bare IPv6 address has no port to strip');
  assert.equal(portOf('a.b:8080'), 8080);
  assert.equal(portOf('[::1]:443'), 443);
  assert.equal(portOf('[::1]'), undefined);
  assert.equal(portOf('a.b:x'), undefined);
  assert.equal(portOf('a.b:70000'), undefined);
});

test('grpc-timeout units', () => {
  assert.equal(grpcTimeoutMs('2H'), 7_200_000);
  assert.equal(grpcTimeoutMs('3M'), 180_000);
  assert.equal(grpcTimeoutMs('5S'), 5000);
  assert.equal(grpcTimeoutMs('250m'), 250);
  assert.equal(grpcTimeoutMs('1500u'), 2);
  assert.equal(grpcTimeoutMs('1n'), 1);
  assert.equal(grpcTimeoutMs('123456789S'), undefined, 'at most 8 digits');
  assert.equal(grpcTimeoutMs('5s'), undefined);
  assert.equal(grpcTimeoutMs(undefined), undefined);
});

test('regex rewrite: RE2 backreferences, literal dollars, query kept, compiled once and reusable', () => {
  const r = compileRegexRewrite({ regex: '^/service/([^/]+)(/.*)$', substitution: '\\2/instance/\\1' })!;
  assert.equal(applyRegexRewrite('/service/foo/v1/api?x=1', r), '/v1/api/instance/foo?x=1');
  assert.equal(applyRegexRewrite('/service/bar/z', r), '/z/instance/bar', 'the global regex is reset between uses');
  const d = compileRegexRewrite({ regex: 'o', substitution: '$1' })!;
  assert.equal(applyRegexRewrite('/foo', d), '/f$1$1');
  assert.deepEqual(splitPath('/a?b?c'), ['/a', '?b?c']);
});

test('query parsing keeps the first value and decodes', () => {
  const q = parseQuery('a=1&a=2&b=%2Fx&c&d=a+b&bad=%E0%A4%A');
  assert.equal(q.get('a'), '1');
  assert.equal(q.get('b'), '/x');
  assert.equal(q.get('c'), '');
  assert.equal(q.get('d'), 'a b');
  assert.equal(q.get('bad'), '%E0%A4%A', 'malformed escapes are kept as-is, never thrown');
});

test('string matchers honour ignore_case, and regexes are full matches', () => {
  assert.equal(compileStringMatch({ kind: 'suffix', value: '.COM', ignoreCase: true })('x.com'), true);
  assert.equal(compileStringMatch({ kind: 'contains', value: 'Mid', ignoreCase: false })('amidst'), false);
  assert.equal(compileStringMatch({ kind: 'regex', value: 'ab|cd', ignoreCase: false })('abcd'), false);
  assert.equal(compileStringMatch({ kind: 'regex', value: 'ab|cd', ignoreCase: false })('cd'), true);
});
