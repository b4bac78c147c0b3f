// proxy/config: decode-tracing — the HCM tracing block as Istio emits it decodes; what the proxy cannot do is a NACK
// naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx } from './decode-common.ts';
import { decodeTracing } from './decode-tracing.ts';

const Z = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const zipkin = (over: Record<string, unknown> = {}) => ({
  name: 'envoy.tracers.zipkin',
  typed_config: {
    '@type': Z, collector_cluster: 'outbound|9411||zipkin.istio-system.svc.cluster.local', collector_endpoint: '/api/v2/spans',
    collector_endpoint_version: 'HTTP_JSON', trace_id_128bit: true, shared_span_context: {}, collector_hostname: 'zipkin.istio-system.svc.cluster.local', ...over,
  },
});

test('Istio tracing block: sampling, tag cap, custom tags, zipkin provider', () => {
  const ctx = new Ctx('Listener x');
  const t = decodeTracing({
    client_sampling: { value: 100 }, random_sampling: { value: 12.5 }, overall_sampling: { value: 100 }, max_path_tag_length: { value: 64 },
    custom_tags: [
      { tag: 'env', literal: { value: 'prod' } },
      { tag: 'user', request_header: { name: 'X-User', default_value: 'anon' } },
      { tag: 'pod', environment: { name: 'POD_NAME' } },
    ],
    provider: zipkin(),
  }, ctx, 'hcm.tracing');
  assert.deepEqual(ctx.errors, []);
  assert.equal(t.randomSamplingPercent, 12.5);
  assert.equal(t.maxPathTagLength, 64);
  assert.deepEqual(t.customTags, [
    { tag: 'env', kind: 'literal', value: 'prod' },
    { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anon' },
    { tag: 'pod', kind: 'environment', name: 'POD_NAME' },
  ]);
  assert.deepEqual(t.zipkin, {
    collectorCluster: 'outbound|9411||zipkin.istio-system.svc.cluster.local', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin.istio-system.svc.cluster.local',
  });
});

test('defaults: random_sampling 100 %, no provider (propagation only); hostname defaults to the cluster', () => {
  const ctx = new Ctx('Listener x');
  assert.deepEqual(decodeTracing({}, ctx, 't'), { randomSamplingPercent: 100 });
  const z = decodeTracing({ provider: zipkin({ collector_hostname: undefined }) }, ctx, 't').zipkin!;
  assert.equal(z.collectorHostname, z.collectorCluster);
  assert.deepEqual(ctx.errors, []);
});

test('NACKs what is not implemented, naming the field', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig' } } }, 't.provider', /only envoy.tracers.zipkin/],
    [{ provider: zipkin({ collector_endpoint_version: 'HTTP_PROTO' }) }, 't.provider.typed_config.collector_endpoint_version', /HTTP_PROTO/],
    [{ provider: zipkin({ trace_id_128bit: false }) }, 't.provider.typed_config.trace_id_128bit', /64-bit/],
    [{ provider: zipkin({ shared_span_context: undefined }) }, 't.provider.typed_config.shared_span_context', /shared span/],
    [{ provider: zipkin({ collector_cluster: '' }) }, 't.provider.typed_config.collector_cluster', /empty/],
    [{ overall_sampling: { value: 50 } }, 't.overall_sampling', /100 %/],
    [{ verbose: true }, 't.verbose', /verbose/],
    [{ custom_tags: [{ tag: 'm', metadata: { kind: {} } }] }, 't.custom_tags[0].metadata', /metadata/],
    [{ custom_tags: [{ tag: '', literal: { value: 'x' } }] }, 't.custom_tags[0].tag', /empty/],
  ];
  for (const [v, field, msg] of cases) {
    const ctx = new Ctx('Listener x');
    decodeTracing(v, ctx, 't');
    assert.equal(ctx.errors.length, 1, JSON.stringify(v));
    assert.equal(ctx.errors[0]!.field, field);
    assert.match(ctx.errors[0]!.message, msg);
  }
});
