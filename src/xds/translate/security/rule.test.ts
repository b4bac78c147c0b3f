// xds/translate/security: unit tests for rule translation (from/to/when combination, every condition key, TCP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateRule, conditionMatcher, bracketKeys, type RuleContext } from './rule.ts';
import { JWT_FILTER } from './matchers.ts';

const http: RuleContext = { namespace: 'ns1', tcp: false, onHttpOnly: 'drop-field' };
const tcpAllow: RuleContext = { namespace: 'ns1', tcp: true, onHttpOnly: 'drop-rule' };
const tcpDeny: RuleContext = { namespace: 'ns1', tcp: true, onHttpOnly: 'drop-field' };

test('an empty rule matches everything', () => {
  assert.deepEqual(translateRule({}, http).policy, { permissions: [{ any: true }], principals: [{ any: true }] });
  assert.deepEqual(translateRule(undefined, http).policy, { permissions: [{ any: true }], principals: [{ any: true }] });
});

test('from entries become ORed principals, to entries ORed permissions, when ANDed into each', () => {
  const r = translateRule({
    from: [{ source: { ipBlocks: ['1.1.1.1'] } }, { source: { namespaces: ['a'] } }],
    to: [{ operation: { ports: ['80'] } }, { operation: { ports: ['81'] } }],
    when: [{ key: 'source.ip', values: ['2.2.2.2'] }, { key: 'destination.port', values: ['90'] }],
  }, http).policy as { permissions: unknown[]; principals: unknown[] };
  const ip = (a: string) => ({ direct_remote_ip: { address_prefix: a, prefix_len: { value: 32 } } });
  assert.deepEqual(r.principals, [
    { and_ids: { ids: [ip('1.1.1.1'), ip('2.2.2.2')] } },
    { and_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }, ip('2.2.2.2')] } },
  ]);
  assert.deepEqual(r.permissions, [
    { and_rules: { rules: [{ destination_port: 80 }, { destination_port: 90 }] } },
    { and_rules: { rules: [{ destination_port: 81 }, { destination_port: 90 }] } },
  ]);
});

test('values are ORed, notValues negated, both ANDed', () => {
  const r = translateRule({ to: [{ operation: { paths: ['/a*', '/b'], notPaths: ['/a/x'] } }] }, http).policy as { permissions: unknown[] };
  assert.deepEqual(r.permissions, [{ and_rules: { rules: [
    { or_rules: { rules: [{ url_path: { path: { prefix: '/a' } } }, { url_path: { path: { exact: '/b' } } }] } },
    { not_rule: { url_path: { path: { exact: '/a/x' } } } },
  ] } }]);
});

test('every when key translates to its Envoy matcher', () => {
  const one = (key: string, v = 'v') => {
    const m = conditionMatcher(key, http);
    assert.ok(m, key);
    return 'principal' in m ? { principal: m.principal(v) } : { permission: m.permission(v) };
  };
  assert.deepEqual(one('request.headers[x-a]'), { principal: { header: { name: 'x-a', string_match: { exact: 'v' } } } });
  assert.deepEqual(one('remote.ip', '1.2.3.4'), { principal: { remote_ip: { address_prefix: '1.2.3.4', prefix_len: { value: 32 } } } });
  assert.deepEqual(one('source.principal', 'td/ns/a/sa/b'), { principal: { authenticated: { principal_name: { exact: 'spiffe://td/ns/a/sa/b' } } } });
  assert.deepEqual(one('source.serviceAccount', 'sa'), { principal: { authenticated: { principal_name: { suffix: '/ns/ns1/sa/sa' } } } });
  assert.deepEqual(one('request.auth.presenter'), { principal: { metadata: { filter: JWT_FILTER, path: [{ key: 'payload' }, { key: 'azp' }], value: { string_match: { exact: 'v' } } } } });
  assert.deepEqual(one('destination.ip', '10.0.0.0/8'), { permission: { destination_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } } });
  assert.deepEqual(one('connection.sni', 'a.b'), { permission: { requested_server_name: { exact: 'a.b' } } });
  assert.deepEqual(one('experimental.envoy.filters.network.mysql_proxy[db.table]', '[update]'), {
    permission: { metadata: { filter: 'envoy.filters.network.mysql_proxy', path: [{ key: 'db.table' }], value: { string_match: { exact: '[update]' } } } },
  });
  const claims = one('request.auth.claims[a][b]') as { principal: { or_ids: { ids: { metadata: { path: unknown } }[] } } };
  assert.deepEqual(claims.principal.or_ids.ids[0]!.metadata.path, [{ key: 'payload' }, { key: 'a' }, { key: 'b' }]);
  assert.equal(conditionMatcher('request.regex.headers[x]', http), undefined);
});

test('an unknown when key makes its rule match nothing (never wider)', () => {
  const r = translateRule({ when: [{ key: 'source.labels[app]', values: ['x'] }] }, http);
  assert.deepEqual(r.unknownKeys, ['source.labels[app]']);
  assert.deepEqual((r.policy as { permissions: unknown[] }).permissions, [{ not_rule: { any: true } }]);
});

test('bracketKeys parses a[b][c] and rejects junk', () => {
  assert.deepEqual(bracketKeys('request.auth.claims[a][b]', 'request.auth.claims'), ['a', 'b']);
  assert.equal(bracketKeys('request.auth.claims[a]x', 'request.auth.claims'), undefined);
  assert.equal(bracketKeys('request.auth.claims', 'request.auth.claims'), undefined);
});

test('TCP: an ALLOW rule with HTTP-only attributes is dropped; a DENY rule loses them', () => {
  const rule = { from: [{ source: { namespaces: ['a'], requestPrincipals: ['*'] } }], to: [{ operation: { methods: ['GET'], ports: ['80'] } }] };
  assert.equal(translateRule(rule, tcpAllow).policy, undefined);
  assert.equal(translateRule(rule, tcpAllow).httpOnly, true);
  assert.deepEqual(translateRule(rule, tcpDeny).policy, {
    permissions: [{ destination_port: 80 }],
    principals: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }],
  });
  const hdr = { when: [{ key: 'request.headers[x]', values: ['1'] }] };
  assert.deepEqual(translateRule(hdr, tcpDeny).policy, { permissions: [{ any: true }], principals: [{ any: true }] });
  // non-HTTP rules are untouched on TCP
  const plain = { from: [{ source: { principals: ['p'] } }] };
  assert.deepEqual(translateRule(plain, tcpAllow).policy, translateRule(plain, http).policy);
});

test('badly typed input never throws', () => {
  const bad = { from: 'x', to: [null, { operation: 5 }], when: [null, { key: 7 }, { key: 'source.ip', values: 'x' }] } as never;
  assert.doesNotThrow(() => translateRule(bad, http));
});
