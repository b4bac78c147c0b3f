// test: cluster translation — DestinationRule policy merging and mapping to Envoy fields, ServiceEntry
// resolution -> cluster type, TLS modes, proxyless gRPC clusters, names and durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor, makeProxy, parseValidConfig } from '../helpers/golden.ts';
import { effectivePolicy, outlierDetection, loadBalancer, httpProtocolOptions, circuitBreakers, localitySetting } from '../../src/xds/translate/clusters/policy.ts';
import { durationMs, duration } from '../../src/xds/translate/clusters/duration.ts';
import { clusterName, parseClusterName, istioMutualSni, inboundCluster } from '../../src/xds/translate/clusters/names.ts';
import { generateClusters, generateEndpoints } from '../../src/xds/translate/generate.ts';
import type { EnvoyResource } from '../../src/xds/translate/types.ts';

const byName = (list: EnvoyResource[], name: string): EnvoyResource => {
  const c = list.find((x) => x.name === name);
  assert.ok(c, `no cluster ${name}; have ${list.map((x) => x.name).join(', ')}`);
  return c;
};

test('names: format, parse and Istio SNI', () => {
  const n = clusterName('outbound', 9080, 'v1', 'reviews.default.svc.cluster.local');
  assert.equal(n, 'outbound|9080|v1|reviews.default.svc.cluster.local');
  assert.deepEqual(parseClusterName(n), { direction: 'outbound', port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' });
  assert.equal(inboundCluster(8080), 'inbound|8080||');
  assert.equal(parseClusterName('BlackHoleCluster'), undefined);
  assert.equal(parseClusterName('outbound|99999||x'), undefined);
  assert.equal(istioMutualSni('outbound|9080||r.default.svc.cluster.local'), 'outbound_.9080_._.r.default.svc.cluster.local');
});

test('durations: Go-style strings', () => {
  assert.equal(durationMs('1.5s'), 1500);
  assert.equal(durationMs('1h2m3s'), 3_723_000);
  assert.equal(durationMs('250ms'), 250);
  assert.equal(durationMs('10'), undefined);
  assert.equal(durationMs('abc'), undefined);
  assert.deepEqual(duration('2.25s'), { seconds: 2, nanos: 250_000_000 });
});

test('policy merge: subset replaces whole fields, port-level settings replace all four without inheriting', () => {
  const top = {
    loadBalancer: { simple: 'RANDOM' as const },
    connectionPool: { tcp: { maxConnections: 5 } },
    outlierDetection: { consecutive5xxErrors: 2 },
    portLevelSettings: [{ port: { number: 81 }, loadBalancer: { simple: 'ROUND_ROBIN' as const } }],
  };
  const p80 = effectivePolicy(top, undefined, 80);
  assert.equal(p80?.loadBalancer?.simple, 'RANDOM');
  assert.equal(p80?.connectionPool?.tcp?.maxConnections, 5);
  const p81 = effectivePolicy(top, undefined, 81);
  assert.equal(p81?.loadBalancer?.simple, 'ROUND_ROBIN');
  assert.equal(p81?.connectionPool, undefined, 'port-level settings do not inherit the connection pool');
  assert.equal(p81?.outlierDetection, undefined);
  const sub = effectivePolicy(top, { connectionPool: { http: { maxRetries: 1 } } }, 80);
  assert.equal(sub?.connectionPool?.tcp, undefined, 'a subset connectionPool replaces the whole field');
  assert.equal(sub?.connectionPool?.http?.maxRetries, 1);
  assert.equal(sub?.loadBalancer?.simple, 'RANDOM', 'unset subset fields inherit');
});

test('outlier detection: enforcement follows the counters; success rate off', () => {
  const od = outlierDetection({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 4, interval: '30s', maxEjectionPercent: 0 })!;
  assert.deepEqual(od.consecutive_5xx, { value: 0 });
  assert.deepEqual(od.enforcing_consecutive_5xx, { value: 0 });
  assert.deepEqual(od.enforcing_consecutive_gateway_failure, { value: 100 });
  assert.deepEqual(od.enforcing_success_rate, { value: 0 });
  assert.deepEqual(od.interval, { seconds: 30, nanos: 0 });
  assert.equal(od.max_ejection_percent, undefined);
  const legacy = outlierDetection({ consecutiveErrors: 7 })!;
  assert.deepEqual(legacy.consecutive_gateway_failure, { value: 7 });
  assert.equal(outlierDetection(undefined), undefined);
  const split = outlierDetection({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3 })!;
  assert.equal(split.split_external_local_origin_errors, true);
  assert.deepEqual(split.consecutive_local_origin_failure, { value: 3 });
});

test('load balancer mapping: Istio default LEAST_REQUEST, PASSTHROUGH -> ORIGINAL_DST, hashes, gRPC round robin', () => {
  assert.equal(loadBalancer(undefined, false).lb_policy, 'LEAST_REQUEST');
  assert.equal(loadBalancer({ simple: 'LEAST_CONN' }, false).lb_policy, 'LEAST_REQUEST');
  assert.equal(loadBalancer({ simple: 'ROUND_ROBIN' }, false).lb_policy, 'ROUND_ROBIN');
  assert.equal(loadBalancer({ simple: 'PASSTHROUGH' }, false).originalDst, true);
  assert.deepEqual(loadBalancer({ consistentHash: { minimumRingSize: 64 } }, false), { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 64 } } });
  assert.equal(loadBalancer({ consistentHash: { maglev: { tableSize: 101 } } }, false).lb_policy, 'MAGLEV');
  assert.equal(loadBalancer({ simple: 'LEAST_REQUEST' }, true).lb_policy, 'ROUND_ROBIN');
});

