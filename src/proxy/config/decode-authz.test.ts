// proxy/config: tests for RBAC / jwt_authn decoding — Istio-shaped configs through a real proto round trip, and
// NACKs with the precise field path for variants the proxy does not evaluate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, TypeUrl } from '../../envoy/protos.ts';
import { decodeAny, ResourceType } from './decode.ts';
import type { ListenerConfig } from './types.ts';

type Errs = { resource: string; field: string; message: string }[];
function decode(obj: Record<string, unknown>): { value?: ListenerConfig; errors?: Errs } {
  return decodeAny(ResourceType.Listener, pack(ResourceType.Listener, obj)).result as { value?: ListenerConfig; errors?: Errs };
}

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const NET_RBAC = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const JWT = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

function hcm(filters: unknown[]): Record<string, unknown> {
  return {
    name: 'inbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'inbound_0.0.0.0_8080', route_config: { name: 'r' }, http_filters: [...filters, router] } }] }],
  };
}

const spiffe = (s: string) => ({ authenticated: { principal_name: { exact: `spiffe://${s}` } } });
const reqPrincipal = {
  and_ids: { ids: [
    { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'iss' }], value: { string_match: { exact: 'https://issuer' } } } },
    { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'sub' }], value: { string_match: { exact: 'alice' } } } },
  ] },
};

test('an Istio-shaped HTTP RBAC decodes every principal / permission variant, policies in name order', () => {
  const rules = {
    action: 'DENY',
    policies: {
      'ns[b]-policy[p]-rule[0]': {
        permissions: [{ and_rules: { rules: [
          { or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'POST' } } }] } },
          { or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } },
          { or_rules: { rules: [{ destination_port: 8080 }, { destination_port_range: { start: 9000, end: 9100 } }] } },
          { not_rule: { destination_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } } },
          { requested_server_name: { suffix: '.local' } },
          { metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: 'groups' }], value: { list_match: { one_of: { string_match: { exact: 'admin' } } } } } },
        ] } }],
        principals: [{ and_ids: { ids: [
          { or_ids: { ids: [spiffe('cluster.local/ns/a/sa/x'), { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }] } },
          { not_id: { remote_ip: { address_prefix: '192.168.0.0', prefix_len: { value: 16 } } } },
          { direct_remote_ip: { address_prefix: '127.0.0.1', prefix_len: { value: 32 } } },
          reqPrincipal,
        ] } }],
      },
      'ns[a]-policy[p]-rule[0]': { permissions: [{ any: true }], principals: [{ any: true }] },
    },
  };
  const r = decode(hcm([{ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules, shadow_rules_stat_prefix: 'istio_dry_run_', shadow_rules: { action: 'ALLOW', policies: {} } } }]));
  assert.deepEqual(r.errors, undefined);
  const h = r.value!.filterChains[0]!.handler;
  assert.equal(h.kind, 'http');
  if (h.kind !== 'http') return;
  const f = h.httpFilters[0]!;
  assert.equal(f.type, 'rbac');
  if (f.type !== 'rbac') return;
  const cfg = f.rbac!;
  assert.equal(cfg.rules!.action, 'DENY');
  assert.deepEqual(cfg.rules!.policies.map((p) => p.name), ['ns[a]-policy[p]-rule[0]', 'ns[b]-policy[p]-rule[0]']);
  assert.equal(cfg.shadowRules!.action, 'ALLOW');
  assert.equal(cfg.shadowStatPrefix, 'istio_dry_run_');
  const perm = cfg.rules!.policies[1]!.permissions[0]!;
  assert.equal(perm.kind, 'and');
  if (perm.kind !== 'and') return;
  assert.deepEqual(perm.rules.map((x) => x.kind), ['or', 'or', 'or', 'not', 'requested_server_name', 'metadata']);
  const ids = cfg.rules!.policies[1]!.principals[0]!;
  assert.equal(ids.kind, 'and');
  if (ids.kind !== 'and') return;
  assert.deepEqual(ids.ids.map((x) => x.kind), ['or', 'not', 'direct_remote_ip', 'and']);
  assert.deepEqual(ids.ids[2], { kind: 'direct_remote_ip', cidr: { addressPrefix: '127.0.0.1', prefixLen: 32 } });
});

