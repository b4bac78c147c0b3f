// xds/translate/routes: unit tests for virtual host domain lists and durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { altHosts, serviceDomains } from './domains.ts';
import { parseDuration } from './duration.ts';
import type { Proxy, Service } from '../../../model/types.ts';

test('alt hosts: same namespace, other namespace, non-Kubernetes hosts', () => {
  assert.deepEqual(altHosts('reviews.default.svc.cluster.local', 9080, 'default.svc.cluster.local'),
    ['reviews', 'reviews:9080', 'reviews.default.svc', 'reviews.default.svc:9080', 'reviews.default', 'reviews.default:9080']);
  assert.deepEqual(altHosts('reviews.default.svc.cluster.local', 9080, 'other.svc.cluster.local'),
    ['reviews.default', 'reviews.default:9080', 'reviews.default.svc', 'reviews.default.svc:9080']);
  assert.deepEqual(altHosts('api.example.com', 443, 'default.svc.cluster.local'), []);
  assert.deepEqual(altHosts('foo.local.campus.net', 80, 'local.campus.net'), ['foo', 'foo:80']);
});

test('service domains: FQDN, alt hosts, VIP, each with and without port', () => {
  const svc = { hostname: 'ratings.default.svc.cluster.local', addresses: ['10.0.0.5'] } as Service;
  const d = serviceDomains(svc, 9080, { dnsDomain: 'default.svc.cluster.local' } as Proxy);
  assert.deepEqual(d.slice(0, 2), ['ratings.default.svc.cluster.local', 'ratings.default.svc.cluster.local:9080']);
  assert.deepEqual(d.slice(-2), ['10.0.0.5', '10.0.0.5:9080']);
  assert.equal(d.length, 10);
  const wild = serviceDomains({ hostname: '*.example.com', addresses: [] } as unknown as Service, 80, { dnsDomain: 'default.svc.cluster.local' } as Proxy);
  assert.deepEqual(wild, ['*.example.com', '*.example.com:80']);
});

test('durations', () => {
  assert.deepEqual(parseDuration('1.5s'), { seconds: 1, nanos: 500000000 });
  assert.deepEqual(parseDuration('1h30m'), { seconds: 5400 });
  assert.deepEqual(parseDuration('100ms'), { seconds: 0, nanos: 100000000 });
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseDuration(''), undefined);
});
