// test: translation never throws on odd input — seeded random mutations of golden inputs (fields
// dropped, emptied or replaced by values of the wrong shape, as a partly validated store could hold) must
// still generate a config that is consistent and encodes as protobuf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, type ProxySpec } from '../helpers/golden.ts';
import { generateListeners, generateClusters, generateEndpoints, missingReferences } from '../../src/xds/translate/generate.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';
import type { ConfigObject } from '../../src/config/types.ts';
import { mutate } from '../helpers/mutate.ts';
// The same seeded PRNG the load balancers use in tests (mulberry32): a failing seed reproduces.
import { seededRandom } from '../../src/proxy/upstream/lb/random.ts';

const ODD: unknown[] = [undefined, null, 0, -1, 70000, '', 'x', '*', [], {}, [{}], true, '1h', 'bad duration'];

const features: [string, ProxySpec[]][] = [
  ['clusters-traffic-policy', [{ name: 'c', ip: '10.0.0.1' }]],
  ['endpoints-locality', [{ name: 'c', labels: { 'istio-locality': 'us-east.zone1.a', version: 'v1' } }]],
  ['sidecar-captured', [{ name: 'r', ip: '10.244.0.5', labels: { app: 'reviews' } }]],
  ['sidecar-scoped', [{ name: 'c', namespace: 'shop', ip: '10.5.0.1' }]],
  ['gateway-servers', [{ type: 'router', name: 'g', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }]],
  ['proxyless-grpc', [{ name: 'g', metadata: { GENERATOR: 'grpc' } }]],
  ['sidecar-local', [{ name: 'l', ip: '127.0.0.11', labels: { app: 'reviews' }, metadata: { RIG_HTTP_PROXY_PORT: '15080', RIG_INBOUND_PORTS: '{"9080": 19080}', RIG_TCP_PORTS: '{"redis:6379": 16379}' } }]],
];

test('listeners, clusters and endpoints survive 60 random mutations per golden input', () => {
  for (const [feature, proxies] of features) {
    const base = loadGoldenInput(feature);
    for (let seed = 1; seed <= 60; seed++) {
      const r = seededRandom(seed * 7919 + feature.length);
      const objects = structuredClone(base) as ConfigObject[];
      // mutate what listener/cluster/endpoint translation reads itself: DestinationRules, Gateway TLS and the
      // L4 (tcp/tls) routes of VirtualServices; the model and HTTP route translation have their own tests
      const targets: unknown[] = [];
      for (const o of objects) {
        if (o.kind === 'DestinationRule') targets.push(o.spec);
        // Gateway servers' port/hosts also feed HTTP route translation: only their TLS settings here
        if (o.kind === 'Gateway') for (const sv of o.spec?.servers ?? []) if (sv.tls) targets.push(sv.tls);
        if (o.kind === 'VirtualService') for (const k of ['tcp', 'tls']) if (o.spec?.[k]) targets.push(o.spec[k]);
      }
      for (let n = 0; n < 3 && targets.length; n++) mutate(targets[Math.floor(r() * targets.length)], r, ODD);
      let ctx;
      try { ctx = contextFor(objects); } catch { continue; } // the model's robustness is tested with the model
      for (const spec of proxies) {
        const where = `${feature} seed ${seed} proxy ${spec.name}`;
        // listeners, clusters and endpoints only: HTTP route translation reads the same objects and has its own tests
        let cfg: GeneratedConfig;
        try {
          const proxy = makeProxy(spec);
          const clusters = generateClusters(ctx, proxy);
          cfg = { listeners: generateListeners(ctx, proxy), clusters, endpoints: generateEndpoints(ctx, proxy), routes: [], secrets: [] };
        } catch (e) { assert.fail(`${where}: translation threw ${(e as Error).stack}`); }
        assert.deepEqual(missingReferences(cfg).endpoints, [], where);
        try { normalizeConfig({ listeners: cfg.listeners, clusters: cfg.clusters, endpoints: cfg.endpoints }); } catch (e) { assert.fail(`${where}: ${(e as Error).message}`); }
      }
    }
  }
});
