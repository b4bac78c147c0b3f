// xds/translate/routes: unit tests for match translation and per-proxy match filtering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMatch, matchApplies, isCatchAllMatch, gatewayKey, headerMatcher } from './match.ts';
import type { Proxy } from '../../../model/types.ts';

const proxy = { namespace: 'default', labels: { app: 'productpage', version: 'v1' } } as unknown as Proxy;

test('no match is prefix "/" and a catch-all', () => {
  assert.deepEqual(translateMatch(undefined), { prefix: '/' });
  assert.ok(isCatchAllMatch(translateMatch(undefined)));
});

test('uri exact/prefix/regex; ignoreUriCase; pseudo-headers after sorted headers', () => {
  assert.deepEqual(translateMatch({ uri: { exact: '/a' } }), { path: '/a', case_sensitive: { value: true } });
  assert.deepEqual(translateMatch({ uri: { prefix: '/p' }, ignoreUriCase: true }), { prefix: '/p', case_sensitive: { value: false } });
  const m = translateMatch({
    uri: { regex: '/r/.*' }, method: { exact: 'GET' }, authority: { prefix: 'api.' }, scheme: { exact: 'https' },
    headers: { zeta: { exact: 'z' }, alpha: { prefix: 'a' }, beta: {} },
  });
  assert.deepEqual(m.safe_regex, { regex: '/r/.*' });
  assert.deepEqual((m.headers as any[]).map((h) => h.name), ['alpha', 'beta', 'zeta', ':method', ':authority', ':scheme']);
  assert.deepEqual((m.headers as any[])[1], { name: 'beta', present_match: true });
  assert.ok(!isCatchAllMatch(m));
});

test('regex "*" means present; withoutHeaders inverts and treats a missing header as empty', () => {
  assert.deepEqual(headerMatcher('x', { regex: '*' }), { name: 'x', present_match: true });
  const m = translateMatch({ withoutHeaders: { 'x-a': { exact: 'v' }, 'x-b': {} } });
  assert.deepEqual(m.headers, [
    { name: 'x-a', string_match: { exact: 'v' }, invert_match: true, treat_missing_header_as_empty: true },
    { name: 'x-b', present_match: true, invert_match: true },
  ]);
});

test('query parameters: exact, regex, presence', () => {
  const m = translateMatch({ queryParams: { a: { exact: '1' }, b: { regex: '\\d+' }, c: {} } });
  assert.deepEqual(m.query_parameters, [
    { name: 'a', string_match: { exact: '1' } },
    { name: 'b', string_match: { safe_regex: { regex: '\\d+' } } },
    { name: 'c', present_match: true },
  ]);
  assert.ok(!isCatchAllMatch(m));
});

test('matchApplies: port, sourceLabels subset, sourceNamespace, gateways override', () => {
  const mesh = new Set(['mesh']);
  assert.ok(matchApplies({ port: 9080 }, proxy, 9080, mesh, 'default'));
  assert.ok(!matchApplies({ port: 9081 }, proxy, 9080, mesh, 'default'));
  assert.ok(matchApplies({ sourceLabels: { app: 'productpage' } }, proxy, 9080, mesh, 'default'));
  assert.ok(!matchApplies({ sourceLabels: { app: 'productpage', version: 'v2' } }, proxy, 9080, mesh, 'default'));
  assert.ok(!matchApplies({ sourceNamespace: 'other' }, proxy, 9080, mesh, 'default'));
  assert.ok(matchApplies({ sourceNamespace: 'default' }, proxy, 9080, mesh, 'default'));
  assert.ok(!matchApplies({ gateways: ['gw'] }, proxy, 80, mesh, 'default'));
  assert.ok(matchApplies({ gateways: ['gw'] }, proxy, 80, new Set(['default/gw']), 'default'));
  assert.ok(matchApplies({ gateways: ['mesh'], sourceLabels: { app: 'nope' } }, proxy, 80, mesh, 'default'), 'gateways take precedence over sourceLabels');
});

test('gatewayKey resolves short gateway names in the VirtualService namespace', () => {
  assert.equal(gatewayKey('gw', 'ns1'), 'ns1/gw');
  assert.equal(gatewayKey('other/gw', 'ns1'), 'other/gw');
  assert.equal(gatewayKey('mesh', 'ns1'), 'mesh');
});
