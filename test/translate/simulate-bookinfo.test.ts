// test: Istio's Bookinfo routing samples (read in place from ../shared/conformance/istio/bookinfo) walked
// through the simulator from the productpage / reviews sidecars and the ingress gateway: each sample has
// the effect Istio's documentation (traffic management tasks) describes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simulate, type SimResult } from '../../src/xds/translate/simulate.ts';
import { contextFor, loadConfigFile, makeProxy, routesOnlyConfig } from '../helpers/golden.ts';
import type { ConfigObject } from '../../src/config/types.ts';

const DIR = resolve(process.cwd(), '../shared/conformance/istio/bookinfo');
const skip = existsSync(DIR) ? false : `Bookinfo samples not found at ${DIR}`;

const svc = (name: string, subset = ''): string => `outbound|9080|${subset}|${name}.default.svc.cluster.local`;

function scenario(...files: string[]) {
  const objects: ConfigObject[] = [];
  // later files first: the snapshot keeps the first object of a name, so a sample replaces the defaults
  for (const f of [...files].reverse()) objects.push(...loadConfigFile(join(DIR, f)));
  const ctx = contextFor(objects);
  const fromProductpage = routesOnlyConfig(ctx, makeProxy({ name: 'productpage-v1-1', ip: '10.1.0.10', labels: { app: 'productpage', version: 'v1' } }), ['9080']);
  const fromReviews = routesOnlyConfig(ctx, makeProxy({ name: 'reviews-v2-1', ip: '10.1.0.22', labels: { app: 'reviews', version: 'v2' } }), ['9080']);
  const call = (host: string, headers: Record<string, string> = {}, from = fromProductpage): SimResult =>
    simulate(from, { port: 9080, host: `${host}:9080`, path: '/', headers });
  return { ctx, call, fromReviews };
}

const BASE = ['platform-kube-bookinfo.yaml', 'destination-rule-all.yaml'];

test('without VirtualServices every service is reached through its default route', { skip }, () => {
  const { call } = scenario(...BASE);
  for (const s of ['productpage', 'reviews', 'ratings', 'details']) {
    const r = call(s);
    assert.equal(r.cluster, svc(s), s);
    assert.equal(r.route, 'default');
  }
});

test('virtual-service-all-v1: every service routes to v1', { skip }, () => {
  const { call, fromReviews } = scenario(...BASE, 'virtual-service-all-v1.yaml');
  for (const s of ['productpage', 'reviews', 'ratings', 'details']) assert.equal(call(s).cluster, svc(s, 'v1'), s);
  assert.equal(call('ratings', {}, fromReviews).cluster, svc('ratings', 'v1'));
});

test('virtual-service-reviews-test-v2: jason sees v2, everyone else v1', { skip }, () => {
  const { call } = scenario(...BASE, 'virtual-service-all-v1.yaml', 'virtual-service-reviews-test-v2.yaml');
  assert.equal(call('reviews', { 'end-user': 'jason' }).cluster, svc('reviews', 'v2'));
  assert.equal(call('reviews').cluster, svc('reviews', 'v1'));
  assert.equal(call('reviews', { 'end-user': 'alice' }).cluster, svc('reviews', 'v1'));
});

test('virtual-service-reviews-jason-v2-v3: jason -> v2, others -> v3', { skip }, () => {
  const { call } = scenario(...BASE, 'virtual-service-reviews-jason-v2-v3.yaml');
  assert.equal(call('reviews', { 'end-user': 'jason' }).cluster, svc('reviews', 'v2'));
  assert.equal(call('reviews').cluster, svc('reviews', 'v3'));
});

for (const [file, split] of [
  ['virtual-service-reviews-50-v3.yaml', [['v1', 50], ['v3', 50]]],
  ['virtual-service-reviews-80-20.yaml', [['v1', 80], ['v2', 20]]],
  ['virtual-service-reviews-90-10.yaml', [['v1', 90], ['v2', 10]]],
  ['virtual-service-reviews-v2-v3.yaml', [['v2', 50], ['v3', 50]]],
] as const) {
  test(`${file}: traffic shifted ${split.map(([s, w]) => `${w}% ${s}`).join(' / ')}`, { skip }, () => {
    const { call } = scenario(...BASE, file);
    assert.deepEqual(call('reviews').weightedClusters, split.map(([s, w]) => ({ name: svc('reviews', s), weight: w })));
  });
}

