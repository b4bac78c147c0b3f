// model: tests for host resolution, wildcard matching and host:port splitting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fqdn, hostMatches, hostsOverlap, mostSpecificMatch, splitHostPort } from './hosts.ts';

test('fqdn resolves short names as Istio/Kubernetes DNS does', () => {
  assert.equal(fqdn('reviews', 'default'), 'reviews.default.svc.cluster.local');
  assert.equal(fqdn('reviews', 'prod', 'example.internal'), 'reviews.prod.svc.example.internal');
  assert.equal(fqdn('reviews.other', 'default'), 'reviews.other'); // a dotted name is never short (Istio)
  assert.equal(fqdn('httpbin.org', 'default'), 'httpbin.org');
  assert.equal(fqdn('reviews.default.svc.cluster.local', 'x'), 'reviews.default.svc.cluster.local');
  assert.equal(fqdn('www.google.com', 'x'), 'www.google.com');
  assert.equal(fqdn('Reviews.Default.svc.cluster.local.', 'x'), 'reviews.default.svc.cluster.local');
});

test('fqdn leaves wildcards and IPs alone', () => {
  assert.equal(fqdn('*', 'default'), '*');
  assert.equal(fqdn('*.foo', 'default'), '*.foo');
  assert.equal(fqdn('*.foo.com', 'default'), '*.foo.com');
  assert.equal(fqdn('10.0.0.1', 'default'), '10.0.0.1');
  assert.equal(fqdn('::1', 'default'), '::1');
});

test('hostMatches follows wildcard semantics', () => {
  assert.ok(hostMatches('*', 'anything.example.com'));
  assert.ok(hostMatches('*.foo.com', 'a.foo.com'));
  assert.ok(hostMatches('*.foo.com', 'a.b.foo.com'));
  assert.ok(!hostMatches('*.foo.com', 'foo.com'));
  assert.ok(!hostMatches('*.foo.com', 'afoo.com'));
  assert.ok(hostMatches('*.foo.com', '*.b.foo.com'));
  assert.ok(!hostMatches('*.b.foo.com', '*.foo.com'));
  assert.ok(hostMatches('a.foo.com', 'A.foo.com'));
  assert.ok(!hostMatches('a.foo.com', 'b.foo.com'));
  assert.ok(!hostMatches('a.foo.com', '*.foo.com'));
  assert.ok(hostsOverlap('a.foo.com', '*.foo.com'));
  assert.ok(!hostsOverlap('a.bar.com', '*.foo.com'));
});

test('mostSpecificMatch prefers exact, then longest wildcard', () => {
  const pats = ['*', '*.com', '*.foo.com', 'a.foo.com'];
  assert.equal(mostSpecificMatch(pats, 'a.foo.com'), 'a.foo.com');
  assert.equal(mostSpecificMatch(pats, 'b.foo.com'), '*.foo.com');
  assert.equal(mostSpecificMatch(pats, 'bar.com'), '*.com');
  assert.equal(mostSpecificMatch(pats, 'bar.org'), '*');
  assert.equal(mostSpecificMatch(['x.com'], 'y.com'), undefined);
});

test('splitHostPort', () => {
  assert.deepEqual(splitHostPort('reviews:9080'), { host: 'reviews', port: 9080 });
  assert.deepEqual(splitHostPort('reviews'), { host: 'reviews' });
  assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(splitHostPort('[::1]'), { host: '::1' });
  assert.deepEqual(splitHostPort('::1'), { host: '::1' });
  assert.deepEqual(splitHostPort('a.com:99999'), { host: 'a.com:99999' });
  assert.deepEqual(splitHostPort('a.com:http'), { host: 'a.com:http' });
});
