// proxy/http/filters: CORS preflight answers and response headers, as Envoy's cors filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CorsPolicyConfig } from '../../config/types.ts';
import { seededRandom } from '../../upstream/lb/random.ts';
import { corsRequest, effectiveCorsPolicy } from './cors.ts';

const hdrs = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n] });
function policy(p: Partial<CorsPolicyConfig> = {}): CorsPolicyConfig {
  return {
    allowOrigins: [{ kind: 'exact', value: 'https://app.example.com', ignoreCase: false }, { kind: 'suffix', value: '.trusted.io', ignoreCase: true }],
    allowMethods: 'GET, POST', allowHeaders: 'content-type, x-token', exposeHeaders: 'x-trace', maxAge: '600', allowCredentials: true,
    filterEnabled: { numerator: 100, denominator: 100 }, forwardNotMatchingPreflights: true, ...p,
  };
}
const r = seededRandom(1);

test('preflight from an allowed origin is answered with allow-* headers', () => {
  const d = corsRequest(policy(), { method: 'OPTIONS', headers: hdrs({ origin: 'https://app.example.com', 'access-control-request-method': 'POST' }) }, r);
  assert.deepEqual(d, { action: 'respond', status: 200, headers: [
    ['access-control-allow-origin', 'https://app.example.com'], ['access-control-allow-credentials', 'true'],
    ['access-control-allow-methods', 'GET, POST'], ['access-control-allow-headers', 'content-type, x-token'], ['access-control-max-age', '600'],
  ] });
});

test('simple CORS request continues with origin, credentials and expose headers', () => {
  const d = corsRequest(policy(), { method: 'GET', headers: hdrs({ origin: 'https://API.Trusted.io' }) }, r);
  assert.deepEqual(d, { action: 'continue', responseHeaders: [['access-control-allow-origin', 'https://API.Trusted.io'], ['access-control-allow-credentials', 'true'], ['access-control-expose-headers', 'x-trace']] });
});

test('no origin, disallowed origin, or no policy: untouched', () => {
  assert.deepEqual(corsRequest(policy(), { method: 'GET', headers: hdrs() }, r), { action: 'continue' });
  assert.deepEqual(corsRequest(policy(), { method: 'GET', headers: hdrs({ origin: 'https://evil.com' }) }, r), { action: 'continue' });
  assert.deepEqual(corsRequest(policy(), { method: 'OPTIONS', headers: hdrs({ origin: 'https://evil.com', 'access-control-request-method': 'GET' }) }, r), { action: 'continue' });
  assert.deepEqual(corsRequest(undefined, { method: 'GET', headers: hdrs({ origin: 'https://app.example.com' }) }, r), { action: 'continue' });
  // OPTIONS without Access-Control-Request-Method is not a preflight.
  const plain = corsRequest(policy(), { method: 'OPTIONS', headers: hdrs({ origin: 'https://app.example.com' }) }, r);
  assert.equal(plain.action, 'continue');
});

test('non-matching preflight is answered bare when forwarding is off', () => {
  const d = corsRequest(policy({ forwardNotMatchingPreflights: false }), { method: 'OPTIONS', headers: hdrs({ origin: 'https://evil.com', 'access-control-request-method': 'GET' }) }, r);
  assert.deepEqual(d, { action: 'respond', status: 200, headers: [] });
});

test('a matcher matching "*" allows any origin and echoes it', () => {
  const d = corsRequest(policy({ allowOrigins: [{ kind: 'exact', value: '*', ignoreCase: false }], allowCredentials: false, exposeHeaders: undefined }), { method: 'GET', headers: hdrs({ origin: 'https://x.dev' }) }, r);
  assert.deepEqual(d, { action: 'continue', responseHeaders: [['access-control-allow-origin', 'https://x.dev']] });
});

test('filter disabled by fraction, shadow mode never changes the exchange', () => {
  const off = policy({ filterEnabled: { numerator: 0, denominator: 100 } });
  assert.deepEqual(corsRequest(off, { method: 'GET', headers: hdrs({ origin: 'https://app.example.com' }) }, r), { action: 'continue' });
  const shadow = policy({ filterEnabled: { numerator: 0, denominator: 100 }, shadowEnabled: { numerator: 100, denominator: 100 } });
  assert.deepEqual(corsRequest(shadow, { method: 'OPTIONS', headers: hdrs({ origin: 'https://app.example.com', 'access-control-request-method': 'GET' }) }, r), { action: 'continue' });
});

test('private network access header only when allowed and asked', () => {
  const d = corsRequest(policy({ allowPrivateNetworkAccess: true }), { method: 'OPTIONS', headers: hdrs({ origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-private-network': 'true' }) }, r);
  assert.ok(d.action === 'respond' && d.headers.some(([k, v]) => k === 'access-control-allow-private-network' && v === 'true'));
});

test('route policy wins over virtual host policy', () => {
  const route = policy({ maxAge: '1' });
  const vh = policy({ maxAge: '2' });
  assert.equal(effectiveCorsPolicy({ disabledFilters: [], cors: route }, { disabledFilters: [], cors: vh }), route);
  assert.equal(effectiveCorsPolicy({ disabledFilters: [] }, { disabledFilters: [], cors: vh }), vh);
});
