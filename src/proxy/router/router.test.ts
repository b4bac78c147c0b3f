// proxy/router: unit tests of Envoy's routing semantics on configs decoded from canonical RouteConfiguration objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRouteConfiguration } from '../config/decode-route.ts';
import { compileRouter, type RouterRequest } from './router.ts';
import type { RouteDecision } from '../http/route-types.ts';

function router(rc: Record<string, unknown>, random: () => number = () => 0) {
  const d = decodeRouteConfiguration({ name: 'rc', ...rc });
  if (d.errors) throw new Error(JSON.stringify(d.errors));
  return compileRouter(d.value, { random });
}
function req(authority: string, path: string, headers: Record<string, string> = {}, extra: Partial<RouterRequest> = {}): RouterRequest {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { authority, path, method: 'GET', headers: { get: (n: string) => h.get(n) }, ...extra };
}
function cluster(d: RouteDecision): string {
  return d.kind === 'forward' ? d.cluster : d.kind;
}
const to = (c: string) => ({ cluster: c });
const vh = (name: string, domains: string[], routes: unknown[], extra: Record<string, unknown> = {}) => ({ name, domains, routes, ...extra });
const any = (c: string) => ({ match: { prefix: '/' }, route: to(c) });

test('virtual host selection: exact, suffix, prefix wildcards, then "*"; ports are part of the domain', () => {
  const r = router({
    virtual_hosts: [
      vh('exact', ['reviews', 'reviews:9080'], [any('exact')]),
      vh('suffix-long', ['*.bar.example.com'], [any('suffix-long')]),
      vh('suffix', ['*.example.com'], [any('suffix')]),
      vh('prefix', ['api.*'], [any('prefix')]),
      vh('default', ['*'], [any('default')]),
    ],
  });
  assert.equal(cluster(r.route(req('reviews', '/'))), 'exact');
  assert.equal(cluster(r.route(req('REVIEWS:9080', '/'))), 'exact', 'host is compared lower-cased');
  assert.equal(cluster(r.route(req('reviews:9081', '/'))), 'default', 'a different port is a different domain');
  assert.equal(cluster(r.route(req('a.bar.example.com', '/'))), 'suffix-long', 'longest suffix wins');
  assert.equal(cluster(r.route(req('a.example.com', '/'))), 'suffix');
  assert.equal(cluster(r.route(req('.example.com', '/'))), 'default', 'the wildcard stands for at least one character');
  assert.equal(cluster(r.route(req('api.other.org', '/'))), 'prefix');
  assert.equal(cluster(r.route(req('a.example.com:80', '/'))), 'default', 'suffix wildcard does not cover a port');
  assert.equal(cluster(r.route(req('nothing', '/'))), 'default');
  const noDefault = router({ virtual_hosts: [vh('only', ['only'], [any('x')])] });
  assert.deepEqual(noDefault.route(req('other', '/')), { kind: 'none' });
});

test('ignore_port_in_host_matching strips the port, IPv6 included', () => {
  const r = router({ ignore_port_in_host_matching: true, virtual_hosts: [vh('a', ['svc', '[::1]'], [any('a')])] });
  assert.equal(cluster(r.route(req('svc:8080', '/'))), 'a');
  assert.equal(cluster(r.route(req('[::1]:8080', '/'))), 'a');
});

