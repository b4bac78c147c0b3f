// config/validation: VirtualService rules — hosts, gateways, route/redirect/directResponse/delegate, weights, matches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorPaths, issuesOf } from './testkit.ts';

const route = (host: string, extra: object = {}) => ({ destination: { host }, ...extra });

test('a plain VirtualService is valid; unknown fields and wrong types are errors with their path', () => {
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['reviews'], http: [{ route: [route('reviews')] }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['reviews'], http: [{ route: [route('reviews')], retry: {} }] }), ['spec.http[0].retry']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: 'reviews', http: [{ route: [route('reviews')] }] }), ['spec.hosts']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['r'], http: [{ route: [{ destination: { host: 'r', port: { number: 70000 } } }] }] }), ['spec.http[0].route[0].destination.port.number']);
});

test('route, redirect, directResponse and delegate are mutually exclusive; one is required', () => {
  const both = issuesOf('VirtualService', { hosts: ['a'], http: [{ route: [route('a')], redirect: { uri: '/x' } }] });
  assert.deepEqual(both, ['spec.http[0].redirect: HTTP route cannot contain both route and redirect']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ route: [route('a')], directResponse: { status: 503 } }] }), ['spec.http[0].directResponse']);
  assert.deepEqual(issuesOf('VirtualService', { hosts: ['a'], http: [{ match: [{ uri: { prefix: '/' } }] }] }), ['spec.http[0].route: HTTP route, redirect or directResponse is required']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ directResponse: { status: 404, body: { string: 'no' } } }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ directResponse: { status: 99 } }] }), ['spec.http[0].directResponse.status']);
  // A root route that delegates may not also route; the delegate (no hosts) may not delegate further.
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ delegate: { name: 'b' }, route: [route('a')] }] }), ['spec.http[0].route']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ delegate: { name: 'b', namespace: 'ns' } }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { http: [{ route: [route('a')], delegate: { name: 'c' } }] }), ['spec.http[0].delegate']);
  assert.deepEqual(errorPaths('VirtualService', { gateways: ['gw'], http: [{ route: [route('a')] }] }), ['spec.gateways']);
  assert.deepEqual(issuesOf('VirtualService', { hosts: ['a'] }), ['spec: http, tcp or tls must be provided in virtual service']);
});

test('weights: negative is an error, all zero is an error, a sum other than 100 is a warning', () => {
  const spec = (w: number[]) => ({ hosts: ['a'], http: [{ route: w.map((x, i) => route('a', { weight: x, destination: { host: 'a', subset: `v${i}` } })) }] });
  assert.deepEqual(errorPaths('VirtualService', spec([80, 20])), []);
  assert.deepEqual(issuesOf('VirtualService', spec([80, 20]), 'warning'), []);
  assert.deepEqual(errorPaths('VirtualService', spec([-1, 101])), ['spec.http[0].route[0].weight']);
  assert.deepEqual(issuesOf('VirtualService', spec([0, 0])), ['spec.http[0].route: total destination weight = 0']);
  assert.deepEqual(issuesOf('VirtualService', spec([50, 20]), 'warning'), ['spec.http[0].route: destination weights sum to 70, not 100; they are applied in proportion']);
});

test('hosts: mesh VirtualServices may not use "*"; duplicates and bad names are errors; IPs are allowed', () => {
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['*'], http: [{ route: [route('a')] }] }), ['spec.hosts[0]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['*'], gateways: ['istio-system/ingress'], http: [{ route: [route('a')] }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['*.foo.com', 'a.foo.com'], http: [{ route: [route('a')] }] }), ['spec.hosts[1]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a_b'], http: [{ route: [route('a')] }] }), ['spec.hosts[0]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['10.1.2.3'], http: [{ route: [route('a')] }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], gateways: ['bad/Gate_way'], http: [{ route: [route('a')] }] }), ['spec.gateways[0]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ route: [{ destination: { host: 'a', subset: 'V_1' } }] }] }), ['spec.http[0].route[0].destination.subset']);
});

test('matches: string-match oneof, regexes compile under RE2 rules, header names, JWT claims only on gateways', () => {
  const m = (match: object) => ({ hosts: ['a'], http: [{ match: [match], route: [route('a')] }] });
  assert.deepEqual(errorPaths('VirtualService', m({ uri: { exact: '/a', prefix: '/b' } })), ['spec.http[0].match[0].uri.prefix']);
  assert.deepEqual(errorPaths('VirtualService', m({ uri: { regex: '([a-z]' } })), ['spec.http[0].match[0].uri.regex']);
  assert.deepEqual(errorPaths('VirtualService', m({ headers: { 'x-user': { regex: 'a(?!b)' } } })), ['spec.http[0].match[0].headers.x-user.regex']);
  assert.deepEqual(errorPaths('VirtualService', m({ headers: { 'bad header': { exact: 'x' } } })), ['spec.http[0].match[0].headers["bad header"]']);
  assert.deepEqual(errorPaths('VirtualService', m({ headers: { end: { prefix: '' } } })), ['spec.http[0].match[0].headers.end.prefix']);
  assert.deepEqual(errorPaths('VirtualService', m({ headers: { '@request.auth.claims.group': { exact: 'x' } } })), ['spec.http[0].match[0].headers']);
  assert.deepEqual(errorPaths('VirtualService', m({ port: 0, sourceNamespace: 'Bad_NS' })), ['spec.http[0].match[0].sourceNamespace']);
});

