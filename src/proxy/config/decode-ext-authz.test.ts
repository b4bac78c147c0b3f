// proxy/config: ext_authz decoding — an Istio-shaped HTTP service config through a real proto round trip, and
// errors (NACK) for what the proxy does not implement (gRPC service, request body).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalize, TypeUrl } from '../../envoy/protos.ts';
import { Ctx } from './decode-common.ts';
import { decodeExtAuthz } from './decode-ext-authz.ts';

const istioShaped = {
  '@type': TypeUrl.ExtAuthz,
  http_service: {
    server_uri: { uri: 'http://authz.foo.svc.cluster.local', cluster: 'outbound|8000||authz.foo.svc.cluster.local', timeout: { seconds: 2, nanos: 500_000_000 } },
    path_prefix: '/check',
    authorization_request: { allowed_headers: { patterns: [{ exact: 'x-ext-authz', ignore_case: true }] }, headers_to_add: [{ key: 'X-From', value: 'sidecar' }] },
    authorization_response: { allowed_upstream_headers: { patterns: [{ prefix: 'x-user', ignore_case: true }] }, allowed_client_headers: { patterns: [{ exact: 'x-reason', ignore_case: true }] } },
  },
  status_on_error: { code: 'ServiceUnavailable' },
  failure_mode_allow: true,
  transport_api_version: 'V3',
  filter_enabled_metadata: { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz' } } },
};

test('an Istio-shaped ext_authz config decodes after a proto round trip', () => {
  const ctx = new Ctx('l');
  const c = decodeExtAuthz(normalize(TypeUrl.ExtAuthz, istioShaped), ctx, 'f');
  assert.deepEqual(ctx.errors, []);
  assert.equal(c.cluster, 'outbound|8000||authz.foo.svc.cluster.local');
  assert.equal(c.timeoutMs, 2500);
  assert.equal(c.pathPrefix, '/check');
  assert.equal(c.statusOnError, 503);
  assert.equal(c.failureModeAllow, true);
  assert.deepEqual(c.headersToAdd, [['x-from', 'sidecar']]);
  assert.deepEqual(c.allowedHeaders, [{ kind: 'exact', value: 'x-ext-authz', ignoreCase: true }]);
  assert.deepEqual(c.allowedUpstreamHeaders, [{ kind: 'prefix', value: 'x-user', ignoreCase: true }]);
  assert.deepEqual(c.allowedClientHeaders, [{ kind: 'exact', value: 'x-reason', ignoreCase: true }]);
  assert.deepEqual(c.enabledMetadata, { filter: 'envoy.filters.http.rbac', path: ['istio_ext_authz_shadow_effective_policy_id'], match: { kind: 'prefix', value: 'istio-ext-authz', ignoreCase: false } });
});

test('defaults: 200 ms timeout, 403 on error, fail closed', () => {
  const ctx = new Ctx('l');
  const c = decodeExtAuthz(normalize(TypeUrl.ExtAuthz, { '@type': TypeUrl.ExtAuthz, http_service: { server_uri: { uri: 'http://a', cluster: 'c' } } }), ctx, 'f');
  assert.deepEqual(ctx.errors, []);
  assert.equal(c.timeoutMs, 200);
  assert.equal(c.statusOnError, 403);
  assert.equal(c.failureModeAllow, false);
});

test('what the proxy cannot honour is an error naming the field', () => {
  const ctx = new Ctx('l');
  decodeExtAuthz(normalize(TypeUrl.ExtAuthz, { '@type': TypeUrl.ExtAuthz, grpc_service: { google_grpc: { target_uri: 'x', stat_prefix: 's' } }, with_request_body: { max_request_bytes: 10 } }), ctx, 'f');
  assert.deepEqual(ctx.errors.map((e) => e.field).sort(), ['f.grpc_service', 'f.with_request_body']);
  const ctx1 = new Ctx('l');
  decodeExtAuthz({ http_service: { server_uri: { uri: 'http://a', cluster: 'c' }, authorization_response: { allowed_upstream_headers_to_append: { patterns: [{ exact: 'x' }] } } } }, ctx1, 'f');
  assert.deepEqual(ctx1.errors.map((e) => e.field), ['f.http_service.authorization_response.allowed_upstream_headers_to_append']);
  // allowed_client_headers_on_success is applied (headersToDownstreamOnAllow)
  const ctx3 = new Ctx('l');
  const ok = decodeExtAuthz({ http_service: { server_uri: { uri: 'http://a', cluster: 'c' }, authorization_response: { allowed_client_headers_on_success: { patterns: [{ exact: 'x-s' }] } } } }, ctx3, 'f');
  assert.deepEqual(ctx3.errors, []);
  assert.equal(ok.allowedClientHeadersOnSuccess?.length, 1);
  const ctx2 = new Ctx('l');
  decodeExtAuthz({ http_service: { server_uri: { uri: 'http://a' }, path_prefix: 'nope' } }, ctx2, 'f');
  assert.deepEqual(ctx2.errors.map((e) => e.field), ['f.http_service.server_uri.cluster', 'f.http_service.path_prefix']);
});

test('a gRPC service: envoy_grpc cluster, authority and timeout', () => {
  const ctx = new Ctx('l');
  const c = decodeExtAuthz(normalize(TypeUrl.ExtAuthz, { '@type': TypeUrl.ExtAuthz, grpc_service: { envoy_grpc: { cluster_name: 'outbound|9000||opa', authority: 'opa' }, timeout: { seconds: 1 } }, status_on_error: { code: 'Forbidden' } }), ctx, 'f');
  assert.deepEqual(ctx.errors, []);
  assert.deepEqual(c.grpc, { authority: 'opa' });
  assert.equal(c.cluster, 'outbound|9000||opa');
  assert.equal(c.timeoutMs, 1000);
  assert.equal(c.statusOnError, 403);
});

test('headers_to_add: no key, or CR/LF/NUL in a key or value, is an error naming the entry and field; the rest apply', () => {
  const ctx = new Ctx('l');
  const c = decodeExtAuthz({ http_service: { server_uri: { uri: 'http://a', cluster: 'c' }, authorization_request: { headers_to_add: [
    { key: 'x-ok', value: 'v' }, { key: '', value: 'v' }, { key: 'x-bad', value: 'a\r\nx-injected: 1' }, { key: 'x\nk', value: 'b\0' },
  ] } } }, ctx, 'f');
  const p = 'f.http_service.authorization_request.headers_to_add';
  assert.deepEqual(ctx.errors.map((e) => e.field), [`${p}[1]`, `${p}[2].value`, `${p}[3].key`, `${p}[3].value`]);
  assert.deepEqual(c.headersToAdd, [['x-ok', 'v']]);
});