test('RBAC variants not evaluated are NACKed at their field path', () => {
  const rules = { policies: { p: {
    permissions: [{ and_rules: { rules: [{ any: true }, { uri_template: { name: 'tmpl', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } } }] } }],
    principals: [{ filter_state: { key: 'k', string_match: { exact: 'v' } } }],
  } } };
  const r = decode(hcm([{ name: 'rbac', typed_config: { '@type': RBAC, rules } }]));
  const fields = (r.errors ?? []).map((e) => e.field);
  const base = 'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules.policies["p"]';
  assert.ok(fields.includes(`${base}.permissions[0].and_rules.rules[1].uri_template`), fields.join('\n'));
  assert.ok(fields.includes(`${base}.principals[0].filter_state`), fields.join('\n'));
});

test('a policy with a CEL condition, or an empty principal list, is rejected', () => {
  const r = decode(hcm([{ name: 'rbac', typed_config: { '@type': RBAC, rules: { policies: { p: { permissions: [{ any: true }], principals: [], condition: { id: 1 } } } } } }]));
  const msgs = (r.errors ?? []).map((e) => `${e.field}: ${e.message}`);
  assert.ok(msgs.some((m) => m.includes('policies["p"].condition') && m.includes('CEL')), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.includes('policies["p"].principals') && m.includes('at least one')), msgs.join('\n'));
});

test('invalid CIDR and regex are reported with their paths', () => {
  const r = decode(hcm([{ name: 'rbac', typed_config: { '@type': RBAC, rules: { policies: { p: {
    permissions: [{ url_path: { path: { safe_regex: { regex: '(' } } } }],
    principals: [{ remote_ip: { address_prefix: 'not-an-ip', prefix_len: { value: 8 } } }],
  } } } } }]));
  const fields = (r.errors ?? []).map((e) => e.field).join('\n');
  assert.match(fields, /permissions\[0\]\.url_path\.path\.safe_regex\.regex/);
  assert.match(fields, /principals\[0\]\.remote_ip\.address_prefix/);
});

