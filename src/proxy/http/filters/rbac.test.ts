// proxy/http/filters: RBAC matcher tests — each principal / permission / value matcher, actions, shadow rules, stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RbacPermission, RbacPrincipal, RbacRulesConfig } from '../../config/authz-types.ts';
import type { StringMatch } from '../../config/types.ts';
import { compileCidr, compilePermission, compilePrincipal, compileRules, compileValue, type RbacInput } from './rbac-match.ts';
import { RbacFilter } from './rbac.ts';
import { remoteIp } from './authz.ts';

const exact = (value: string): StringMatch => ({ kind: 'exact', value, ignoreCase: false });
const prefix = (value: string): StringMatch => ({ kind: 'prefix', value, ignoreCase: false });
const regex = (value: string): StringMatch => ({ kind: 'regex', value, ignoreCase: false });

function input(over: Partial<RbacInput> & { hdrs?: Record<string, string> } = {}): RbacInput {
  const hdrs = over.hdrs ?? { ':method': 'GET', ':authority': 'svc.local:8080' };
  return {
    headers: { get: (n) => hdrs[n] }, path: '/api/items',
    directRemoteIp: '10.1.2.3', remoteIp: '203.0.113.9', destinationIp: '10.9.9.9', destinationPort: 8080,
    tls: true, peer: { uris: ['spiffe://cluster.local/ns/a/sa/x'], dns: [] }, sni: 'svc.local', ...over,
  };
}

test('CIDR ranges: IPv4, IPv6, v4-mapped, /0 and /32', () => {
  assert.equal(compileCidr({ addressPrefix: '10.0.0.0', prefixLen: 8 })('10.200.1.1'), true);
  assert.equal(compileCidr({ addressPrefix: '10.0.0.0', prefixLen: 8 })('11.0.0.1'), false);
  assert.equal(compileCidr({ addressPrefix: '10.0.0.0', prefixLen: 8 })('::ffff:10.3.4.5'), true);
  assert.equal(compileCidr({ addressPrefix: '127.0.0.1', prefixLen: 32 })('127.0.0.2'), false);
  assert.equal(compileCidr({ addressPrefix: '0.0.0.0', prefixLen: 0 })('8.8.8.8'), true);
  assert.equal(compileCidr({ addressPrefix: '2001:db8::', prefixLen: 32 })('2001:db8:1::5'), true);
  assert.equal(compileCidr({ addressPrefix: '2001:db8::', prefixLen: 32 })('2001:db9::5'), false);
  assert.equal(compileCidr({ addressPrefix: '10.0.0.0', prefixLen: 8 })('garbage'), false);
});

test('principals: authenticated (exact, regex, any peer), ips, header, path, not/and/or', () => {
  const p = (x: RbacPrincipal, i = input()): boolean => compilePrincipal(x)(i);
  assert.equal(p({ kind: 'authenticated', name: exact('spiffe://cluster.local/ns/a/sa/x') }), true);
  assert.equal(p({ kind: 'authenticated', name: exact('spiffe://cluster.local/ns/a/sa/y') }), false);
  assert.equal(p({ kind: 'authenticated', name: regex('.*/ns/a/.*') }), true);
  assert.equal(p({ kind: 'authenticated', name: regex('.*/ns/b/.*') }), false);
  assert.equal(p({ kind: 'authenticated', name: regex('.+') }, input({ tls: false, peer: undefined })), false, 'plaintext has no principal');
  assert.equal(p({ kind: 'authenticated' }), true);
  assert.equal(p({ kind: 'authenticated' }, input({ tls: false })), false);
  assert.equal(p({ kind: 'direct_remote_ip', cidr: { addressPrefix: '10.1.0.0', prefixLen: 16 } }), true);
  assert.equal(p({ kind: 'remote_ip', cidr: { addressPrefix: '10.1.0.0', prefixLen: 16 } }), false);
  assert.equal(p({ kind: 'remote_ip', cidr: { addressPrefix: '203.0.113.0', prefixLen: 24 } }), true);
  assert.equal(p({ kind: 'header', header: { name: ':method', match: { kind: 'string', string: exact('GET') }, invert: false, treatMissingAsEmpty: false } }), true);
  assert.equal(p({ kind: 'header', header: { name: 'x-a', match: { kind: 'present', present: true }, invert: false, treatMissingAsEmpty: false } }), false);
  assert.equal(p({ kind: 'url_path', path: prefix('/api') }), true);
  assert.equal(p({ kind: 'not', id: { kind: 'any' } }), false);
  assert.equal(p({ kind: 'and', ids: [{ kind: 'any' }, { kind: 'url_path', path: prefix('/x') }] }), false);
  assert.equal(p({ kind: 'or', ids: [{ kind: 'url_path', path: prefix('/x') }, { kind: 'any' }] }), true);
});

