// test: golden files for listeners, clusters and endpoints (test/golden/<feature>/): each feature's Istio
// input through buildSnapshot -> PushContext -> generate() for named proxies. Every emitted resource must
// be lossless protobuf, and the whole config consistent (every RDS name and EDS cluster is served).
// RIG_UPDATE_GOLDEN=1 rewrites the goldens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, assertGolden, type ProxySpec } from '../helpers/golden.ts';
import { generate, missingReferences } from '../../src/xds/translate/generate.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';
import { assertDecodes } from '../helpers/decodes.ts';

type Part = keyof GeneratedConfig;
interface Case { feature: string; proxies: Record<string, ProxySpec>; parts: Part[] }

const ALL: Part[] = ['listeners', 'clusters', 'endpoints'];

const cases: Case[] = [
  { feature: 'clusters-traffic-policy', parts: ['clusters'], proxies: { client: { name: 'client', ip: '10.0.0.1' } } },
  {
    feature: 'endpoints-locality', parts: ['endpoints'], proxies: {
      'us-east': { name: 'client-east', ip: '10.0.0.1', labels: { 'istio-locality': 'us-east.zone1.a', version: 'v1' } },
      'eu-west': { name: 'client-eu', ip: '10.0.0.2', labels: { 'istio-locality': 'eu-west.zone1', version: 'v2' } },
    },
  },
  { feature: 'serviceentry-resolution', parts: ALL, proxies: { client: { name: 'client', ip: '10.0.0.1' } } },
  { feature: 'sidecar-captured', parts: ALL, proxies: { reviews: { name: 'reviews-1', ip: '10.244.0.5', labels: { app: 'reviews' } } } },
  {
    feature: 'sidecar-local', parts: ALL, proxies: {
      reviews: {
        name: 'reviews-v1', ip: '127.0.0.11', labels: { app: 'reviews', version: 'v1' },
        metadata: { RIG_HTTP_PROXY_PORT: '15080', RIG_INBOUND_PORTS: '{"9080": 19080}', RIG_TCP_PORTS: '{"redis:6379": 16379, "ratings:9080": 16380}' },
      },
    },
  },
  { feature: 'sidecar-scoped', parts: ALL, proxies: { cart: { name: 'cart-1', namespace: 'shop', ip: '10.5.0.1' } } },
  { feature: 'gateway-servers', parts: ALL, proxies: { ingress: { type: 'router', name: 'ingress-1', namespace: 'istio-system', ip: '10.9.0.1', labels: { istio: 'ingressgateway' } } } },
  { feature: 'proxyless-grpc', parts: ALL, proxies: { client: { name: 'grpc-client', ip: '127.0.0.30', metadata: { GENERATOR: 'grpc' } } } },
];

for (const c of cases) {
  test(`golden ${c.feature}`, () => {
    const ctx = contextFor(loadGoldenInput(c.feature));
    for (const [name, spec] of Object.entries(c.proxies)) {
      const cfg = generate(ctx, makeProxy(spec));
      assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] }, `${name}: config refers to resources it does not carry`);
      const picked: Partial<GeneratedConfig> = {};
      for (const p of c.parts) picked[p] = cfg[p];
      // normalizeConfig checks every resource is lossless (no field protobuf would drop)
      const all = normalizeConfig(cfg);
      assert.ok(all.listeners || spec.metadata?.GENERATOR, `${name}: no listeners`);
      assertGolden(c.feature, name, normalizeConfig(picked));
      if (!spec.metadata?.GENERATOR) assertDecodes(name, cfg);
    }
  });
}
