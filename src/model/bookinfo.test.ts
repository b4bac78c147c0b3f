// model: integration over Istio's Bookinfo samples — FileStore (read-only on the shared folder) -> snapshot -> PushContext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileStore } from '../config/store/file.ts';
import { buildSnapshot } from './snapshot.ts';
import { PushContext } from './push-context.ts';
import { parseProxy } from './proxy.ts';
import type { Proxy } from './types.ts';

const dir = resolve(process.cwd(), '../shared/conformance/istio/bookinfo');

test('Bookinfo samples: conflicts between alternative files are reported, the first file keeps each object, and lookups work',
  { skip: existsSync(dir) ? false : `missing ${dir}` }, async () => {
    const store = await FileStore.open(dir, { debounceMs: 50 });
    try {
      // The samples are alternatives of each other: every later file redefining reviews is a reported conflict.
      const conflicts = store.issues().filter((i) => i.code === 'RIG105');
      assert.ok(conflicts.some((c) => c.name === 'default/reviews' && c.kind === 'VirtualService' && c.file!.endsWith('virtual-service-reviews-80-20.yaml')));
      assert.equal(store.fileOf('VirtualService', 'default', 'reviews'), resolve(dir, 'virtual-service-all-v1.yaml'));
      assert.equal(store.fileOf('DestinationRule', 'default', 'reviews'), resolve(dir, 'destination-rule-all-mtls.yaml'));

      const ctx = new PushContext(buildSnapshot(store.list(), '1'));
      const p = parseProxy({ id: 'sidecar~10.0.0.9~productpage-v1-0.default~default.svc.cluster.local', metadata: { LABELS: { app: 'productpage', version: 'v1' } } }) as Proxy;
      assert.ok(!(p instanceof Error));
      const hosts = ctx.servicesFor(p).map((s) => s.hostname);
      for (const h of ['details', 'productpage', 'ratings', 'reviews']) assert.ok(hosts.includes(`${h}.default.svc.cluster.local`), h);
      assert.ok(hosts.includes('www.googleapis.com'));
      const reviews = ctx.virtualServicesFor(p, ['mesh']).find((v) => v.metadata.name === 'reviews')!;
      assert.deepEqual(reviews.spec.hosts, ['reviews.default.svc.cluster.local']);
      assert.deepEqual(reviews.spec.http![0]!.route!.map((r) => `${r.destination.host}/${r.destination.subset}`), ['reviews.default.svc.cluster.local/v1']);
      const dr = ctx.destinationRuleFor(p, 'reviews.default.svc.cluster.local')!;
      assert.equal(dr.spec.trafficPolicy?.tls?.mode, 'ISTIO_MUTUAL');
      assert.deepEqual(dr.spec.subsets!.map((s) => s.name), ['v1', 'v2', 'v3']);
      // the ingress gateway binds the bookinfo VirtualService
      const gw = parseProxy({ id: 'router~10.0.0.10~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local', metadata: { LABELS: { istio: 'ingressgateway' } } }) as Proxy;
      const gws = ctx.gatewaysFor(gw).map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
      assert.ok(gws.includes('default/bookinfo-gateway'));
      assert.ok(ctx.virtualServicesFor(gw, gws).some((v) => v.metadata.name === 'bookinfo'));
    } finally { await store.close(); }
  });