test('permissions: header, url_path without query, ports, port range, destination ip, sni, not', () => {
  const q = (x: RbacPermission, i = input()): boolean => compilePermission(x)(i);
  const hm = (name: string, s: StringMatch) => ({ kind: 'header' as const, header: { name, match: { kind: 'string' as const, string: s }, invert: false, treatMissingAsEmpty: false } });
  assert.equal(q(hm(':authority', { kind: 'prefix', value: 'SVC.', ignoreCase: true })), true);
  assert.equal(q(hm(':method', exact('POST'))), false);
  assert.equal(q({ kind: 'url_path', path: exact('/api/items') }), true);
  assert.equal(q({ kind: 'url_path', path: { kind: 'suffix', value: 'items', ignoreCase: false } }), true);
  assert.equal(q({ kind: 'destination_port', port: 8080 }), true);
  assert.equal(q({ kind: 'destination_port', port: 9090 }), false);
  assert.equal(q({ kind: 'destination_port_range', start: 8000, end: 8080 }), false, 'end is exclusive');
  assert.equal(q({ kind: 'destination_port_range', start: 8000, end: 8081 }), true);
  assert.equal(q({ kind: 'destination_ip', cidr: { addressPrefix: '10.9.0.0', prefixLen: 16 } }), true);
  assert.equal(q({ kind: 'requested_server_name', name: { kind: 'suffix', value: '.local', ignoreCase: false } }), true);
  assert.equal(q({ kind: 'not', rule: { kind: 'destination_port', port: 8080 } }), false);
  // A connection (network RBAC) has no headers or path: those rules never match there.
  assert.equal(q({ kind: 'url_path', path: prefix('/') }, input({ headers: undefined, path: undefined })), false);
  assert.equal(q(hm(':method', exact('GET')), input({ headers: undefined })), false);
});

test('metadata / value matchers: string, list, present, bool, double, null, or, invert, missing path', () => {
  const metadata = new Map([['envoy.filters.http.jwt_authn', { payload: { iss: 'https://i', sub: 'alice', groups: ['dev', 'admin'], n: 3, ok: true, z: null } }]]);
  const i = input({ metadata });
  const m = (path: string[], value: Parameters<typeof compileValue>[0], invert = false): boolean =>
    compilePrincipal({ kind: 'metadata', metadata: { filter: 'envoy.filters.http.jwt_authn', path, value, invert } })(i);
  assert.equal(m(['payload', 'iss'], { kind: 'string', string: exact('https://i') }), true);
  assert.equal(m(['payload', 'sub'], { kind: 'string', string: exact('bob') }), false);
  assert.equal(m(['payload', 'groups'], { kind: 'list', oneOf: { kind: 'string', string: exact('admin') } }), true);
  assert.equal(m(['payload', 'groups'], { kind: 'string', string: exact('admin') }), false, 'a list is not a string');
  assert.equal(m(['payload', 'iss'], { kind: 'present', present: true }), true);
  assert.equal(m(['payload', 'missing'], { kind: 'present', present: true }), false);
  assert.equal(m(['payload', 'missing'], { kind: 'present', present: true }, true), true, 'inverted');
  assert.equal(m(['payload', 'ok'], { kind: 'bool', value: true }), true);
  assert.equal(m(['payload', 'n'], { kind: 'double', range: { start: 1, end: 4 } }), true);
  assert.equal(m(['payload', 'n'], { kind: 'double', exact: 4 }), false);
  assert.equal(m(['payload', 'z'], { kind: 'null' }), true);
  assert.equal(m(['payload', 'groups'], { kind: 'or', any: [{ kind: 'string', string: exact('dev') }, { kind: 'list', oneOf: { kind: 'string', string: exact('dev') } }] }), true);
  assert.equal(compilePrincipal({ kind: 'metadata', metadata: { filter: 'other', path: ['payload'], value: { kind: 'present', present: true }, invert: false } })(i), false);
});

