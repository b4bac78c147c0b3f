// test/golden: tracing (Telemetry API + MeshConfig providers) -> HCM tracing blocks and the collector cluster, as
// goldens (test/golden/telemetry-tracing*/) plus the semantics they must show (scoping, CLIENT/SERVER, overrides).
// RIG_UPDATE_GOLDEN=1 rewrites the goldens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, assertGolden, parseValidConfig } from '../../helpers/golden.ts';
import { generate, generateClusters, generateEndpoints, missingReferences } from '../../../src/xds/translate/generate.ts';
import { assertDecodes } from '../../helpers/decodes.ts';
import { tracingPlan } from '../../../src/xds/translate/telemetry/index.ts';
import type { EnvoyResource, GeneratedConfig } from '../../../src/xds/translate/types.ts';
import { ZIPKIN_COLLECTOR_YAML } from '../../../src/model/test-helpers.ts';

const ZIPKIN = 'outbound|9411||zipkin.istio-system.svc.cluster.local';
const cart = { name: 'cart-1', namespace: 'shop', ip: '10.5.0.1', labels: { app: 'cart' } };
const orders = { name: 'orders-1', namespace: 'shop', ip: '10.5.0.2', labels: { app: 'orders' } };

/** Every HCM's tracing block, by stat_prefix. */
function tracings(cfg: GeneratedConfig): Map<string, Record<string, any> | undefined> {
  const out = new Map<string, Record<string, any> | undefined>();
  for (const l of cfg.listeners) {
    for (const c of (l.filter_chains as EnvoyResource[] | undefined) ?? []) {
      for (const f of (c.filters as EnvoyResource[]) ?? []) {
        const tc = f.typed_config as Record<string, any>;
        if (f.name === 'envoy.filters.network.http_connection_manager') out.set(String(tc.stat_prefix), tc.tracing);
      }
    }
  }
  return out;
}
const tagNames = (t: Record<string, any> | undefined) => (t?.custom_tags ?? []).map((x: { tag: string }) => x.tag);
function side(cfg: GeneratedConfig, inbound: boolean): Record<string, any>[] {
  return [...tracings(cfg)].filter(([k]) => k.startsWith('inbound_') === inbound).map(([, v]) => v!);
}

test('golden telemetry-tracing: scoping, CLIENT/SERVER, overrides, collector cluster outside the Sidecar scope', () => {
  const ctx = contextFor(loadGoldenInput('telemetry-tracing'));
  for (const [name, spec] of Object.entries({ cart, orders })) {
    const cfg = generate(ctx, makeProxy(spec));
    assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
    assertGolden('telemetry-tracing', name, normalizeConfig({ listeners: cfg.listeners, clusters: cfg.clusters, endpoints: cfg.endpoints }));
    assertDecodes(name, cfg);
    // the Sidecar egress ./* hides istio-system, but the collector is still there, with its endpoint
    assert.ok(cfg.clusters.some((c) => c.name === ZIPKIN), `${name}: collector cluster missing`);
    const cla = cfg.endpoints.find((e) => e.cluster_name === ZIPKIN);
    assert.match(JSON.stringify(cla), /10\.6\.0\.9/);
    // but no other istio-system service leaks in
    assert.ok(!cfg.clusters.some((c) => String(c.name).includes('istio-system') && c.name !== ZIPKIN));
  }
  const c = generate(ctx, makeProxy(cart));
  const out = side(c, false);
  const inn = side(c, true);
  assert.ok(out.length > 0 && inn.length > 0);
  for (const t of out) {
    // workload Telemetry (CLIENT): 100 %, its tags replace the mesh-wide ones; provider from defaultProviders
    assert.equal(t.random_sampling.value, 100);
    assert.equal(t.provider.name, 'envoy.tracers.zipkin');
    assert.equal(t.provider.typed_config.collector_cluster, ZIPKIN);
    assert.equal(t.provider.typed_config.collector_endpoint, '/api/v2/spans');
    assert.equal(t.provider.typed_config.collector_endpoint_version, 'HTTP_JSON');
    assert.equal(t.provider.typed_config.trace_id_128bit, true);
    assert.deepEqual(t.provider.typed_config.shared_span_context, { value: false });
    assert.deepEqual(t.max_path_tag_length, { value: 100 });
    assert.deepEqual(tagNames(t), ['istio.canonical_revision', 'istio.canonical_service', 'istio.cluster_id', 'istio.mesh_id', 'istio.namespace', 'pod', 'user']);
    const user = t.custom_tags.find((x: { tag: string }) => x.tag === 'user');
    assert.deepEqual(user.request_header, { name: 'x-user', default_value: 'anonymous' });
    assert.equal(t.custom_tags.find((x: { tag: string }) => x.tag === 'istio.canonical_service').literal.value, 'cart');
  }
  for (const t of inn) {
    // namespace Telemetry (SERVER): span reporting off — sampling and propagation stay, no provider
    assert.equal(t.random_sampling.value, 10);
    assert.equal(t.provider, undefined);
    assert.ok(tagNames(t).includes('env'));
  }
  const o = generate(ctx, makeProxy(orders));
  for (const t of side(o, false)) {
    // orders is not selected by the workload Telemetry: mesh-wide 10 % and the env tag
    assert.equal(t.random_sampling.value, 10);
    assert.equal(t.provider.typed_config.collector_cluster, ZIPKIN);
    assert.ok(tagNames(t).includes('env') && !tagNames(t).includes('user'));
  }
  // per-type generation (what the ADS server calls) agrees with generate()
  assert.ok(generateClusters(ctx, makeProxy(cart)).some((x) => x.name === ZIPKIN));
  assert.match(JSON.stringify(generateEndpoints(ctx, makeProxy(cart), [ZIPKIN])), /10\.6\.0\.9/);
});

