// test: the top-level generator over big snapshots — Consistent() (every RDS name a listener uses has a
// route configuration, every EDS cluster a ClusterLoadAssignment), every resource lossless and accepted by
// the proxy's own decoders, per-proxy scoping despite memoization, and speed (1,000 services, 5,000
// endpoints, 200 proxies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contextFor, makeProxy, parseValidConfig, normalizeConfig, type ProxySpec } from '../helpers/golden.ts';
import { generate, generateRoutes, generateListeners, generateClusters, generateEndpoints, missingReferences } from '../../src/xds/translate/generate.ts';
import { assertDecodes } from '../helpers/decodes.ts';
import type { ConfigObject } from '../../src/config/types.ts';

function yamlDir(dir: string): ConfigObject[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => parseValidConfig(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
}

/** n synthetic services in `namespaces`, each with `eps` endpoints; every third TCP, every fifth with subsets. */
function synthetic(n: number, eps: number, namespaces: string[]): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    const ns = namespaces[i % namespaces.length]!;
    const tcp = i % 3 === 2;
    const endpoints = Array.from({ length: eps }, (_, j) => `{address: 10.${(i >> 8) & 255}.${i & 255}.${j + 1}, labels: {version: v${j % 2}}, locality: r${j % 2}/z${j % 3}}`).join(', ');
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${i}, namespace: ${ns}}
spec:
  hosts: [svc-${i}.${ns}.svc.cluster.local]
  addresses: [240.${(i >> 8) & 255}.${i & 255}.1]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${tcp ? 5000 + (i % 7) : 8080}, name: ${tcp ? 'tcp' : 'http'}, protocol: ${tcp ? 'TCP' : 'HTTP'}}]
  endpoints: [${endpoints}]`);
    if (i % 5 === 0) {
      docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-${i}, namespace: ${ns}}
spec:
  host: svc-${i}.${ns}.svc.cluster.local
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}, loadBalancer: {simple: ROUND_ROBIN}}
  subsets: [{name: v0, labels: {version: v0}}, {name: v1, labels: {version: v1}}]`);
    }
    if (i % 10 === 1) {
      docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: ${ns}}
spec:
  hosts: [svc-${i}.${ns}.svc.cluster.local]
  http:
  - match: [{headers: {x-canary: {exact: "1"}}}]
    route: [{destination: {host: svc-${i}.${ns}.svc.cluster.local}, weight: 100}]
    retries: {attempts: 2, perTryTimeout: 1s}
  - route: [{destination: {host: svc-${i}.${ns}.svc.cluster.local}}]`);
    }
  }
  return docs.join('\n---\n');
}

const bookinfoProxies: ProxySpec[] = [
  { name: 'productpage-v1-1', ip: '127.0.0.10', labels: { app: 'productpage', version: 'v1' } },
  { name: 'reviews-v2-1', ip: '127.0.0.12', labels: { app: 'reviews', version: 'v2' }, metadata: { RIG_HTTP_PROXY_PORT: '15080', RIG_INBOUND_PORTS: '{"9080": 19080}' } },
  { name: 'grpc-1', ip: '127.0.0.40', metadata: { GENERATOR: 'grpc' } },
  { type: 'router', name: 'ingress-1', ip: '127.0.0.50', labels: { istio: 'ingressgateway' } },
  { name: 'other-ns', namespace: 'ns-3', ip: '10.250.0.1', labels: { app: 'x' } },
];

function bigContext() {
  const objects = [
    ...yamlDir(resolve('examples/bookinfo/config')),
    ...yamlDir(resolve('../shared/conformance/istio/bookinfo')).filter((o) => !['Deployment', 'ServiceAccount'].includes(o.kind)),
    ...parseValidConfig(synthetic(50, 3, ['default', 'ns-1', 'ns-2', 'ns-3']), 'synthetic.yaml'),
  ];
  return contextFor(objects);
}

test('Consistent(): Bookinfo + 50 synthetic services, every proxy kind', () => {
  const ctx = bigContext();
  for (const spec of bookinfoProxies) {
    const cfg = generate(ctx, makeProxy(spec));
    assert.ok(cfg.clusters.length > 50, `${spec.name}: ${cfg.clusters.length} clusters`);
    assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] }, spec.name);
    // lossless protobuf for every resource (normalizeConfig asserts it)
    normalizeConfig(cfg);
    // per-type functions agree with generate()
    assert.deepEqual(generateClusters(ctx, makeProxy(spec)), cfg.clusters);
    assert.deepEqual(generateListeners(ctx, makeProxy(spec)), cfg.listeners);
    assert.deepEqual(generateRoutes(ctx, makeProxy(spec)).map((r) => r.name), cfg.routes.map((r) => r.name));
    assert.deepEqual(generateEndpoints(ctx, makeProxy(spec)).map((r) => r.cluster_name), cfg.endpoints.map((r) => r.cluster_name));
  }
});

test('the proxy data plane decodes everything a sidecar or gateway gets', () => {
  const ctx = bigContext();
  for (const spec of bookinfoProxies.filter((p) => !p.metadata?.GENERATOR)) {
    assertDecodes(spec.name, generate(ctx, makeProxy(spec)));
  }
});

test('memoization keeps proxies apart: namespaces, Sidecars and labels change the output', () => {
  const yaml = `${synthetic(6, 1, ['a', 'b'])}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: b}
