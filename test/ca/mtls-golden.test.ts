// test/ca: golden files for mesh mTLS translation (test/golden/mtls-*): auto mTLS on outbound clusters and
// PeerAuthentication modes on inbound listeners, checked lossless, consistent and accepted by the proxy's decoders.
// RIG_UPDATE_GOLDEN=1 rewrites them. Also asserts the key facts directly so a careless golden refresh cannot hide them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, assertGolden } from '../helpers/golden.ts';
import { generate, missingReferences } from '../../src/xds/translate/generate.ts';
import { decodeCluster, decodeListener } from '../../src/proxy/config/decode.ts';
import { normalize, TypeUrl } from '../../src/envoy/protos.ts';
import type { EnvoyResource } from '../../src/xds/translate/types.ts';

const byName = (list: EnvoyResource[], n: string) => list.find((r) => r.name === n);

function decodeAll(listeners: EnvoyResource[], clusters: EnvoyResource[]) {
  for (const l of listeners) assert.equal(decodeListener(normalize(TypeUrl.Listener, l)).errors, undefined, String(l.name));
  return clusters.map((c) => {
    const d = decodeCluster(normalize(TypeUrl.Cluster, c));
    assert.equal(d.errors, undefined, String(c.name));
    return d.value!;
  });
}

test('golden mtls-auto: outbound clusters', () => {
  const ctx = contextFor(loadGoldenInput('mtls-auto'));
  const cfg = generate(ctx, makeProxy({ name: 'client', ip: '10.0.0.1' }));
  assert.deepEqual(missingReferences(cfg), { routes: [], endpoints: [] });
  const decoded = decodeAll([], cfg.clusters);
  const get = (n: string) => decoded.find((c) => c.name === n)!;
  const reviews = get('outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(reviews.tls, undefined);
  assert.deepEqual(reviews.transportSocketMatches.map((m) => [m.name, m.match, m.tls?.certificateSdsNames, m.tls?.matchSubjectAltNames.map((s) => s.value)]), [
    ['tlsMode-istio', { tlsMode: 'istio' }, ['default'], ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews']],
    ['tlsMode-disabled', {}, undefined, undefined],
  ]);
  assert.equal(get('outbound|9080||ratings.default.svc.cluster.local').transportSocketMatches.length, 0, 'DR tls DISABLE: no auto mTLS');
  assert.equal(get('outbound|9080||ratings.default.svc.cluster.local').tls, undefined);
  const details = get('outbound|9080||details.default.svc.cluster.local');
  assert.deepEqual(details.tls?.alpnProtocols, ['istio', 'h2']);
  assert.equal(details.transportSocketMatches.length, 0);
  assert.equal(get('outbound|443||api.example.com').transportSocketMatches.length, 0, 'MESH_EXTERNAL: no auto mTLS');
  assert.equal(get('outbound|5432||db.legacy.svc.cluster.local').transportSocketMatches.length, 0, 'destination namespace DISABLE');
  assertGolden('mtls-auto', 'client', normalizeConfig({ clusters: cfg.clusters, endpoints: cfg.endpoints }));
});

type Chain = { name: string; filter_chain_match?: { destination_port?: { value: number }; transport_protocol?: string }; transport_socket?: unknown };
const chainSummary = (l: EnvoyResource) => (l.filter_chains as Chain[]).map((c) => `${c.name} port=${c.filter_chain_match?.destination_port?.value ?? '*'} ${c.filter_chain_match?.transport_protocol ?? 'any'}${c.transport_socket ? ' +tls' : ''}`);

test('golden mtls-peerauthn: inbound chains per mode (captured and local mode)', () => {
  const ctx = contextFor(loadGoldenInput('mtls-peerauthn'));
  const web = makeProxy({ name: 'web-1', ip: '10.1.0.1', labels: { app: 'web' }, metadata: { SERVICE_ACCOUNT: 'web' } });
  const webCfg = generate(ctx, web);
  decodeAll(webCfg.listeners, webCfg.clusters);
  const vi = byName(webCfg.listeners, 'virtualInbound')!;
  assert.deepEqual(chainSummary(vi), [
    'inbound-mtls|8080|| port=8080 tls +tls', // mesh STRICT
    'inbound|9090|| port=9090 any', // portLevelMtls DISABLE
    'InboundPassthroughFilterChain port=* tls +tls',
  ]);
  assert.deepEqual((vi.listener_filters as { name: string }[]).map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);

  const old = makeProxy({ name: 'old-1', namespace: 'legacy', ip: '10.2.0.1', labels: { app: 'old' }, metadata: { RIG_INBOUND_PORTS: '{"7000": 17000}' } });
  const oldCfg = generate(ctx, old);
  decodeAll(oldCfg.listeners, oldCfg.clusters);
  const inbound = byName(oldCfg.listeners, '10.2.0.1_7000')!;
  assert.deepEqual(chainSummary(inbound), ['inbound-mtls|7000|| port=* tls +tls', 'inbound|7000|| port=* raw_buffer']); // namespace PERMISSIVE
  assert.deepEqual(inbound.listener_filters, [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TypeUrl.TlsInspector } }]);

  assertGolden('mtls-peerauthn', 'web', normalizeConfig({ listeners: webCfg.listeners.filter((l) => l.name === 'virtualInbound') }));
  assertGolden('mtls-peerauthn', 'old-local', normalizeConfig({ listeners: oldCfg.listeners }));
});