test('golden telemetry-tracing-legacy: enableTracing + defaultConfig.tracing.zipkin.address', () => {
  const ctx = contextFor(loadGoldenInput('telemetry-tracing-legacy'));
  const cfg = generate(ctx, makeProxy({ name: 'web-1', ip: '10.1.0.1', labels: { app: 'web' } }));
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  assertGolden('telemetry-tracing-legacy', 'web', normalizeConfig({ listeners: cfg.listeners, clusters: cfg.clusters }));
  assertDecodes('web', cfg);
  const all = [...tracings(cfg).values()];
  assert.ok(all.length >= 2);
  for (const t of all) {
    assert.equal(t!.random_sampling.value, 50);
    assert.equal(t!.provider.typed_config.collector_cluster, ZIPKIN);
  }
});

const base = (extra: string) => parseValidConfig(`${loadGoldenYaml()}\n---\n${extra}`, 'inline.yaml');
function loadGoldenYaml(): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - {name: zipkin, zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}}
    - {name: otel, opentelemetry: {service: otel.istio-system.svc.cluster.local, port: 4317}}
    - {name: ghost, zipkin: {service: nowhere.example.com, port: 9411}}
---
${ZIPKIN_COLLECTOR_YAML}`;
}

test('no Telemetry and no default provider: the legacy path leaves hcm tracing as it was (sampling only)', () => {
  const ctx = contextFor(base(''));
  const cfg = generate(ctx, makeProxy({ name: 'a', ip: '10.0.0.1' }));
  const all = [...tracings(cfg).values()];
  assert.ok(all.length > 0);
  for (const t of all) {
    assert.equal(t?.provider, undefined);
    assert.equal(t?.random_sampling.value, 1);
  }
});

test('a Telemetry naming an unsupported or unresolvable provider turns that side off and reports why', () => {
  for (const [prov, why] of [['otel', /only zipkin/], ['ghost', /could not find service/], ['missing', /not defined/]] as const) {
    const objs = base(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t, namespace: default}
spec:
  tracing: [{providers: [{name: ${prov}}], randomSamplingPercentage: 100}]`);
    const ctx = contextFor(objs);
    const proxy = makeProxy({ name: 'a', ip: '10.0.0.1' });
    const plan = tracingPlan(ctx.snapshot, proxy, (h) => ctx.serviceByHost(h))!;
    assert.equal(plan.client.provider, undefined);
    assert.match(plan.problems[0]!.message, why);
    for (const t of tracings(generate(ctx, proxy)).values()) assert.equal(t, undefined, `${prov}: tracing should be off`);
  }
});

test('Telemetry 0 % keeps propagation with a provider; mode CLIENT leaves SERVER on the default; later levels override', () => {
  const objs = base(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  tracing: [{providers: [{name: zipkin}], randomSamplingPercentage: 0}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ns, namespace: default}
spec:
  tracing: [{match: {mode: CLIENT}, randomSamplingPercentage: 25.5}]`);
  const ctx = contextFor(objs);
  const proxy = makeProxy({ name: 'a', ip: '10.0.0.1' });
  const plan = tracingPlan(ctx.snapshot, proxy, (h) => ctx.serviceByHost(h))!;
  assert.equal(plan.client.sampling, 25.5);
  assert.equal(plan.server.sampling, 0);
  assert.equal(plan.server.provider?.cluster, ZIPKIN);
  // another namespace sees only the mesh-wide Telemetry
  const other = tracingPlan(ctx.snapshot, makeProxy({ name: 'b', namespace: 'other', ip: '10.0.0.2' }), (h) => ctx.serviceByHost(h))!;
  assert.equal(other.client.sampling, 0);
  for (const t of tracings(generate(ctx, proxy)).values()) assert.equal(t!.provider.typed_config.collector_cluster, ZIPKIN);
});
