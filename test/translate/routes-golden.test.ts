// test: golden files for route translation — every routes-* feature's RouteConfigurations for each
// proxy, normalized through protobuf (RIG_UPDATE_GOLDEN=1 rewrites them).
import { test } from 'node:test';
import { buildRouteConfiguration } from '../../src/xds/translate/routes/index.ts';
import { assertGolden, contextFor, loadGoldenInput, makeProxy, normalizeConfig, routeProxies, type ProxySpec } from '../helpers/golden.ts';

const { productpage, ratings, otherNs, ingress, grpcClient } = routeProxies;

interface Case { feature: string; proxies: { file: string; spec: ProxySpec; routes: string[] }[] }

const sidecar9080 = (extra: Case['proxies'] = []): Case['proxies'] => [{ file: 'productpage', spec: productpage, routes: ['9080'] }, ...extra];

export const cases: Case[] = [
  { feature: 'routes-default', proxies: sidecar9080([{ file: 'other-namespace', spec: otherNs, routes: ['9080'] }]) },
  { feature: 'routes-weighted', proxies: sidecar9080() },
  { feature: 'routes-header-match', proxies: sidecar9080([{ file: 'ratings', spec: ratings, routes: ['9080'] }, { file: 'other-namespace', spec: otherNs, routes: ['9080'] }]) },
  { feature: 'routes-fault', proxies: sidecar9080() },
  { feature: 'routes-retries', proxies: sidecar9080() },
  { feature: 'routes-timeout', proxies: sidecar9080() },
  { feature: 'routes-mirror', proxies: sidecar9080() },
  { feature: 'routes-cors', proxies: sidecar9080() },
  { feature: 'routes-rewrite', proxies: sidecar9080() },
  { feature: 'routes-redirect', proxies: sidecar9080() },
  { feature: 'routes-direct-response', proxies: sidecar9080() },
  { feature: 'routes-headers', proxies: sidecar9080() },
  { feature: 'routes-hash', proxies: sidecar9080() },
  { feature: 'routes-delegate', proxies: sidecar9080() },
  {
    feature: 'routes-gateway',
    proxies: [
      { file: 'ingressgateway', spec: ingress, routes: ['http.8080', 'http.8081', 'http.8082', 'https.8443.https.bookinfo-gateway.default'] },
      { file: 'productpage', spec: productpage, routes: ['9080'] },
    ],
  },
  { feature: 'routes-grpc', proxies: [{ file: 'grpc-client', spec: grpcClient, routes: ['outbound|7070||echo.default.svc.cluster.local', 'echo:7070'] }] },
  { feature: 'routes-http-proxy', proxies: [{ file: 'productpage', spec: productpage, routes: ['http_proxy', '9080', '80'] }] },
];

for (const c of cases) {
  test(`golden ${c.feature}`, () => {
    const ctx = contextFor(loadGoldenInput(c.feature));
    for (const p of c.proxies) {
      const proxy = makeProxy(p.spec);
      const routes = p.routes.map((n) => buildRouteConfiguration(ctx, proxy, n)).filter((r) => r !== undefined);
      assertGolden(c.feature, p.file, normalizeConfig({ routes }));
    }
  });
}