test('path matching: prefix, exact path, regex (full match, query ignored), path-separated prefix, case', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { path: '/exact' }, route: to('path') },
      { match: { safe_regex: { regex: '/items/[0-9]+' } }, route: to('regex') },
      { match: { path_separated_prefix: '/api' }, route: to('sep') },
      { match: { prefix: '/CI', case_sensitive: { value: false } }, route: to('ci') },
      { match: { prefix: '/static' }, route: to('prefix') },
    ])],
  });
  assert.equal(cluster(r.route(req('h', '/exact'))), 'path');
  assert.equal(cluster(r.route(req('h', '/exact?x=1'))), 'path', 'query is not part of the path match');
  assert.equal(cluster(r.route(req('h', '/exact/more'))), 'none');
  assert.equal(cluster(r.route(req('h', '/Exact'))), 'none', 'case sensitive by default');
  assert.equal(cluster(r.route(req('h', '/items/42?page=2'))), 'regex');
  assert.equal(cluster(r.route(req('h', '/items/42/x'))), 'none', 'regex must match the whole path');
  assert.equal(cluster(r.route(req('h', '/api'))), 'sep');
  assert.equal(cluster(r.route(req('h', '/api/v1'))), 'sep');
  assert.equal(cluster(r.route(req('h', '/api?q'))), 'sep');
  assert.equal(cluster(r.route(req('h', '/apix'))), 'none', 'path-separated prefix stops at a segment boundary');
  assert.equal(cluster(r.route(req('h', '/ci/Thing'))), 'ci');
  assert.equal(cluster(r.route(req('h', '/static/a.css'))), 'prefix');
  assert.equal(cluster(r.route(req('h', '/staticfoo'))), 'prefix', 'plain prefix is a string prefix');
});

test('first matching route in order wins', () => {
  const r = router({ virtual_hosts: [vh('v', ['*'], [{ match: { prefix: '/a' }, route: to('first') }, { match: { prefix: '/ab' }, route: to('second') }])] });
  assert.equal(cluster(r.route(req('h', '/abc'))), 'first');
});

test('header matchers: exact, prefix, suffix, contains, regex, present, range, invert, missing headers', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/', headers: [{ name: 'end-user', exact_match: 'jason' }] }, route: to('exact') },
      { match: { prefix: '/', headers: [{ name: 'x-p', string_match: { prefix: 'ab', ignore_case: true } }] }, route: to('prefix') },
      { match: { prefix: '/', headers: [{ name: 'x-s', suffix_match: '.com' }] }, route: to('suffix') },
      { match: { prefix: '/', headers: [{ name: 'x-c', contains_match: 'mid' }] }, route: to('contains') },
      { match: { prefix: '/', headers: [{ name: 'x-r', safe_regex_match: { regex: 'v[0-9]' } }] }, route: to('regex') },
      { match: { prefix: '/', headers: [{ name: 'x-n', range_match: { start: 10, end: 20 } }] }, route: to('range') },
      { match: { prefix: '/', headers: [{ name: 'x-present', present_match: true }] }, route: to('present') },
      { match: { prefix: '/', headers: [{ name: 'x-absent', present_match: false }, { name: 'x-q', exact_match: 'absent' }] }, route: to('absent') },
      { match: { prefix: '/', headers: [{ name: 'x-inv', exact_match: 'no', invert_match: true }] }, route: to('inverted') },
      { match: { prefix: '/', headers: [{ name: 'x-empty', exact_match: '', treat_missing_header_as_empty: true }, { name: 'x-q', exact_match: 'empty' }] }, route: to('missing-as-empty') },
      any('fallback'),
    ])],
  });
  assert.equal(cluster(r.route(req('h', '/', { 'end-user': 'jason' }))), 'exact');
  assert.equal(cluster(r.route(req('h', '/', { 'end-user': 'Jason' }))), 'fallback', 'exact is case-sensitive');
  assert.equal(cluster(r.route(req('h', '/', { 'x-p': 'ABc' }))), 'prefix');
  assert.equal(cluster(r.route(req('h', '/', { 'x-s': 'a.com' }))), 'suffix');
  assert.equal(cluster(r.route(req('h', '/', { 'x-c': 'amidst' }))), 'contains');
  assert.equal(cluster(r.route(req('h', '/', { 'x-r': 'v2' }))), 'regex');
  assert.equal(cluster(r.route(req('h', '/', { 'x-r': 'v22' }))), 'fallback', 'header regex is a full match');
  assert.equal(cluster(r.route(req('h', '/', { 'x-n': '15' }))), 'range');
  assert.equal(cluster(r.route(req('h', '/', { 'x-n': '20' }))), 'fallback', 'range end is exclusive');
  assert.equal(cluster(r.route(req('h', '/', { 'x-n': '1x' }))), 'fallback');
  assert.equal(cluster(r.route(req('h', '/', { 'x-present': '' }))), 'present');
  assert.equal(cluster(r.route(req('h', '/', { 'x-q': 'absent' }))), 'absent');
  assert.equal(cluster(r.route(req('h', '/', { 'x-q': 'absent', 'x-absent': '1' }))), 'fallback');
  assert.equal(cluster(r.route(req('h', '/', { 'x-inv': 'yes' }))), 'inverted');
  assert.equal(cluster(r.route(req('h', '/', { 'x-inv': 'no' }))), 'fallback');
  assert.equal(cluster(r.route(req('h', '/', {}))), 'fallback', 'an inverted string match does not match a missing header (Envoy)');
  assert.equal(cluster(r.route(req('h', '/', { 'x-q': 'empty' }))), 'missing-as-empty');
});

