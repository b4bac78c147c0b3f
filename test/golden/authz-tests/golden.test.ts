// test: golden files for AuthorizationPolicy / RequestAuthentication translation (test/golden/authz-*/): each
// feature's input through buildSnapshot -> PushContext -> generate() for named proxies. <proxy>.golden.json holds
// the proxy's inbound listeners (all listeners for a gateway) in the shared { listeners: [...] } golden form, so
// the proxy's own golden decode tests cover RBAC and jwt_authn too; issues.json what the translation reports.
// Every chain of a proxy must carry the same security filters; every listener must be lossless protobuf and
// decode in the proxy. RIG_UPDATE_GOLDEN=1 rewrites the goldens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGoldenInput, makeProxy, normalizeConfig, assertGolden, GOLDEN_ROOT, type ProxySpec } from '../../helpers/golden.ts';
import { settings } from '../../../src/common/settings.ts';
import { buildSnapshot } from '../../../src/model/snapshot.ts';
import { PushContext } from '../../../src/model/push-context.ts';
import type { JwksResult } from '../../../src/model/types.ts';
import { generate, missingReferences } from '../../../src/xds/translate/generate.ts';
import { securityIssues } from '../../../src/xds/translate/security/index.ts';
import { assertDecodes } from '../../helpers/decodes.ts';

type R = Record<string, any>;
const HCM = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY = 'envoy.filters.network.tcp_proxy';

/** Checks every chain carries the same security filters; returns each chain's filter names. */
function checkChains(listeners: R[]): string[] {
  const http = new Set<string>(), tcp = new Set<string>();
  const chains: string[] = [];
  for (const l of listeners) {
    for (const c of l.filter_chains ?? []) {
      const names: string[] = [];
      for (const f of c.filters ?? []) {
        if (f.name === HCM) {
          const hf = (f.typed_config.http_filters ?? []) as R[];
          names.push(`${HCM}[${hf.map((h) => h.name).join(', ')}]`);
          http.add(JSON.stringify(hf.filter((h) => /jwt_authn|rbac|ext_authz/.test(h.name))));
        } else {
          names.push(f.name);
          if (f.name === TCP_PROXY) tcp.add(JSON.stringify((c.filters as R[]).filter((x) => x.name === 'envoy.filters.network.rbac')));
        }
      }
      chains.push(`${l.name} / ${c.name ?? '-'}: ${names.join(' -> ')}`);
    }
  }
  // one set of filters per proxy: every HTTP chain (and every TCP chain) must carry the same
  assert.ok(http.size <= 1, `HTTP chains differ in security filters: ${[...http].join('\n')}`);
  assert.ok(tcp.size <= 1, `TCP chains differ in security filters: ${[...tcp].join('\n')}`);
  return chains;
}

/** issues.json is not an xDS golden (the proxy's golden tests read every *.golden.json as resources). */
function assertIssues(feature: string, name: string, actual: unknown): void {
  const file = join(GOLDEN_ROOT, feature, `${name}.json`);
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (settings.updateGolden) { writeFileSync(file, text); return; }
  assert.ok(existsSync(file), `${file} is missing; run with RIG_UPDATE_GOLDEN=1 to create it`);
  assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')), `${file} differs; rerun with RIG_UPDATE_GOLDEN=1 and review the diff`);
}

interface Case { feature: string; proxies: Record<string, ProxySpec>; jwks?: Record<string, JwksResult>; router?: boolean }

const FETCHED_JWKS = '{"keys":[{"kty":"EC","crv":"P-256","kid":"fetched","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}';

const cases: Case[] = [
  {
    feature: 'authz-http', proxies: {
      reviews: { name: 'reviews-1', ip: '10.0.0.5', labels: { app: 'reviews' } },
      ratings: { name: 'ratings-1', ip: '10.0.0.6', labels: { app: 'ratings' } },
      'details-other-ns': { name: 'details-1', namespace: 'other', ip: '10.0.1.5', labels: { app: 'details' } },
      'reviews-local': { name: 'reviews-local', ip: '10.0.0.5', labels: { app: 'reviews' }, metadata: { RIG_INBOUND_PORTS: '{"9080": 19080}' } },
    },
  },
  {
    // the same input with the mesh-wide jwksUri fetched
    feature: 'authz-http', jwks: { 'https://issuer.example.com/jwks.json': { jwks: FETCHED_JWKS } }, proxies: {
      'ratings-jwks-fetched': { name: 'ratings-1', ip: '10.0.0.6', labels: { app: 'ratings' } },
    },
  },
  {
    feature: 'authz-tcp', proxies: {
      db: { name: 'db-1', ip: '10.0.2.5', labels: { app: 'db' } },
      cache: { name: 'cache-1', ip: '10.0.2.6', labels: { app: 'cache' } },
    },
  },
  {
    // CUSTOM with extensionProviders: HTTP ext_authz, gRPC ext_authz, unknown service, two providers
    feature: 'authz-tests/ext-authz', proxies: {
      web: { name: 'web-1', namespace: 'foo', ip: '10.0.3.5', labels: { app: 'web' } },
      api: { name: 'api-1', namespace: 'foo', ip: '10.0.3.6', labels: { app: 'api' } },
      both: { name: 'both-1', namespace: 'foo', ip: '10.0.3.7', labels: { app: 'both' } },
    },
  },
  {
    feature: 'authz-gateway', router: true, proxies: {
      ingress: { type: 'router', name: 'ingress-1', namespace: 'istio-system', ip: '10.9.0.1', labels: { istio: 'ingressgateway' } },
    },
  },
];

for (const c of cases) {
  const label = c.jwks ? `${c.feature} (jwks fetched)` : c.feature;
  test(`golden ${label}`, () => {
    const snap = buildSnapshot(loadGoldenInput(c.feature), 'test', c.jwks ? { jwks: new Map(Object.entries(c.jwks)) } : {});
    const ctx = new PushContext(snap);
    for (const [name, spec] of Object.entries(c.proxies)) {
      const cfg = generate(ctx, makeProxy(spec));
      assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] }, `${name}: config refers to resources it does not carry`);
      const inbound = c.router ? cfg.listeners : cfg.listeners.filter((l) => l.traffic_direction === 'INBOUND');
      const n = normalizeConfig({ listeners: inbound }); // lossless check included
      assert.ok(checkChains((n.listeners ?? []) as R[]).length > 0, `${name}: no chains`);
      assertGolden(c.feature, name, n);
      // the data plane's decoders must accept it (a proxy NACKs what it cannot decode)
      assertDecodes(name, cfg);
    }
    assertIssues(c.feature, c.jwks ? 'issues-jwks-fetched' : 'issues', securityIssues(snap, (h) => ctx.serviceByHost(h)));
  });
}