test('connection pool: breaker thresholds default to unlimited; protocol options for h2 and idle timeouts', () => {
  const cb = circuitBreakers({ http: { http2MaxRequests: 9 } }).thresholds as Record<string, unknown>[];
  assert.deepEqual(cb[0]!.max_requests, { value: 9 });
  assert.deepEqual(cb[0]!.max_connections, { value: 4294967295 });
  assert.equal(httpProtocolOptions(undefined, false), undefined);
  assert.deepEqual(httpProtocolOptions(undefined, true), { explicit_http_config: { http2_protocol_options: {} } });
  assert.deepEqual(httpProtocolOptions({ http: { h2UpgradePolicy: 'UPGRADE' } }, false), { explicit_http_config: { http2_protocol_options: {} } });
  const idle = httpProtocolOptions({ http: { idleTimeout: '15s', maxRequestsPerConnection: 1 } }, false)!;
  assert.deepEqual(idle.common_http_protocol_options, { idle_timeout: { seconds: 15, nanos: 0 }, max_requests_per_connection: { value: 1 } });
  assert.ok('use_downstream_protocol_config' in httpProtocolOptions({ http: { useClientProtocol: true } }, false)!);
});

test('locality setting: explicit, implied by outlier detection, or disabled', () => {
  assert.equal(localitySetting(undefined, undefined), undefined);
  assert.deepEqual(localitySetting(undefined, { consecutive5xxErrors: 1 }), {});
  assert.equal(localitySetting({ localityLbSetting: { enabled: false } }, { consecutive5xxErrors: 1 }), undefined);
});

const MESH_YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: team-a}
spec:
  hosts: [api.team-a.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  exportTo: ["."]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1, serviceAccount: api-sa}, {address: 10.0.0.2, serviceAccount: spiffe://other.td/ns/x/sa/y}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: team-a}
spec:
  host: api.team-a.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets: [{name: canary, labels: {track: canary}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: rr, namespace: team-a}
spec:
  hosts: [rr.example.com]
  location: MESH_EXTERNAL
  resolution: DNS_ROUND_ROBIN
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: one.example.com}, {address: two.example.com}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: grpc, namespace: team-a}
spec:
  hosts: [grpc.team-a.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 50051, name: grpc, protocol: GRPC}, {number: 53, name: udp-dns, protocol: UDP}]
  endpoints: [{address: 10.0.0.9}]