test('pseudo-header matchers read method, authority, path and scheme', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/', headers: [{ name: ':method', exact_match: 'POST' }] }, route: to('post') },
      { match: { prefix: '/', headers: [{ name: ':authority', string_match: { prefix: 'api.' } }] }, route: to('api') },
      { match: { prefix: '/', headers: [{ name: ':scheme', exact_match: 'https' }] }, route: to('tls') },
      any('fallback'),
    ])],
  });
  assert.equal(cluster(r.route({ ...req('h', '/'), method: 'POST' })), 'post');
  assert.equal(cluster(r.route(req('api.example.com', '/'))), 'api');
  assert.equal(cluster(r.route(req('h', '/', {}, { scheme: 'https' }))), 'tls');
  assert.equal(cluster(r.route(req('h', '/'))), 'fallback');
});

test('query parameter matchers and gRPC matcher', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/', query_parameters: [{ name: 'debug', present_match: true }] }, route: to('debug') },
      { match: { prefix: '/', query_parameters: [{ name: 'user', string_match: { exact: 'a b' } }] }, route: to('user') },
      { match: { prefix: '/', grpc: {} }, route: to('grpc') },
      any('fallback'),
    ])],
  });
  assert.equal(cluster(r.route(req('h', '/x?debug'))), 'debug');
  assert.equal(cluster(r.route(req('h', '/x?a=1&debug=0'))), 'debug');
  assert.equal(cluster(r.route(req('h', '/x?user=a%20b'))), 'user', 'values are percent-decoded');
  assert.equal(cluster(r.route(req('h', '/x?user=a+b'))), 'user');
  assert.equal(cluster(r.route(req('h', '/x?user=ab'))), 'fallback');
  assert.equal(cluster(r.route(req('h', '/pkg.Svc/Method', { 'content-type': 'application/grpc+proto' }))), 'grpc');
  assert.equal(cluster(r.route(req('h', '/pkg.Svc/Method', { 'content-type': 'application/json' }))), 'fallback');
});

test('weighted clusters follow the random source and their weights', () => {
  const rc = { virtual_hosts: [vh('v', ['*'], [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'v1', weight: { value: 75 } }, { name: 'v0', weight: { value: 0 } }, { name: 'v2', weight: { value: 25 } }] } } }])] };
  assert.equal(cluster(router(rc, () => 0).route(req('h', '/'))), 'v1');
  assert.equal(cluster(router(rc, () => 0.7499).route(req('h', '/'))), 'v1');
  assert.equal(cluster(router(rc, () => 0.75).route(req('h', '/'))), 'v2');
  assert.equal(cluster(router(rc, () => 0.9999).route(req('h', '/'))), 'v2');
  // Distribution over a deterministic sequence.
  let i = 0;
  const seq = router(rc, () => ((i++ * 7919) % 1000) / 1000);
  const counts = new Map<string, number>();
  for (let n = 0; n < 1000; n++) {
    const c = cluster(seq.route(req('h', '/')));
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.equal(counts.get('v1'), 750);
  assert.equal(counts.get('v2'), 250);
  assert.equal(counts.get('v0'), undefined, 'weight 0 never picked');
});