test('timeouts, retries, fault injection, redirects, rewrites and CORS follow Istio', () => {
  const h = (r: object) => ({ hosts: ['a'], http: [{ route: [route('a')], ...r }] });
  assert.deepEqual(errorPaths('VirtualService', h({ timeout: '10s', retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,connect-failure,503' } })), []);
  assert.deepEqual(errorPaths('VirtualService', h({ timeout: '10' })), ['spec.http[0].timeout']);
  assert.deepEqual(errorPaths('VirtualService', h({ timeout: '0.5ms' })), ['spec.http[0].timeout']);
  assert.deepEqual(errorPaths('VirtualService', h({ retries: { attempts: 0, retryOn: '5xx' } })), ['spec.http[0].retries.attempts']);
  assert.deepEqual(errorPaths('VirtualService', h({ retries: { attempts: 2, retryOn: 'sometimes' } })), ['spec.http[0].retries.retryOn']);
  assert.deepEqual(errorPaths('VirtualService', h({ fault: { abort: { httpStatus: 700, percentage: { value: 150 } } } })), ['spec.http[0].fault.abort.percentage.value', 'spec.http[0].fault.abort.httpStatus']);
  assert.deepEqual(errorPaths('VirtualService', h({ fault: { delay: { fixedDelay: '5s', percentage: { value: 10 } }, abort: { grpcStatus: 'UNAVAILABLE' } } })), []);
  assert.deepEqual(errorPaths('VirtualService', h({ fault: {} })), ['spec.http[0].fault']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ redirect: { uri: '/n', redirectCode: 200 } }] }), ['spec.http[0].redirect.redirectCode']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [{ redirect: { port: 8080, derivePort: 'FROM_REQUEST_PORT' } }] }), ['spec.http[0].redirect.derivePort']);
  assert.deepEqual(errorPaths('VirtualService', h({ rewrite: { uri: '/x', uriRegexRewrite: { match: 'a', rewrite: 'b' } } })), ['spec.http[0].rewrite.uriRegexRewrite']);
  assert.deepEqual(errorPaths('VirtualService', h({ rewrite: { authority: 'b' }, headers: { request: { set: { host: 'c' } } } })), ['spec.http[0].headers.request.set.host']);
  assert.deepEqual(errorPaths('VirtualService', h({ headers: { response: { set: { ':status': '200' } } } })), ['spec.http[0].headers.response.set[":status"]']);
  assert.deepEqual(errorPaths('VirtualService', h({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }], allowMethods: ['GET', 'FETCH'], maxAge: '24h' } })), ['spec.http[0].corsPolicy.allowMethods[1]']);
  assert.deepEqual(issuesOf('VirtualService', h({ mirrorPercent: 50, mirror: { host: 'b' } }), 'warning'), ['spec.http[0].mirrorPercent: using deprecated setting "mirrorPercent", use "mirrorPercentage" instead']);
});

test('TLS and TCP routes: SNI hosts within the VirtualService hosts, subnets are CIDRs, a route is required', () => {
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['*.example.com'], tls: [{ match: [{ sniHosts: ['a.example.com'], port: 443 }], route: [route('a')] }] }), []);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['*.example.com'], tls: [{ match: [{ sniHosts: ['a.other.com'] }], route: [route('a')] }] }), ['spec.tls[0].match[0].sniHosts[0]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], tls: [{ route: [route('a')] }] }), ['spec.tls[0].match', 'spec.tls[0].match']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [route('a')] }] }), ['spec.tcp[0].match[0].destinationSubnets[0]']);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], tcp: [{}] }), ['spec.tcp[0].route']);
});

test('unreachable rules are warnings: after a catch-all, or with every match repeating an earlier rule', () => {
  const r = (match?: object[], name?: string) => ({ ...(name ? { name } : {}), ...(match ? { match } : {}), route: [route('a')] });
  const warn = (http: object[]) => issuesOf('VirtualService', { hosts: ['a'], http }, 'warning');
  assert.deepEqual(warn([r([{ uri: { prefix: '/a' } }]), r()]), []);
  assert.deepEqual(warn([r(), r([{ uri: { prefix: '/a' } }])]), ['spec.http[1]: virtualService rule #1 not used (route without matches defined before, at rule #0)']);
  assert.deepEqual(warn([r([{ uri: { prefix: '/a' }, method: { exact: 'GET' } }], 'first'), r([{ method: { exact: 'GET' }, uri: { prefix: '/a' } }], 'second')]), [
    'spec.http[1].match[0]: virtualService rule "second" match #0 is not used (duplicate match in rule "first")',
    'spec.http[1]: virtualService rule "second" not used (all matches used by prior rules)',
  ]);
  assert.deepEqual(errorPaths('VirtualService', { hosts: ['a'], http: [r(), r()] }), []);
});