spec:
  egress: [{hosts: ["./*"]}]
`;
  const ctx = contextFor(parseValidConfig(yaml, 's.yaml'));
  const inA = generateClusters(ctx, makeProxy({ name: 'p', namespace: 'a' })).map((c) => c.name);
  const inB = generateClusters(ctx, makeProxy({ name: 'q', namespace: 'b' })).map((c) => c.name);
  assert.ok(inA.some((n) => String(n).endsWith('.b.svc.cluster.local')), 'namespace a sees b');
  assert.ok(!inB.some((n) => String(n).endsWith('.a.svc.cluster.local')), 'the Sidecar in b hides a');
  // same scope, different workloads: inbound parts differ, outbound shared
  const p1 = generate(ctx, makeProxy({ name: 'w1', namespace: 'a', ip: '10.0.0.1' }));
  const p2 = generate(ctx, makeProxy({ name: 'w2', namespace: 'a', ip: '10.0.2.1' }));
  const inbound = (cfg: typeof p1) => cfg.clusters.filter((c) => String(c.name).startsWith('inbound|')).map((c) => c.name);
  assert.deepEqual(inbound(p1), ['inbound|8080||']);
  assert.deepEqual(inbound(p2), ['inbound|5002||']);
});

test('speed: 1,000 services, 5,000 endpoints, 200 proxies', () => {
  const namespaces = Array.from({ length: 10 }, (_, i) => `ns-${i}`);
  const objects = parseValidConfig(synthetic(1000, 5, namespaces), 'big.yaml');
  const ctx = contextFor(objects);
  const proxies = Array.from({ length: 200 }, (_, i) => makeProxy({
    name: `w-${i}`, namespace: namespaces[i % 10]!, ip: `10.${(i >> 8) & 255}.${i & 255}.1`, labels: { app: `svc-${i}`, version: `v${i % 2}` },
  }));
  const t0 = performance.now();
  let resources = 0;
  for (const p of proxies) {
    const cfg = generate(ctx, p);
    resources += cfg.listeners.length + cfg.clusters.length + cfg.endpoints.length + cfg.routes.length;
  }
  const ms = performance.now() - t0;
  console.log(`generate: 200 proxies, ${resources} resources in ${ms.toFixed(0)} ms`);
  assert.ok(resources > 200 * 1000, `every proxy sees every service (${resources})`);
  // the target is well under a second; the bound leaves room for a noisy shared machine
  assert.ok(ms < 4000, `took ${ms.toFixed(0)} ms`);
});