test('runtime fraction on a route match', () => {
  const rc = { virtual_hosts: [vh('v', ['*'], [{ match: { prefix: '/', runtime_fraction: { default_value: { numerator: 30 } } }, route: to('canary') }, any('stable')])] };
  assert.equal(cluster(router(rc, () => 0.29).route(req('h', '/'))), 'canary');
  assert.equal(cluster(router(rc, () => 0.3).route(req('h', '/'))), 'stable');
});

test('rewrites: prefix (case-insensitive length), path match, regex with groups, host literal and header', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/API/', case_sensitive: { value: false } }, route: { cluster: 'a', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal' } },
      { match: { path: '/old' }, route: { cluster: 'b', prefix_rewrite: '/new' } },
      { match: { prefix: '/users/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: '^/users/([^/]+)/profile$' }, substitution: '/profiles/\\1' }, host_rewrite_header: 'x-host' } },
      { match: { prefix: '/r/' }, route: { cluster: 'd', regex_rewrite: { pattern: { regex: 'a' }, substitution: '$b' } } },
    ])],
  });
  const a = r.route(req('front', '/api/items?x=1'));
  assert.ok(a.kind === 'forward');
  assert.equal(a.path, '/v2/items?x=1');
  assert.equal(a.authority, 'backend.internal');
  const b = r.route(req('front', '/old?q'));
  assert.ok(b.kind === 'forward' && b.path === '/new?q');
  const c = r.route(req('front', '/users/jo/profile?full=1', { 'x-host': 'users.svc' }));
  assert.ok(c.kind === 'forward');
  assert.equal(c.path, '/profiles/jo?full=1');
  assert.equal(c.authority, 'users.svc');
  const c2 = r.route(req('front', '/users/jo/profile'));
  assert.ok(c2.kind === 'forward' && c2.authority === 'front', 'missing host header keeps the authority');
  const d = r.route(req('front', '/r/banana'));
  assert.ok(d.kind === 'forward' && d.path === '/r/b$bn$bn$b', 'every match replaced; "$" is literal');
});

test('redirects build Location: https, host, port, path, prefix, strip query, response code', () => {
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
      { match: { prefix: '/moved' }, redirect: { host_redirect: 'new.example.com', port_redirect: 8443, scheme_redirect: 'https', response_code: 'PERMANENT_REDIRECT' } },
      { match: { path: '/a' }, redirect: { path_redirect: '/b' } },
      { match: { path: '/h' }, redirect: { host_redirect: 'other.com' } },
      { match: { path: '/hp' }, redirect: { host_redirect: 'other.com:9000' } },
      { match: { path: '/c' }, redirect: { path_redirect: '/d?from=c', response_code: 'TEMPORARY_REDIRECT' } },
      { match: { prefix: '/docs/' }, redirect: { prefix_rewrite: '/documentation/', strip_query: true, response_code: 'FOUND' } },
    ])],
  });
  assert.deepEqual(r.route(req('shop.com', '/secure/x?y=1')), { kind: 'redirect', status: 301, location: 'https://shop.com/secure/x?y=1', response: { add: [], remove: [] }, routeName: '' });
  const s2 = r.route(req('shop.com:80', '/secure'));
  assert.ok(s2.kind === 'redirect' && s2.location === 'https://shop.com/secure', 'the old default port is dropped');
  const s3 = r.route(req('shop.com:8080', '/secure'));
  assert.ok(s3.kind === 'redirect' && s3.location === 'https://shop.com:8080/secure', 'a non-default port is kept');
  const m = r.route(req('old.com', '/moved/1'));
  assert.ok(m.kind === 'redirect' && m.status === 308 && m.location === 'https://new.example.com:8443/moved/1');
  const h1 = r.route(req('shop.com:8080', '/h'));
  assert.ok(h1.kind === 'redirect' && h1.location === 'http://other.com/h', 'host_redirect replaces the authority, port included');
  const h2 = r.route(req('shop.com:8080', '/hp'));
  assert.ok(h2.kind === 'redirect' && h2.location === 'http://other.com:9000/hp');
  const a = r.route(req('h', '/a?k=v'));
  assert.ok(a.kind === 'redirect' && a.location === 'http://h/b?k=v' && a.status === 301);
  const c = r.route(req('h', '/c?k=v'));
  assert.ok(c.kind === 'redirect' && c.location === 'http://h/d?from=c' && c.status === 307);
  const d = r.route(req('h', '/docs/intro?x=1', {}, { scheme: 'https' }));
  assert.ok(d.kind === 'redirect' && d.location === 'https://h/documentation/intro' && d.status === 302);
});

