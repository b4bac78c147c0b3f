// test: security translation never throws on odd input — seeded random mutations of the authz golden inputs'
// AuthorizationPolicy / RequestAuthentication specs (fields dropped or replaced by values of the wrong shape, as a
// partly validated store could hold) must still give listeners that encode losslessly, and issues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, type ProxySpec } from '../../helpers/golden.ts';
import { generateListeners } from '../../../src/xds/translate/generate.ts';
import { securityIssues } from '../../../src/xds/translate/security/index.ts';
import { jwksSources } from '../../../src/xds/translate/security/jwks-resolver.ts';
import type { ConfigObject } from '../../../src/config/types.ts';
import { mutate } from '../../helpers/mutate.ts';
import { seededRandom } from '../../../src/proxy/upstream/lb/random.ts';

const ODD: unknown[] = [undefined, null, 0, -1, 70000, '', 'x', '*', '**', '/', 'a/b/*', '*/', [], {}, [{}], [null], ['*'], true, { key: 1 }];

const features: [string, ProxySpec[]][] = [
  ['authz-http', [{ name: 'r', ip: '10.0.0.5', labels: { app: 'reviews' } }, { name: 'd', namespace: 'other', ip: '10.0.1.5', labels: { app: 'details' } }]],
  ['authz-tcp', [{ name: 'db', ip: '10.0.2.5', labels: { app: 'db' } }, { name: 'c', ip: '10.0.2.6', labels: { app: 'cache' } }]],
  ['authz-gateway', [{ type: 'router', name: 'g', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }]],
];

test('security translation survives 80 random mutations per authz golden input', () => {
  for (const [feature, proxies] of features) {
    const base = loadGoldenInput(feature);
    for (let seed = 1; seed <= 80; seed++) {
      const r = seededRandom(seed * 104729 + feature.length);
      const objects = structuredClone(base) as ConfigObject[];
      const targets = objects.filter((o) => o.kind === 'AuthorizationPolicy' || o.kind === 'RequestAuthentication').map((o) => o.spec);
      for (let n = 0; n < 4 && targets.length; n++) mutate(targets[Math.floor(r() * targets.length)], r, ODD);
      const ctx = contextFor(objects);
      const where = `${feature} seed ${seed}`;
      try { securityIssues(ctx.snapshot); jwksSources(objects); } catch (e) { assert.fail(`${where}: issues threw ${(e as Error).stack}`); }
      for (const spec of proxies) {
        let listeners;
        try { listeners = generateListeners(ctx, makeProxy(spec)); } catch (e) { assert.fail(`${where} ${spec.name}: translation threw ${(e as Error).stack}`); }
        try { normalizeConfig({ listeners }); } catch (e) { assert.fail(`${where} ${spec.name}: ${(e as Error).message}`); }
      }
    }
  }
});
