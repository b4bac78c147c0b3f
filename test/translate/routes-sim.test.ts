// test: each routes-* golden input walked through the simulator — the request lands where Istio's
// documented semantics say it should (match order, source filters, weights, policies, rewrites...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, type SimRequest } from '../../src/xds/translate/simulate.ts';
import { contextFor, loadGoldenInput, makeProxy, routesOnlyConfig, routeProxies, type ProxySpec } from '../helpers/golden.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';

const { productpage, ratings: ratingsProxy } = routeProxies;
const R = (s: string): string => `outbound|9080|${s}|reviews.default.svc.cluster.local`;
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';

function cfgFor(feature: string, spec: ProxySpec = productpage, names = ['9080']): GeneratedConfig {
  return routesOnlyConfig(contextFor(loadGoldenInput(feature)), makeProxy(spec), names);
}
const req = (host: string, path: string, extra: Partial<SimRequest> = {}): SimRequest => ({ port: 9080, host, path, ...extra });

test('default: every service reachable by each of its names; unknown hosts pass through', () => {
  const cfg = cfgFor('routes-default');
  for (const host of ['reviews', 'reviews:9080', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local:9080', '10.96.0.12:9080']) {
    const r = simulate(cfg, req(host, '/'));
    assert.equal(r.cluster, R(''), host);
    assert.equal(r.route, 'default');
    assert.equal(r.virtualService, undefined, 'default routes come from no VirtualService');
    assert.equal(r.virtualHost, 'reviews.default.svc.cluster.local:9080');
  }
  const r = simulate(cfg, req('ratings', '/'));
  assert.equal(r.timeoutMs, 0, 'Istio default: no route timeout');
  assert.deepEqual(r.retry, { numRetries: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', retriableStatusCodes: [503], perTryTimeoutMs: undefined });
  const ext = simulate(cfg, req('example.com', '/'));
  assert.equal(ext.virtualHost, 'allow_any');
  assert.equal(ext.cluster, 'PassthroughCluster');
  // a proxy in another namespace does not get the namespace-local short name
  const other = cfgFor('routes-default', { name: 'c', namespace: 'other', labels: {} });
  assert.equal(simulate(other, req('reviews', '/')).cluster, 'PassthroughCluster');
  assert.equal(simulate(other, req('reviews.default', '/')).cluster, R(''));
});

test('weighted: weights as given, zero-weight destinations dropped; single destination is a plain cluster', () => {
  const cfg = cfgFor('routes-weighted');
  const r = simulate(cfg, req('reviews', '/'));
  assert.deepEqual(r.weightedClusters, [{ name: R('v1'), weight: 75 }, { name: R('v2'), weight: 25 }]);
  assert.equal(r.cluster, undefined);
  assert.equal(simulate(cfg, req('ratings', '/')).cluster, RATINGS);
});

test('header-match: first matching route in order; source filters decided per proxy', () => {
  const cfg = cfgFor('routes-header-match');
  const go = (path: string, extra: Partial<SimRequest> = {}) => simulate(cfg, req('reviews:9080', path, extra));
  assert.equal(go('/', { headers: { 'end-user': 'jason' } }).cluster, R('v2'));
  assert.equal(go('/', { headers: { 'end-user': 'jason' } }).route, 'jason.user');
  assert.equal(go('/', { headers: { 'end-user': 'jason' } }).virtualService, 'default/reviews');
  assert.equal(go('/', { headers: { 'end-user': 'Jason' } }).cluster, R('v1'), 'exact header match is case-sensitive');
  assert.equal(go('/api/v1/x?debug=1&trace', { method: 'POST' }).cluster, R('v3'));
  assert.equal(go('/api/v1/x?debug=1', { method: 'POST' }).cluster, R('v1'), 'query param presence required');
  assert.equal(go('/api/v1/x?debug=1&trace=y', { method: 'GET' }).cluster, R('v1'), 'method must match');
  assert.equal(go('/items/42').cluster, R('v3'), 'regex uri with authority prefix');
  assert.equal(go('/items/42/more').cluster, R('v1'), 'regex must match the whole path');
  assert.equal(go('/HEALTH').cluster, R('v3'), 'ignoreUriCase');
  assert.equal(go('/', { headers: { 'x-tenant': 'acme-1' } }).cluster, R('v3'), 'withoutHeaders: header absent');
  assert.equal(go('/', { headers: { 'x-tenant': 'acme-1', 'x-canary': 'true' } }).cluster, R('v1'), 'withoutHeaders: header present');
  assert.equal(go('/', { headers: { 'x-debug': 'yes' } }).route, 'from-productpage', 'sourceLabels match productpage');
  // the same request from ratings: the productpage-only route is not generated, ratings' is
  const rcfg = cfgFor('routes-header-match', ratingsProxy);
  const r = simulate(rcfg, req('reviews', '/', { headers: { 'x-debug': 'yes' } }));
  assert.equal(r.route, 'from-ratings');
  assert.equal(r.cluster, R('v2'));
  // port-scoped match (9999) never appears on port 9080; routes after a catch-all are dropped
  const names = new Set((cfg.routes[0]!.virtual_hosts as any[]).flatMap((v) => v.routes.map((x: any) => x.name)));
  assert.ok(!names.has('only-other-port') && !names.has('never') && !names.has('from-ratings'));
});

test('fault: delay/abort in per-route fault config; a fault disables retries and timeouts', () => {
  const cfg = cfgFor('routes-fault');
  const d = simulate(cfg, req('ratings', '/', { headers: { 'end-user': 'jason' } }));
  assert.deepEqual((d.fault as any).delay, { fixed_delay: { seconds: 7 }, percentage: { numerator: 1000000, denominator: 'MILLION' } });
  assert.equal(d.retry, undefined);
  assert.equal(d.timeoutMs, 0);
  const a = simulate(cfg, req('ratings', '/abort'));
  assert.deepEqual((a.fault as any).abort, { http_status: 500, percentage: { numerator: 505000, denominator: 'MILLION' } });
  const g = simulate(cfg, req('ratings', '/grpc'));
  assert.equal((g.fault as any).abort.grpc_status, 14);
  assert.deepEqual((g.fault as any).delay.percentage, { numerator: 5, denominator: 'HUNDRED' });
  const n = simulate(cfg, req('ratings', '/other'));
  assert.equal(n.fault, undefined);
  assert.equal(n.retry?.numRetries, 2);
});

test('retries: attempts, perTryTimeout, retryOn with status codes; attempts 0 disables', () => {
  const cfg = cfgFor('routes-retries');
  const c = simulate(cfg, req('ratings', '/custom'));
  assert.deepEqual(c.retry, { numRetries: 4, retryOn: 'gateway-error,connect-failure,retriable-status-codes', retriableStatusCodes: [503, 429], perTryTimeoutMs: 1500 });
  assert.equal(simulate(cfg, req('ratings', '/off')).retry, undefined);
  const route = (cfg.routes[0]!.virtual_hosts as any[]).find((v) => v.name.startsWith('ratings')).routes;
  assert.equal(route[0].route.retry_priority ?? route[0].route.retry_policy.retry_priority.name, 'envoy.retry_priorities.previous_priorities');
  assert.equal(route[2].route.retry_policy.retry_host_predicate, undefined, 'retryIgnorePreviousHosts: false');
  assert.deepEqual(route[2].route.retry_policy.retry_back_off, { base_interval: { seconds: 0, nanos: 50000000 } });
  assert.equal(simulate(cfg, req('ratings', '/x')).retry?.numRetries, 2);
});

test('timeout: route timeout as configured', () => {
  const cfg = cfgFor('routes-timeout');
  assert.equal(simulate(cfg, req('reviews', '/slow')).timeoutMs, 500);
  assert.equal(simulate(cfg, req('reviews', '/')).timeoutMs, 90000);
});

test('mirror: default 100%, mirrorPercentage, 0% disables, mirrors[]', () => {
  const cfg = cfgFor('routes-mirror');
  assert.deepEqual(simulate(cfg, req('reviews', '/all')).mirrors, [{ cluster: R('v2'), percent: 100 }]);
  assert.deepEqual(simulate(cfg, req('reviews', '/some')).mirrors, [{ cluster: R('v3'), percent: 12.5 }]);
  assert.equal(simulate(cfg, req('reviews', '/none')).mirrors, undefined);
  assert.deepEqual(simulate(cfg, req('reviews', '/x')).mirrors, [{ cluster: R('v2'), percent: 50 }, { cluster: RATINGS, percent: 100 }]);
});

test('cors: per-route CorsPolicy with origins, methods, max age', () => {
  const c = simulate(cfgFor('routes-cors'), req('ratings', '/')).cors as any;
  assert.deepEqual(c.allow_origin_string_match, [{ exact: 'https://example.com' }, { prefix: 'https://dev.' }, { safe_regex: { regex: 'https://.*\\.example\\.org' } }]);
  assert.equal(c.allow_methods, 'POST,GET');
  assert.equal(c.max_age, '86400');
  assert.deepEqual(c.allow_credentials, { value: false });
  assert.deepEqual(c.forward_not_matching_preflights, { value: false });
});

test('rewrite: prefix, exact (whole path) + authority, regex', () => {
  const cfg = cfgFor('routes-rewrite');
  assert.deepEqual(simulate(cfg, req('ratings', '/old/a/b?x=1')).rewrite, { path: '/new/a/b?x=1' });
  assert.deepEqual(simulate(cfg, req('ratings', '/login')).rewrite, { path: '/auth/login', host: 'auth.internal' });
  assert.deepEqual(simulate(cfg, req('ratings', '/v1/users/42')).rewrite, { path: '/42/users' });
  assert.equal(simulate(cfg, req('ratings', '/plain')).rewrite, undefined);
});

test('redirect: host/path, scheme with default port dropped, derived request port, codes', () => {
  const cfg = cfgFor('routes-redirect');
  assert.deepEqual(simulate(cfg, req('details', '/v1/getProductRatings')).redirect,
    { host_redirect: 'newratings.default.svc.cluster.local', path_redirect: '/v1/bookRatings', response_code: 'MOVED_PERMANENTLY' });
  assert.deepEqual(simulate(cfg, req('details', '/secure/x')).redirect, { scheme_redirect: 'https', response_code: 'PERMANENT_REDIRECT' });
  assert.deepEqual(simulate(cfg, req('details', '/port')).redirect, { port_redirect: 9080, response_code: 'FOUND' });
});

test('direct response: status and bodies', () => {
  const cfg = cfgFor('routes-direct-response');
  assert.deepEqual(simulate(cfg, req('details', '/tea')).directResponse, { status: 418, body: "I'm a teapot" });
  assert.deepEqual(simulate(cfg, req('details', '/gone')).directResponse, { status: 410, body: undefined });
  assert.equal(simulate(cfg, req('details', '/other')).cluster, 'outbound|9080||details.default.svc.cluster.local');
});

test('headers: route + single destination mutations; authority becomes host rewrite; per-cluster ops', () => {
  const cfg = cfgFor('routes-headers');
  const s = simulate(cfg, req('reviews', '/single'));
  assert.deepEqual(s.requestHeadersToAdd, [
    { key: 'x-route', value: 'single', append: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { key: 'x-trace', value: 'a', append: 'APPEND_IF_EXISTS_OR_ADD' },
    { key: 'x-dest', value: 'v1', append: 'OVERWRITE_IF_EXISTS_OR_ADD' },
  ]);
  assert.deepEqual(s.rewrite, { host: 'reviews.internal' });
  const route = (cfg.routes[0]!.virtual_hosts as any[]).find((v) => v.name.startsWith('reviews')).routes;
  assert.deepEqual(route[0].request_headers_to_remove, ['x-secret']);
  assert.deepEqual(route[0].response_headers_to_remove, ['server']);
  const w = route[1].route.weighted_clusters.clusters;
  assert.equal(w[1].host_rewrite_literal, 'reviews-v2.internal');
  assert.deepEqual(w[1].response_headers_to_remove, ['x-internal']);
});

test('hash: DestinationRule consistent hash becomes the route hash policy; no previous-hosts retry predicate', () => {
  const cfg = cfgFor('routes-hash');
  const r = simulate(cfg, req('ratings', '/'));
  assert.deepEqual(r.hashPolicy, [{ cookie: { name: 'session', ttl: { seconds: 3600 }, path: '/' } }]);
  assert.deepEqual(simulate(cfg, req('details', '/')).hashPolicy, [{ connection_properties: { source_ip: true } }]);
  assert.deepEqual(simulate(cfg, req('productpage', '/q')).hashPolicy, [{ query_parameter: { name: 'user' } }]);
  assert.deepEqual(simulate(cfg, req('productpage', '/')).hashPolicy, [{ header: { header_name: 'x-user' } }], 'port-level setting for an explicit destination port');
  assert.equal(simulate(cfg, req('reviews', '/')).hashPolicy, undefined);
});

test('delegate: child routes merged under the root match; conflicting and missing delegates dropped', () => {
  const cfg = cfgFor('routes-delegate');
  const a = simulate(cfg, req('reviews', '/api/v2/x', { headers: { 'end-user': 'jason' } }));
  assert.equal(a.route, 'root-api-v2');
  assert.equal(a.virtualService, 'default/reviews-root');
  assert.equal(a.cluster, R('v2'));
  assert.equal(a.timeoutMs, 5000, 'root timeout inherited when the child sets none');
  const b = simulate(cfg, req('reviews', '/api/v2/x'));
  assert.equal(b.route, 'root-api-any');
  assert.equal(b.timeoutMs, 2000, "child's own timeout wins");
  assert.equal(simulate(cfg, req('reviews', '/other')).cluster, R('v1'), 'child route outside the root prefix is dropped');
  assert.equal(simulate(cfg, req('reviews', '/missing')).route, 'root-rest');
});

test('gateway: VirtualServices bound by gateway name, hosts intersected; TLS routes; https redirect; 404 blackhole', () => {
  const ctx = contextFor(loadGoldenInput('routes-gateway'));
  const gw = makeProxy({ type: 'router', name: 'ingress', namespace: 'istio-system', labels: { istio: 'ingressgateway' } });
  const cfg = routesOnlyConfig(ctx, gw, ['http.8080', 'http.8081', 'http.8082', 'https.8443.https.bookinfo-gateway.default']);
  const pp = 'outbound|9080||productpage.default.svc.cluster.local';
  assert.equal(simulate(cfg, { port: 8080, host: 'anything.test', path: '/productpage' }).cluster, pp);
  assert.match(simulate(cfg, { port: 8080, host: 'anything.test', path: '/nope' }).error ?? '', /no route/);
  assert.equal(simulate(cfg, { port: 8080, host: 'bookinfo.example.com', path: '/x' }).cluster, pp);
  assert.deepEqual(simulate(cfg, { port: 8443, host: 'bookinfo.example.com', path: '/reviews/1', sni: 'bookinfo.example.com' }).redirect,
    { path_redirect: '/r', port_redirect: 8443, response_code: 'MOVED_PERMANENTLY' });
  const insecure = simulate(cfg, { port: 8081, host: 'secure.example.com', path: '/productpage' });
  assert.equal(insecure.requireTls, 'ALL');
  assert.deepEqual(insecure.redirect, { scheme_redirect: 'https', response_code: 'MOVED_PERMANENTLY' });
  assert.equal(insecure.cluster, undefined, 'redirected before routing');
  assert.deepEqual(simulate(cfg, { port: 8082, host: 'nothing.example.com', path: '/' }).directResponse, { status: 404, body: undefined });
  assert.equal(ctx.gatewaysFor(makeProxy(productpage)).length, 0);
});

test('proxyless gRPC: api listener -> route config named like a cluster; header match and weights', () => {
  const ctx = contextFor(loadGoldenInput('routes-grpc'));
  const p = makeProxy({ name: 'echo-client', labels: { app: 'client' }, metadata: { GENERATOR: 'grpc' } });
  const cfg = routesOnlyConfig(ctx, p, ['outbound|7070||echo.default.svc.cluster.local']);
  const base = { listener: 'echo.default.svc.cluster.local:7070', port: 7070, host: 'echo:7070', path: '/echo.Echo/Call', method: 'POST' };
  const a = simulate(cfg, { ...base, headers: { 'x-version': 'v2' } });
  assert.equal(a.routeConfig, 'outbound|7070||echo.default.svc.cluster.local');
  assert.equal(a.cluster, 'outbound|7070|v2|echo.default.svc.cluster.local');
  const b = simulate(cfg, base);
  assert.deepEqual(b.weightedClusters?.map((w) => w.weight), [90, 10]);
  assert.equal(a.timeoutMs, 2000);
  const rc = (cfg.routes[0]!.virtual_hosts as any[])[0].routes[0].route;
  assert.deepEqual(rc.max_stream_duration, { max_stream_duration: { seconds: 2 } }, 'gRPC reads max_stream_duration');
  assert.equal(b.retry, undefined, 'the fault on the split route disables its retries');
  assert.equal((b.fault as any).abort.grpc_status, 14);
});

test('http_proxy: one route config for every port, host:port domains, REGISTRY_ONLY blocks the rest', () => {
  const cfg = cfgFor('routes-http-proxy', productpage, ['http_proxy']);
  const hp = (host: string, path = '/', headers: Record<string, string> = {}) => simulate(cfg, { port: 15080, host, path, headers });
  assert.equal(hp('reviews:9080', '/', { 'end-user': 'jason' }).cluster, R('v2'));
  assert.equal(hp('reviews.default.svc.cluster.local:9080').cluster, R('v3'));
  assert.equal(hp('web.shop:8080').cluster, 'outbound|8080||web.shop.svc.cluster.local');
  assert.equal(hp('web.shop').cluster, 'outbound|80||web.shop.svc.cluster.local', 'port 80 keeps port-less names');
  assert.equal(hp('reviews').virtualHost, 'block_all', 'off port 80 only host:port names');
  assert.deepEqual(hp('example.com:80').directResponse, { status: 502, body: undefined });
});

test('proxyless gRPC gets no CORS per-route config (grpc-js-xds would reject the filter it lacks)', () => {
  const ctx = contextFor(loadGoldenInput('routes-cors'));
  const grpc = routesOnlyConfig(ctx, makeProxy({ name: 'g', labels: {}, metadata: { GENERATOR: 'grpc' } }), ['outbound|9080||ratings.default.svc.cluster.local']);
  const r = simulate(grpc, { listener: 'ratings.default.svc.cluster.local:9080', port: 9080, host: 'ratings:9080', path: '/' });
  assert.equal(r.cluster, RATINGS);
  assert.equal(r.cors, undefined);
  assert.ok(simulate(cfgFor('routes-cors'), req('ratings', '/')).cors);
});

test('gateway: several gateways on one port merge; a server host "./..." admits only its own namespace', () => {
  const ctx = contextFor(loadGoldenInput('routes-gateway'));
  const gw = makeProxy({ type: 'router', name: 'ingress', namespace: 'istio-system', labels: { istio: 'ingressgateway' } });
  const cfg = routesOnlyConfig(ctx, gw, ['http.8080']);
  const api = simulate(cfg, { port: 8080, host: 'api.team.example.com', path: '/x' });
  assert.equal(api.cluster, RATINGS);
  assert.equal(api.virtualService, 'team/team-api');
  // evil.team.example.com falls to the "*" virtual host of bookinfo, never to details
  const evil = simulate(cfg, { port: 8080, host: 'evil.team.example.com', path: '/productpage' });
  assert.equal(evil.virtualService, 'default/bookinfo');
  assert.ok(!(cfg.routes[0]!.virtual_hosts as any[]).some((v) => v.name.startsWith('evil.')));
});
