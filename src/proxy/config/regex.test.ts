// proxy/config: RE2 -> JavaScript regex translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateRe2 } from './regex.ts';
import { decodeRouteConfiguration } from './decode-route.ts';

test('named groups, \\A/\\z anchors and a leading (?i) translate; classes are left alone', () => {
  assert.deepEqual(translateRe2('(?P<id>[0-9]+)').value, { source: '(?<id>[0-9]+)', ignoreCase: false });
  assert.deepEqual(translateRe2('\\A/api\\z').value, { source: '^/api$', ignoreCase: false });
  assert.deepEqual(translateRe2('(?i)/Foo').value, { source: '/Foo', ignoreCase: true });
  assert.deepEqual(translateRe2('[\\A(?P<]').value, { source: '[\\A(?P<]', ignoreCase: false });
  assert.deepEqual(translateRe2('(?:a|b)\\.c').value, { source: '(?:a|b)\\.c', ignoreCase: false });
});

test('unsupported or invalid regexes are errors, not silent mismatches', () => {
  assert.match(translateRe2('a(?i:b)').error ?? '', /inline flags/);
  assert.match(translateRe2('(?s).*').error ?? '', /inline flags/);
  assert.ok(translateRe2('([').error);
});

test('decoded route config carries translated regexes; (?i) on a header matcher becomes ignoreCase', () => {
  const d = decodeRouteConfiguration({
    name: 'r',
    virtual_hosts: [{ name: 'v', domains: ['*'], routes: [
      { match: { safe_regex: { regex: '\\A/u/(?P<id>\\d+)\\z' }, headers: [{ name: 'x', safe_regex_match: { regex: '(?i)abc' } }] }, route: { cluster: 'c' } },
    ] }],
  });
  assert.equal(d.errors, undefined);
  const m = d.value!.virtualHosts[0]!.routes[0]!.match;
  assert.deepEqual(m.path, { kind: 'regex', regex: '^/u/(?<id>\\d+)$' });
  assert.deepEqual(m.headers[0]!.match, { kind: 'string', string: { kind: 'regex', value: 'abc', ignoreCase: true } });
  const bad = decodeRouteConfiguration({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex: '(?i)/x' } }, route: { cluster: 'c' } }] }] });
  assert.equal(bad.errors?.[0]?.field, 'virtual_hosts[0].routes[0].match.safe_regex.regex');
});