`;

test('ISTIO_MUTUAL: SDS "default" + "ROOTCA", SANs from workload identities, SNI per cluster', () => {
  const ctx = contextFor(parseValidConfig(MESH_YAML, 'mesh.yaml'));
  const clusters = generateClusters(ctx, makeProxy({ name: 'c', namespace: 'team-a' }));
  const c = byName(clusters, 'outbound|8080||api.team-a.svc.cluster.local');
  const tls = (c.transport_socket as EnvoyResource).typed_config as Record<string, any>;
  assert.equal(tls.sni, 'outbound_.8080_._.api.team-a.svc.cluster.local');
  assert.deepEqual(tls.common_tls_context.tls_certificate_sds_secret_configs.map((s: any) => s.name), ['default']);
  assert.equal(tls.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.deepEqual(tls.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names,
    [{ exact: 'spiffe://cluster.local/ns/team-a/sa/api-sa' }, { exact: 'spiffe://other.td/ns/x/sa/y' }]);
  // the subset inherits the top-level TLS policy and has its own SNI
  const canary = byName(clusters, 'outbound|8080|canary|api.team-a.svc.cluster.local');
  assert.equal(((canary.transport_socket as EnvoyResource).typed_config as any).sni, 'outbound_.8080_.canary_.api.team-a.svc.cluster.local');
});

test('exportTo ".": the service has no cluster outside its namespace', () => {
  const ctx = contextFor(parseValidConfig(MESH_YAML, 'mesh.yaml'));
  const names = generateClusters(ctx, makeProxy({ name: 'c', namespace: 'elsewhere' })).map((c) => c.name);
  assert.ok(!names.includes('outbound|8080||api.team-a.svc.cluster.local'));
  assert.ok(names.includes('outbound|80||rr.example.com'));
});

test('DNS_ROUND_ROBIN -> LOGICAL_DNS with exactly one address; UDP ports get no cluster; h2 for gRPC ports', () => {
  const ctx = contextFor(parseValidConfig(MESH_YAML, 'mesh.yaml'));
  const clusters = generateClusters(ctx, makeProxy({ name: 'c', namespace: 'team-a' }));
  const rr = byName(clusters, 'outbound|80||rr.example.com');
  assert.equal(rr.type, 'LOGICAL_DNS');
  const la = rr.load_assignment as any;
  assert.equal(la.endpoints.flatMap((l: any) => l.lb_endpoints).length, 1);
  assert.ok(!clusters.some((c) => String(c.name).startsWith('outbound|53|')));
  const g = byName(clusters, 'outbound|50051||grpc.team-a.svc.cluster.local');
  assert.ok((g.typed_extension_protocol_options as any)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
});

test('proxyless gRPC: only EDS clusters, round robin, no fixed clusters; endpoints for each', () => {
  const ctx = contextFor(parseValidConfig(MESH_YAML, 'mesh.yaml'));
  const proxy = makeProxy({ name: 'g', namespace: 'team-a', metadata: { GENERATOR: 'grpc' } });
  const clusters = generateClusters(ctx, proxy);
  assert.ok(clusters.length > 0);
  for (const c of clusters) {
    assert.equal(c.type, 'EDS', String(c.name));
    assert.ok(c.lb_policy === undefined || c.lb_policy === 'ROUND_ROBIN' || c.lb_policy === 'RING_HASH');
    assert.equal(c.transport_socket, undefined);
  }
  const only = generateClusters(ctx, proxy, ['outbound|50051||grpc.team-a.svc.cluster.local']);
  assert.deepEqual(only.map((c) => c.name), ['outbound|50051||grpc.team-a.svc.cluster.local']);
  const cla = generateEndpoints(ctx, proxy, ['outbound|50051||grpc.team-a.svc.cluster.local']);
  assert.equal(cla.length, 1);
  assert.equal((cla[0]!.endpoints as any[])[0].lb_endpoints[0].endpoint.address.socket_address.address, '10.0.0.9');
});

test('SIMPLE TLS origination: SNI defaults to the service host; an explicit sni wins; wildcards get none', () => {
  const yaml = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com, "*.example.org"]
  location: MESH_EXTERNAL
  resolution: NONE
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.example.com
  trafficPolicy: {tls: {mode: SIMPLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: org, namespace: default}
spec:
  host: "*.example.org"
  trafficPolicy: {tls: {mode: SIMPLE}}
`;
  const ctx = contextFor(parseValidConfig(yaml, 'tls.yaml'));
  const clusters = generateClusters(ctx, makeProxy({ name: 'c' }));
  const sni = (n: string) => ((byName(clusters, n).transport_socket as any).typed_config.sni as string | undefined);
  assert.equal(sni('outbound|80||api.example.com'), 'api.example.com');
  assert.equal(sni('outbound|80||*.example.org'), undefined);
});