test('require_tls redirects plaintext requests to https', () => {
  const r = router({ virtual_hosts: [vh('v', ['*'], [any('a')], { require_tls: 'ALL' })] });
  const d = r.route(req('h:80', '/p'));
  assert.ok(d.kind === 'redirect' && d.location === 'https://h/p');
  assert.equal(cluster(r.route(req('h', '/p', {}, { scheme: 'https' }))), 'a');
  assert.equal(cluster(r.route(req('h', '/p', { 'x-forwarded-proto': 'https' }))), 'a', 'x-forwarded-proto stands in for the scheme');
});

test('direct response with body and response headers', () => {
  const r = router({ virtual_hosts: [vh('v', ['*'], [{ match: { prefix: '/' }, direct_response: { status: 503, body: { inline_string: 'down' } }, response_headers_to_add: [{ header: { key: 'x-why', value: 'maint' } }] }])] });
  const d = r.route(req('h', '/'));
  assert.ok(d.kind === 'direct');
  assert.equal(d.status, 503);
  assert.equal(d.body, 'down');
  assert.equal(d.response.add[0]!.key, 'x-why');
});

test('header mutations are ordered weighted cluster, route, virtual host, route config (outer wins)', () => {
  const h = (k: string, v: string) => ({ header: { key: k, value: v }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  const r = router({
    request_headers_to_add: [h('x-level', 'rc')],
    response_headers_to_remove: ['server'],
    virtual_hosts: [vh('v', ['*'], [{
      match: { prefix: '/' },
      route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 1 }, request_headers_to_add: [h('x-level', 'wc')], request_headers_to_remove: ['x-drop-wc'] }] } },
      request_headers_to_add: [h('x-level', 'route')],
    }], { request_headers_to_add: [h('x-level', 'vh')], response_headers_to_add: [h('x-vh', '1')] })],
  });
  const d = r.route(req('h', '/'));
  assert.ok(d.kind === 'forward');
  assert.deepEqual(d.request.add.map((x) => x.value), ['wc', 'route', 'vh', 'rc']);
  assert.deepEqual(d.request.remove, ['x-drop-wc']);
  assert.deepEqual(d.response.add.map((x) => x.key), ['x-vh']);
  assert.deepEqual(d.response.remove, ['server']);
});