const policy = (name: string, principals: RbacPrincipal[], permissions: RbacPermission[] = [{ kind: 'any' }]) => ({ name, principals, permissions });

test('actions: ALLOW (empty = deny all), DENY names the first matching policy by name, LOG always allows', () => {
  const x = { kind: 'authenticated' as const, name: exact('spiffe://cluster.local/ns/a/sa/x') };
  const allow: RbacRulesConfig = { action: 'ALLOW', policies: [policy('p1', [x])] };
  assert.deepEqual(compileRules(allow).evaluate(input()), { allowed: true, policy: 'p1' });
  assert.deepEqual(compileRules(allow).evaluate(input({ peer: { uris: ['spiffe://other'], dns: [] } })), { allowed: false, policy: undefined });
  assert.equal(compileRules({ action: 'ALLOW', policies: [] }).evaluate(input()).allowed, false);
  const deny: RbacRulesConfig = { action: 'DENY', policies: [policy('a-first', [{ kind: 'any' }], [{ kind: 'url_path', path: prefix('/api') }]), policy('b-second', [{ kind: 'any' }])] };
  assert.deepEqual(compileRules(deny).evaluate(input()), { allowed: false, policy: 'a-first' });
  assert.deepEqual(compileRules(deny).evaluate(input({ path: '/other' })), { allowed: false, policy: 'b-second' });
  assert.equal(compileRules({ action: 'LOG', policies: [policy('l', [{ kind: 'any' }])] }).evaluate(input()).allowed, true);
});

test('RbacFilter: enforced + shadow counters under Envoy names, response code details', () => {
  const stats = new Map<string, number>();
  const f = new RbacFilter('envoy.filters.http.rbac', {
    statPrefix: '', shadowStatPrefix: 'istio_dry_run_allow_',
    rules: { action: 'DENY', policies: [policy('ns[a]-policy[deny-admin]-rule[0]', [{ kind: 'any' }], [{ kind: 'url_path', path: prefix('/admin') }])] },
    shadowRules: { action: 'ALLOW', policies: [] },
  }, 'http.inbound_8080.');
  assert.deepEqual(f.check(input(), stats), { allowed: true });
  const d = f.check(input({ path: '/admin/x' }), stats);
  assert.equal(d.allowed, false);
  assert.equal(d.details, 'rbac_access_denied_matched_policy[ns[a]-policy[deny-admin]-rule[0]]');
  assert.equal(stats.get('http.inbound_8080.rbac.allowed'), 1);
  assert.equal(stats.get('http.inbound_8080.rbac.denied'), 1);
  assert.equal(stats.get('http.inbound_8080.rbac.istio_dry_run_allow_shadow_denied'), 2);
  const none = new RbacFilter('r', { statPrefix: '', shadowStatPrefix: '', rules: { action: 'ALLOW', policies: [] } }, 'http.x.').check(input(), stats);
  assert.equal(none.details, 'rbac_access_denied_matched_policy[none]');
});

test('remote_ip follows x-forwarded-for per use_remote_address / xff_num_trusted_hops', () => {
  const req = { get: (n: string) => (n === 'x-forwarded-for' ? '1.1.1.1, 2.2.2.2, 3.3.3.3' : undefined) };
  assert.equal(remoteIp(req, '9.9.9.9', { useRemoteAddress: false, xffNumTrustedHops: 0 }), '3.3.3.3');
  assert.equal(remoteIp(req, '9.9.9.9', { useRemoteAddress: false, xffNumTrustedHops: 1 }), '2.2.2.2');
  assert.equal(remoteIp(req, '9.9.9.9', { useRemoteAddress: true, xffNumTrustedHops: 0 }), '9.9.9.9');
  assert.equal(remoteIp(req, '9.9.9.9', { useRemoteAddress: true, xffNumTrustedHops: 1 }), '3.3.3.3');
  assert.equal(remoteIp({ get: () => undefined }, '9.9.9.9', { useRemoteAddress: false, xffNumTrustedHops: 0 }), '9.9.9.9');
});
