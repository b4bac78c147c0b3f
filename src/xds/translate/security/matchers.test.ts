// xds/translate/security: unit tests for the matcher building blocks (Istio value syntax -> Envoy matchers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  stringMatcher, cidrRange, principalName, namespacePrincipal, serviceAccountPrincipal, trustDomainPrincipal, ipPrincipal,
  requestPrincipal, claimPrincipal, hostPermission, methodPermission, pathPermission, portPermission, destinationIpPermission,
  sniPermission, andIds, orIds, andRules, orRules, JWT_FILTER,
} from './matchers.ts';
import { normalize, TypeUrl } from '../../../envoy/protos.ts';

test('stringMatcher: exact, prefix, suffix, presence, ignore_case, prefix option; only one leading or trailing "*" is a wildcard (Istio)', () => {
  assert.deepEqual(stringMatcher('/a'), { exact: '/a' });
  assert.deepEqual(stringMatcher('/a*'), { prefix: '/a' });
  assert.deepEqual(stringMatcher('*.json'), { suffix: '.json' });
  assert.deepEqual(stringMatcher('*mid*'), { suffix: 'mid*' }, 'Istio: suffix with a literal star, not contains (review F5)');
  assert.deepEqual(stringMatcher('a*b'), { exact: 'a*b' }, 'an inner star is literal');
  assert.deepEqual(stringMatcher('*'), { safe_regex: { regex: '.+' } });
  assert.deepEqual(stringMatcher('Host', { ignoreCase: true }), { exact: 'Host', ignore_case: true });
  assert.deepEqual(stringMatcher('td/ns/a/*', { prefix: 'spiffe://' }), { prefix: 'spiffe://td/ns/a/' });
  assert.deepEqual(stringMatcher('*/sa/x', { prefix: 'spiffe://' }), { safe_regex: { regex: 'spiffe://.*/sa/x' } });
  assert.deepEqual(stringMatcher('*admin*', { prefix: 'spiffe://' }), { safe_regex: { regex: 'spiffe://.*admin\\*' } }, 'the rest is literal');
  assert.deepEqual(stringMatcher('*.local', { prefix: 'spiffe://' }), { safe_regex: { regex: 'spiffe://.*\\.local' } });
});

test('cidrRange: addresses, prefixes, IPv6 and rejects', () => {
  assert.deepEqual(cidrRange('10.1.2.3'), { address_prefix: '10.1.2.3', prefix_len: { value: 32 } });
  assert.deepEqual(cidrRange('10.0.0.0/8'), { address_prefix: '10.0.0.0', prefix_len: { value: 8 } });
  assert.deepEqual(cidrRange('2001:db8::/32'), { address_prefix: '2001:db8::', prefix_len: { value: 32 } });
  assert.deepEqual(cidrRange('::1'), { address_prefix: '::1', prefix_len: { value: 128 } });
  for (const bad of ['10.0.0.0/33', '300.1.1.1', 'host.example', '10.0.0.0/x', '1.2.3.4/8/9', '']) assert.equal(cidrRange(bad), undefined, bad);
  // a bad block matches nothing rather than everything
  assert.deepEqual(ipPrincipal('nope', 'direct_remote_ip'), { not_id: { any: true } });
  assert.deepEqual(ipPrincipal('1.2.3.4', 'remote_ip'), { remote_ip: { address_prefix: '1.2.3.4', prefix_len: { value: 32 } } });
});

