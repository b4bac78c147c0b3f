// test: the simulator over the real generator's output (listeners + routes + clusters + endpoints):
// captured sidecar traffic, local mode (HTTP_PROXY, per-service TCP ports, inbound), gateways and
// proxyless gRPC all land on the route and endpoints the routes-* inputs describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, missingReferences } from '../../src/xds/translate/generate.ts';
import { simulate } from '../../src/xds/translate/simulate.ts';
import { contextFor, loadGoldenInput, makeProxy, normalizeConfig } from '../helpers/golden.ts';

const R = (s: string): string => `outbound|9080|${s}|reviews.default.svc.cluster.local`;
const addrs = (eps: { address: string }[] | undefined): string[] => (eps ?? []).map((e) => e.address).sort();

test('captured sidecar traffic to a VIP reaches the weighted subsets and their endpoints', () => {
  const ctx = contextFor(loadGoldenInput('routes-weighted'));
  const cfg = generate(ctx, makeProxy({ name: 'productpage-v1', ip: '10.1.0.10', labels: { app: 'productpage' } }));
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  normalizeConfig(cfg); // every resource survives protobuf encoding
  const r = simulate(cfg, { port: 9080, address: '10.96.0.12', host: 'reviews:9080', path: '/' });
  assert.equal(r.routeConfig, '9080');
  assert.equal(r.route, 'split');
  assert.deepEqual(r.weightedClusters, [{ name: R('v1'), weight: 75 }, { name: R('v2'), weight: 25 }]);
  assert.deepEqual(addrs(r.weightedEndpoints?.[R('v1')]), ['10.1.0.21']);
  assert.deepEqual(addrs(r.weightedEndpoints?.[R('v2')]), ['10.1.0.22']);
});

test('local mode: HTTP_PROXY listener, per-service TCP port listener and inbound listener', () => {
  const ctx = contextFor(loadGoldenInput('routes-header-match'));
  const proxy = makeProxy({
    name: 'productpage-v1', ip: '10.1.0.10', labels: { app: 'productpage' },
    metadata: { RIG_HTTP_PROXY_PORT: '15080', RIG_INBOUND_PORTS: '{"9080": 19080}', RIG_TCP_PORTS: '{"reviews:9080": 16000}' },
  });
  const cfg = generate(ctx, proxy);
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  const viaProxy = simulate(cfg, { port: 15080, address: '127.0.0.1', host: 'reviews:9080', path: '/', headers: { 'end-user': 'jason' } });
  assert.equal(viaProxy.routeConfig, 'http_proxy');
  assert.equal(viaProxy.cluster, R('v2'));
  assert.deepEqual(addrs(viaProxy.endpoints), ['10.1.0.22']);
  const viaPort = simulate(cfg, { port: 16000, address: '127.0.0.1', host: 'reviews:9080', path: '/items/7' });
  assert.equal(viaPort.cluster, R('v3'));
  const inbound = simulate(cfg, { port: 9080, address: '10.1.0.10', host: 'productpage:9080', path: '/' });
  assert.equal(inbound.cluster, 'inbound|9080||');
  assert.deepEqual(inbound.endpoints?.map((e) => `${e.address}:${e.port}`), ['127.0.0.1:19080']);
});

test('gateway: the generated 8080 listener routes through http.8080', () => {
  const ctx = contextFor(loadGoldenInput('routes-gateway'));
  const cfg = generate(ctx, makeProxy({ type: 'router', name: 'ingress', namespace: 'istio-system', ip: '10.1.0.2', labels: { istio: 'ingressgateway' } }));
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  const r = simulate(cfg, { port: 8080, host: 'bookinfo.example.com', path: '/productpage' });
  assert.equal(r.routeConfig, 'http.8080');
  assert.equal(r.cluster, 'outbound|9080||productpage.default.svc.cluster.local');
  const tls = simulate(cfg, { port: 8443, host: 'bookinfo.example.com', path: '/reviews/1', sni: 'bookinfo.example.com' });
  assert.equal(tls.routeConfig, 'https.8443.https.bookinfo-gateway.default');
  assert.equal(tls.virtualService, 'default/bookinfo-tls');
  assert.equal(tls.redirect?.path_redirect, '/r');
  assert.equal(simulate(cfg, { port: 8081, host: 'secure.example.com', path: '/productpage' }).redirect?.scheme_redirect, 'https');
  const blackhole = simulate(cfg, { port: 8082, host: 'nothing.example.com', path: '/' });
  assert.equal(blackhole.directResponse?.status, 404);
});

test('proxyless gRPC: api listener "host:port" -> RDS -> subset cluster', () => {
  const ctx = contextFor(loadGoldenInput('routes-grpc'));
  const cfg = generate(ctx, makeProxy({ name: 'echo-client', ip: '10.1.0.60', labels: { app: 'client' }, metadata: { GENERATOR: 'grpc' } }));
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  const listener = cfg.listeners.find((l) => String(l.name).startsWith('echo.default.svc.cluster.local:7070'));
  assert.ok(listener, `api listener for echo among ${cfg.listeners.map((l) => l.name).join(', ')}`);
  const r = simulate(cfg, { listener: String(listener.name), port: 7070, host: 'echo.default.svc.cluster.local:7070', path: '/echo.Echo/Call', method: 'POST', headers: { 'x-version': 'v2' } });
  assert.equal(r.cluster, 'outbound|7070|v2|echo.default.svc.cluster.local');
  assert.deepEqual(addrs(r.endpoints), ['10.1.0.52']);
});
