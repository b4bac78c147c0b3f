// test/review: round-3 review of "no configured value can inject a line into an HTTP/1.1 head" — besides the header
// edits, the HCM's server_name (every response's Server) and a route's CORS policy (allow_methods, allow_headers,
// expose_headers, max_age: response header values) reach the serializer as configured (seen in review: an engine with
// server_name "evil\r\nX-Injected: 1" answered with an X-Injected line). The xDS decoders refuse them (NACK), as
// they do header values (fixed in a6d6845).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, TypeUrl } from '../../src/envoy/protos.ts';
import { decodeAny, ResourceType } from '../../src/proxy/config/decode.ts';

function errorsOf(url: string, obj: Record<string, unknown>): Array<{ field: string; message: string }> {
  const r = decodeAny(url, pack(url, obj)).result as { errors?: Array<{ field: string; message: string }> };
  return r.errors ?? [];
}

function listenerWith(hcmExtra: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'l1',
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'out', rds: { route_config_name: '9080', config_source: { ads: {} } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }], ...hcmExtra,
        },
      }],
    }],
  };
}

test('a clean server_name decodes without errors (control)', () => {
  assert.deepEqual(errorsOf(ResourceType.Listener, listenerWith({ server_name: 'my-proxy' })), []);
});

test('server_name holding CR/LF is a decode error naming the field', () => {
  const errs = errorsOf(ResourceType.Listener, listenerWith({ server_name: 'evil\r\nX-Injected: 1' }));
  assert.ok(errs.some((e) => /server_name$/.test(e.field) && /CR, LF or NUL/.test(e.message)), JSON.stringify(errs));
});

test('a route CORS policy value holding CR/LF is a decode error naming the field', () => {
  const rc = {
    name: 'r', virtual_hosts: [{
      name: 'vh', domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: {
        'envoy.filters.http.cors': { '@type': TypeUrl.CorsPolicy, allow_origin_string_match: [{ exact: 'https://a' }], allow_methods: 'GET\r\nX-Injected: 1', expose_headers: 'x\ny' },
      } }],
    }],
  };
  const errs = errorsOf(ResourceType.RouteConfiguration, rc);
  assert.ok(errs.some((e) => /allow_methods$/.test(e.field)), JSON.stringify(errs));
  assert.ok(errs.some((e) => /expose_headers$/.test(e.field)), JSON.stringify(errs));
});