test('jwt_authn in Istio form decodes providers, locations, rules and requirements', () => {
  const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] });
  const cfg = {
    '@type': JWT,
    providers: {
      'origins-0': { issuer: 'https://issuer', audiences: ['svc'], local_jwks: { inline_string: jwks }, forward: true, payload_in_metadata: 'payload', from_headers: [{ name: 'X-Jwt', value_prefix: 'Token ' }], from_params: ['tok'], claim_to_headers: [{ header_name: 'X-Sub', claim_name: 'sub' }] },
      'origins-1': { issuer: 'other', local_jwks: { inline_string: jwks } },
    },
    rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { allow_missing: {} }] } } }],
  };
  const r = decode(hcm([{ name: 'envoy.filters.http.jwt_authn', typed_config: cfg }]));
  assert.deepEqual(r.errors, undefined);
  const h = r.value!.filterChains[0]!.handler;
  if (h.kind !== 'http') return assert.fail('http');
  const f = h.httpFilters[0]!;
  if (f.type !== 'jwt_authn') return assert.fail('jwt');
  const j = f.jwt!;
  assert.deepEqual(j.providers['origins-0']!.locations, [{ kind: 'header', name: 'x-jwt', prefix: 'Token ' }, { kind: 'param', name: 'tok' }]);
  assert.deepEqual(j.providers['origins-1']!.locations, [{ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token' }]);
  assert.equal(j.providers['origins-0']!.clockSkewSeconds, 60);
  assert.equal(j.providers['origins-0']!.payloadInMetadata, 'payload');
  assert.deepEqual(j.providers['origins-0']!.claimToHeaders, [{ header: 'x-sub', claim: 'sub' }]);
  assert.deepEqual(j.rules[0]!.requires, { kind: 'any', requirements: [{ kind: 'provider', provider: 'origins-0' }, { kind: 'provider', provider: 'origins-1' }, { kind: 'allow_missing' }] });
});

test('jwt_authn: remote_jwks, unknown provider, bad JWKS and filter_state_rules are NACKed at their paths', () => {
  const cfg = {
    '@type': JWT,
    providers: {
      remote: { issuer: 'i', remote_jwks: { http_uri: { uri: 'https://x/jwks', cluster: 'c', timeout: { seconds: 1 } } } },
      bad: { issuer: 'j', local_jwks: { inline_string: '{not json' } },
    },
    rules: [{ match: { prefix: '/' }, requires: { provider_name: 'nope' } }],
    filter_state_rules: { name: 'x' },
  };
  const r = decode(hcm([{ name: 'jwt', typed_config: cfg }]));
  const fields = (r.errors ?? []).map((e) => e.field);
  const base = 'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config';
  for (const f of [`${base}.providers["remote"].remote_jwks`, `${base}.providers["bad"].local_jwks`, `${base}.rules[0].requires.provider_name`, `${base}.filter_state_rules`]) {
    assert.ok(fields.includes(f), `${f} not in\n${fields.join('\n')}`);
  }
});

test('per-route RBAC overrides are rejected (auth runs before route selection), not ignored', () => {
  const l = hcm([]);
  const tc = ((l.filter_chains as Array<Record<string, unknown>>)[0]!.filters as Array<Record<string, unknown>>)[0]!.typed_config as Record<string, unknown>;
  tc.route_config = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' } } }] }] };
  const r = decode(l);
  assert.ok((r.errors ?? []).some((e) => e.field.includes('typed_per_filter_config') && /per-route RBACPerRoute/.test(e.message)), JSON.stringify(r.errors));
});

test('network RBAC decodes on a TCP chain and is rejected on an HTTP chain', () => {
  const net = { name: 'envoy.filters.network.rbac', typed_config: { '@type': NET_RBAC, stat_prefix: 'tcp.', rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [spiffe('cluster.local/ns/a/sa/x')] } } } } };
  const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' } };
  const ok = decode({ name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 1 } }, filter_chains: [{ filters: [net, tcp] }] });
  assert.deepEqual(ok.errors, undefined);
  const nf = ok.value!.filterChains[0]!.networkFilters[0]!;
  assert.equal(nf.rbac!.statPrefix, 'tcp.');
  assert.equal(nf.rbac!.enforcement, 'ONE_TIME_ON_FIRST_BYTE');
  assert.equal(nf.rbac!.rules!.policies[0]!.name, 'p');
  const l = hcm([]);
  (l.filter_chains as Array<{ filters: unknown[] }>)[0]!.filters.unshift(net);
  const bad = decode(l);
  assert.ok((bad.errors ?? []).some((e) => e.field === 'filter_chains[0].filters' && /network RBAC on an HTTP filter chain/.test(e.message)), JSON.stringify(bad.errors));
  const noPrefix = decode({ name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 1 } }, filter_chains: [{ filters: [{ ...net, typed_config: { '@type': NET_RBAC, rules: { policies: {} } } }, tcp] }] });
  assert.ok((noPrefix.errors ?? []).some((e) => e.field === 'filter_chains[0].filters[0].typed_config.stat_prefix'), JSON.stringify(noPrefix.errors));
});

test('a disabled rbac or jwt_authn filter (enabled per route in Envoy) is NACKed at its disabled field, not skipped (review F8)', () => {
  const rbac = { name: 'envoy.filters.http.rbac', disabled: true, typed_config: { '@type': RBAC, rules: { action: 'DENY', policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } } } };
  const r = decode(hcm([rbac]));
  assert.equal(r.value, undefined);
  assert.ok(r.errors?.some((e) => e.field.endsWith('http_filters[0].disabled')), JSON.stringify(r.errors));
  const jwt = { name: 'envoy.filters.http.jwt_authn', disabled: true, typed_config: { '@type': JWT, providers: { p: { issuer: 'i', local_jwks: { inline_string: '{"keys":[]}' } } } } };
  const j = decode(hcm([jwt]));
  assert.ok(j.errors?.some((e) => e.field.endsWith('http_filters[0].disabled')), JSON.stringify(j.errors));
  const enabled = decode(hcm([{ ...rbac, disabled: false }]));
  assert.equal(enabled.errors, undefined, 'the same filter enabled decodes');
});