test('virtual-service-reviews-v3 and details-v2: a single subset', { skip }, () => {
  assert.equal(scenario(...BASE, 'virtual-service-reviews-v3.yaml').call('reviews').cluster, svc('reviews', 'v3'));
  assert.equal(scenario(...BASE, 'virtual-service-details-v2.yaml').call('details').cluster, svc('details', 'v2'));
});

test('virtual-service-ratings-test-delay: jason gets a 7s delay on ratings, others none', { skip }, () => {
  const { call, fromReviews } = scenario(...BASE, 'virtual-service-all-v1.yaml', 'virtual-service-ratings-test-delay.yaml');
  const j = call('ratings', { 'end-user': 'jason' }, fromReviews);
  assert.equal(j.cluster, svc('ratings', 'v1'));
  assert.deepEqual((j.fault as any)?.delay, { fixed_delay: { seconds: 7 }, percentage: { numerator: 1000000, denominator: 'MILLION' } });
  const o = call('ratings', {}, fromReviews);
  assert.equal(o.fault, undefined);
  assert.equal(o.cluster, svc('ratings', 'v1'));
});

test('virtual-service-ratings-test-abort: jason gets HTTP 500 from ratings, others reach v1', { skip }, () => {
  const { call, fromReviews } = scenario(...BASE, 'virtual-service-all-v1.yaml', 'virtual-service-ratings-test-abort.yaml');
  const j = call('ratings', { 'end-user': 'jason' }, fromReviews);
  assert.deepEqual((j.fault as any)?.abort, { http_status: 500, percentage: { numerator: 1000000, denominator: 'MILLION' } });
  assert.equal(call('ratings', {}, fromReviews).fault, undefined);
});

test('fault-injection-details-v1: every details call aborts with 555', { skip }, () => {
  const { call } = scenario(...BASE, 'fault-injection-details-v1.yaml');
  const r = call('details');
  assert.equal((r.fault as any)?.abort?.http_status, 555);
  assert.equal(r.cluster, svc('details', 'v1'));
});

test('virtual-service-ratings-db / mysql / mysql-vm: reviews v3 calls the database-backed ratings', { skip }, () => {
  for (const [file, subset] of [['virtual-service-ratings-db.yaml', 'v2'], ['virtual-service-ratings-mysql.yaml', 'v2-mysql'], ['virtual-service-ratings-mysql-vm.yaml', 'v2-mysql-vm']] as const) {
    const { call, fromReviews } = scenario(...BASE, file);
    assert.equal(call('reviews').cluster, svc('reviews', 'v3'), file);
    assert.equal(call('ratings', {}, fromReviews).cluster, svc('ratings', subset), file);
  }
});

test('bookinfo-gateway: the ingress gateway exposes productpage paths on port 8080, nothing else', { skip }, () => {
  const { ctx } = scenario(...BASE, 'bookinfo-gateway.yaml');
  const gw = makeProxy({ type: 'router', name: 'istio-ingressgateway-1', namespace: 'istio-system', labels: { istio: 'ingressgateway' } });
  const cfg = routesOnlyConfig(ctx, gw, ['http.8080']);
  for (const path of ['/productpage', '/static/css/x.css', '/login', '/logout', '/api/v1/products/1']) {
    assert.equal(simulate(cfg, { port: 8080, host: 'bookinfo.example.com', path }).cluster, svc('productpage'), path);
  }
  assert.match(simulate(cfg, { port: 8080, host: 'x', path: '/admin' }).error ?? '', /no route/);
  // sidecars are not affected by a VirtualService bound only to the gateway
  const { call } = scenario(...BASE, 'bookinfo-gateway.yaml');
  assert.equal(call('productpage').route, 'default');
});