test('timeouts, retry policy (route, else virtual host), grpc-timeout cap, hash policy and mirrors surfaced', () => {
  const rc = {
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/grpc' }, route: { cluster: 'g', timeout: { seconds: 0 }, max_stream_duration: { grpc_timeout_header_max: { seconds: 5 } } } },
      { match: { prefix: '/own' }, route: { cluster: 'o', retry_policy: { retry_on: '5xx', num_retries: { value: 5 } } } },
      {
        match: { prefix: '/' },
        route: { cluster: 'x', timeout: { nanos: 250_000_000 }, hash_policy: [{ header: { header_name: 'x-user' } }], request_mirror_policies: [{ cluster: 'm-all' }, { cluster: 'm-half', runtime_fraction: { default_value: { numerator: 50 } } }] },
      },
    ])],
    // virtual-host-level retry policy below
  };
  (rc.virtual_hosts[0] as Record<string, unknown>).retry_policy = { retry_on: 'connect-failure', num_retries: { value: 2 } };
  const lo = router(rc, () => 0.1);
  const hi = router(rc, () => 0.9);
  const g = lo.route(req('h', '/grpc/M', { 'grpc-timeout': '10S' }));
  assert.ok(g.kind === 'forward' && g.timeoutMs === 5000, 'grpc-timeout capped by grpc_timeout_header_max');
  const g2 = lo.route(req('h', '/grpc/M', { 'grpc-timeout': '200m' }));
  assert.ok(g2.kind === 'forward' && g2.timeoutMs === 200);
  const g3 = lo.route(req('h', '/grpc/M'));
  assert.ok(g3.kind === 'forward' && g3.timeoutMs === 0, 'timeout 0 disables the route timeout');
  const o = lo.route(req('h', '/own'));
  assert.ok(o.kind === 'forward' && o.retryPolicy?.numRetries === 5 && o.timeoutMs === 15_000);
  const x = lo.route(req('h', '/x'));
  assert.ok(x.kind === 'forward');
  assert.equal(x.timeoutMs, 250);
  assert.deepEqual(x.retryPolicy?.retryOn, ['connect-failure'], 'virtual host retry policy applies when the route has none');
  assert.equal(x.hashPolicy[0]!.kind, 'header');
  assert.deepEqual(x.mirrors.map((m) => m.cluster), ['m-all', 'm-half']);
  const y = hi.route(req('h', '/x'));
  assert.ok(y.kind === 'forward');
  assert.deepEqual(y.mirrors.map((m) => m.cluster), ['m-all'], 'a 50% mirror does not fire at 0.9');
});

test('per-filter config: most specific wins (weighted cluster > route > virtual host > route config)', () => {
  const fault = (status: number) => ({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abort: { http_status: status, percentage: { numerator: 100 } } });
  const rcLevel = router({
    typed_per_filter_config: { 'envoy.filters.http.fault': fault(504) },
    virtual_hosts: [vh('v', ['*'], [any('a')])],
  });
  const d = rcLevel.route(req('h', '/'));
  assert.ok(d.kind === 'forward' && d.perFilter?.fault?.abort?.httpStatus === 504);
  const r = router({
    virtual_hosts: [vh('v', ['*'], [
      { match: { prefix: '/route' }, route: to('a'), typed_per_filter_config: { 'envoy.filters.http.fault': fault(501) } },
      { match: { prefix: '/' }, route: to('b') },
    ], { typed_per_filter_config: { 'envoy.filters.http.fault': fault(502) } })],
  });
  const a = r.route(req('h', '/route'));
  const b = r.route(req('h', '/other'));
  assert.ok(a.kind === 'forward' && a.perFilter?.fault?.abort?.httpStatus === 501);
  assert.ok(b.kind === 'forward' && b.perFilter?.fault?.abort?.httpStatus === 502);
});

test('cluster_header picks the cluster from a request header', () => {
  const r = router({ virtual_hosts: [vh('v', ['*'], [{ match: { prefix: '/' }, route: { cluster_header: 'X-Cluster' } }])] });
  assert.equal(cluster(r.route(req('h', '/', { 'x-cluster': 'chosen' }))), 'chosen');
  assert.equal(cluster(r.route(req('h', '/'))), '', 'absent header: empty cluster name (engine answers 503 NC)');
});