test('source principals: principals, namespaces, serviceAccounts, trustDomains', () => {
  assert.deepEqual(principalName('cluster.local/ns/a/sa/b'), { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/b' } } });
  assert.deepEqual(principalName('*'), { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } });
  assert.deepEqual(namespacePrincipal('prod'), { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/prod/.*' } } } });
  assert.deepEqual(namespacePrincipal('team-*'), { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/team-.*/.*' } } } });
  assert.deepEqual(namespacePrincipal('a.b'), { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a\\.b/.*' } } } });
  assert.deepEqual(serviceAccountPrincipal('ns1/sa1', 'x'), { authenticated: { principal_name: { suffix: '/ns/ns1/sa/sa1' } } });
  assert.deepEqual(serviceAccountPrincipal('sa1', 'polns'), { authenticated: { principal_name: { suffix: '/ns/polns/sa/sa1' } } });
  assert.deepEqual(trustDomainPrincipal('td.io'), { authenticated: { principal_name: { prefix: 'spiffe://td.io/' } } });
  assert.deepEqual(trustDomainPrincipal('*'), { authenticated: { principal_name: { prefix: 'spiffe://' } } });
});

const md = (key: string, value: object) => ({ metadata: { filter: JWT_FILTER, path: [{ key: 'payload' }, { key }], value } });

const rp = (iss: object, sub: object) => ({ and_ids: { ids: [md('iss', { string_match: iss }), md('sub', { string_match: sub })] } });
const ANY = { safe_regex: { regex: '.+' } };

test('requestPrincipal: split at the last "/" (issuers are URLs); "*" needs both claims', () => {
  assert.deepEqual(requestPrincipal('*'), rp(ANY, ANY));
  assert.deepEqual(requestPrincipal('iss/sub'), rp({ exact: 'iss' }, { exact: 'sub' }));
  assert.deepEqual(requestPrincipal('https://a.io/path/u'), rp({ exact: 'https://a.io/path' }, { exact: 'u' }));
  assert.deepEqual(requestPrincipal('nosplit'), rp({ exact: 'nosplit' }, { exact: '' }));
});

test('requestPrincipal wildcards: prefix and suffix forms', () => {
  assert.deepEqual(requestPrincipal('https://a.io/al*'), rp({ exact: 'https://a.io' }, { prefix: 'al' }));
  assert.deepEqual(requestPrincipal('https://a.io/*'), rp({ exact: 'https://a.io' }, ANY));
  assert.deepEqual(requestPrincipal('https://a*'), rp({ exact: 'https:/' }, { prefix: 'a' }));
  assert.deepEqual(requestPrincipal('iss*'), rp({ prefix: 'iss' }, ANY));
  assert.deepEqual(requestPrincipal('*.io/bob'), rp({ suffix: '.io' }, { exact: 'bob' }));
  assert.deepEqual(requestPrincipal('*/bob'), rp(ANY, { exact: 'bob' }));
  assert.deepEqual(requestPrincipal('*@example.com'), rp(ANY, { suffix: '@example.com' }));
});

test('claimPrincipal matches a string claim or a list claim', () => {
  assert.deepEqual(claimPrincipal(['groups'], 'admins'), { or_ids: { ids: [
    md('groups', { string_match: { exact: 'admins' } }),
    md('groups', { list_match: { one_of: { string_match: { exact: 'admins' } } } }),
  ] } });
});

test('operation permissions: hosts, methods, paths, ports, destination ip, sni', () => {
  assert.deepEqual(hostPermission('*.example.com'), { header: { name: ':authority', string_match: { suffix: '.example.com', ignore_case: true } } });
  assert.deepEqual(hostPermission('*'), { header: { name: ':authority', present_match: true } });
  assert.deepEqual(methodPermission('GET'), { header: { name: ':method', string_match: { exact: 'GET' } } });
  assert.deepEqual(pathPermission('/api/*'), { url_path: { path: { prefix: '/api/' } } });
  assert.deepEqual(pathPermission('/u/{*}/p.json'), { url_path: { path: { safe_regex: { regex: '/u/[^/]+/p\\.json' } } } });
  assert.deepEqual(pathPermission('/files/{**}'), { url_path: { path: { safe_regex: { regex: '/files/.*' } } } });
  assert.deepEqual(portPermission('8080'), { destination_port: 8080 });
  assert.deepEqual(portPermission('http'), { not_rule: { any: true } });
  assert.deepEqual(portPermission('70000'), { not_rule: { any: true } });
  assert.deepEqual(destinationIpPermission('10.0.0.1'), { destination_ip: { address_prefix: '10.0.0.1', prefix_len: { value: 32 } } });
  assert.deepEqual(sniPermission('*.local'), { requested_server_name: { suffix: '.local' } });
});

test('combinators: empty, single, flattening', () => {
  assert.deepEqual(andIds([]), { any: true });
  assert.deepEqual(orIds([]), { not_id: { any: true } });
  assert.deepEqual(andRules([]), { any: true });
  assert.deepEqual(orRules([]), { not_rule: { any: true } });
  const a = { destination_port: 1 }, b = { destination_port: 2 }, c = { destination_port: 3 };
  assert.deepEqual(orRules([a]), a);
  assert.deepEqual(andRules([andRules([a, b]), c]), { and_rules: { rules: [a, b, c] } });
  assert.deepEqual(andIds([andIds([{ any: true }, { any: true }]), { any: true }]), { and_ids: { ids: [{ any: true }, { any: true }, { any: true }] } });
});

test('every matcher packs as Envoy rbac v3 (no field protobuf would drop)', () => {
  const principals = [principalName('a/b'), namespacePrincipal('x'), requestPrincipal('i/s*'), claimPrincipal(['a', 'b'], 'v'), ipPrincipal('1.2.3.0/24', 'direct_remote_ip')];
  const permissions = [hostPermission('h'), methodPermission('GET'), pathPermission('*x*'), portPermission('80'), sniPermission('s')];
  const cfg = { '@type': TypeUrl.HttpRbac, rules: { action: 'DENY', policies: { p: { permissions, principals } } } };
  const round = normalize(TypeUrl.HttpRbac, cfg) as { rules: { policies: { p: { permissions: unknown[]; principals: unknown[] } } } };
  assert.deepEqual(round.rules.policies.p.permissions, permissions);
  assert.deepEqual(round.rules.policies.p.principals, principals);
});
