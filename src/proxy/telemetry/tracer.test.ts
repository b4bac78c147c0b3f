// proxy/telemetry: the Zipkin reporter on fake time — span contents (ids, kind, µs timestamps, Envoy/Istio tags,
// custom tags, truncation), batching by count and by timer, the bounded queue, failed and impossible sends counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../common/clock.ts';
import type { TracingConfig } from '../config/types.ts';
import type { TraceDecision } from './trace.ts';
import { ZipkinTracer, httpSender, type SpanInput, type SpanRequest, type ZipkinSpan } from './tracer.ts';

const tracing: TracingConfig = {
  randomSamplingPercent: 100, maxPathTagLength: 20,
  customTags: [
    { tag: 'env', kind: 'literal', value: 'prod' },
    { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anon' },
    { tag: 'pod', kind: 'environment', name: 'POD_NAME', defaultValue: 'nopod' },
    { tag: 'missing', kind: 'header', name: 'x-none' },
  ],
  zipkin: { collectorCluster: 'outbound|9411||zipkin.istio-system.svc.cluster.local', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin.istio-system.svc.cluster.local' },
};
const headers: Record<string, string> = { 'x-user': 'ann', 'user-agent': 'curl/8' };
function input(over: Partial<SpanInput> = {}, trace: TraceDecision = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: 'c'.repeat(16), sampled: true }): SpanInput {
  return {
    trace, tracing, method: 'GET', scheme: 'http', path: '/a/very/long/path/that/is/cut', protocol: 'HTTP/1.1', requestId: 'rid-1',
    upstreamHost: '10.0.0.9:8080', downstreamRemote: '10.0.0.1:5555', header: (n) => headers[n],
    collector: () => ({ address: '127.0.0.1', port: 9411 }), ...over,
  };
}
const req = (over: Partial<SpanRequest> = {}): SpanRequest => ({
  inbound: false, cluster: 'outbound|8080||web.default.svc.cluster.local', authority: 'web:8080', status: 200, flags: [],
  durationMs: 12.5, requestBytes: 3, responseBytes: 7, ...over,
});
const self = { serviceName: 'client.default', ip: '10.0.0.1', nodeId: 'sidecar~10.0.0.1~client-1.default~default.svc.cluster.local' };

function setup(o: Partial<ConstructorParameters<typeof ZipkinTracer>[0]> = {}) {
  const clock = new FakeClock(1000);
  const posts: { target: { address: string; port: number; path: string; hostname: string }; spans: ZipkinSpan[] }[] = [];
  const tracer = new ZipkinTracer({
    self, clock, epochOffsetMs: 1_700_000_000_000, env: (n) => (n === 'POD_NAME' ? undefined : undefined),
    send: async (target, body) => { posts.push({ target, spans: JSON.parse(body) }); }, ...o,
  });
  return { clock, posts, tracer };
}

test('a CLIENT span carries the propagated ids, µs timestamps from the clock, Envoy and custom tags', async () => {
  const { clock, posts, tracer } = setup();
  clock.advance(500);
  tracer.record(req(), input());
  assert.equal(posts.length, 0, 'waits for the batch');
  clock.advance(1000);
  await tracer.flush();
  assert.equal(posts.length, 1);
  const p = posts[0]!;
  assert.deepEqual(p.target, { address: '127.0.0.1', port: 9411, path: '/api/v2/spans', hostname: 'zipkin.istio-system.svc.cluster.local' });
  const s = p.spans[0]!;
  assert.equal(s.traceId, 'a'.repeat(32));
  assert.equal(s.id, 'b'.repeat(16));
  assert.equal(s.parentId, 'c'.repeat(16));
  assert.equal(s.kind, 'CLIENT');
  // started at clock 1500 - 12.5 ms, on the epoch offset
  assert.equal(s.timestamp, Math.round((1_700_000_000_000 + 1500 - 12.5) * 1000));
  assert.equal(s.duration, 12500);
  assert.equal(s.name, 'web:8080/a/very/long'); // host + path, cut at max_path_tag_length
  assert.deepEqual(s.localEndpoint, { serviceName: 'client.default', ipv4: '10.0.0.1' });
  assert.deepEqual(s.remoteEndpoint, { ipv4: '10.0.0.9', port: 8080 });
  assert.equal(s.tags['http.url'], 'http://web:8080/a/very/long/path/th');
  assert.equal(s.tags['http.method'], 'GET');
  assert.equal(s.tags['http.status_code'], '200');
  assert.equal(s.tags.response_flags, '-');
  assert.equal(s.tags.upstream_cluster, 'outbound|8080||web.default.svc.cluster.local');
  assert.equal(s.tags.node_id, self.nodeId);
  assert.equal(s.tags['guid:x-request-id'], 'rid-1');
  assert.equal(s.tags.user_agent, 'curl/8');
  assert.equal(s.tags.env, 'prod');
  assert.equal(s.tags.user, 'ann');
  assert.equal(s.tags.pod, 'nopod');
  assert.equal('missing' in s.tags, false);
  assert.equal('error' in s.tags, false);
  assert.equal(tracer.counters.reported, 1);
});

test('SERVER spans for inbound; error on 5xx; response flags; no parent for a new trace', async () => {
  const { posts, tracer } = setup();
  tracer.record(req({ inbound: true, status: 503, flags: ['UF', 'URX'] }), input({}, { traceId: 'd'.repeat(32), spanId: 'e'.repeat(16), sampled: true }));
  await tracer.flush();
  const s = posts[0]!.spans[0]!;
  assert.equal(s.kind, 'SERVER');
  assert.equal(s.parentId, undefined);
  assert.equal(s.tags.error, 'true');
  assert.equal(s.tags.response_flags, 'UF,URX');
  assert.deepEqual(s.remoteEndpoint, { ipv4: '10.0.0.1', port: 5555 });
});

test('batches leave at minFlushSpans without waiting for the timer; no zipkin provider = nothing recorded', async () => {
  const { posts, tracer, clock } = setup({ minFlushSpans: 3 });
  tracer.record(req(), input({ tracing: { randomSamplingPercent: 100 } }));
  assert.equal(tracer.counters.spans, 0);
  for (let i = 0; i < 3; i++) tracer.record(req(), input());
  await new Promise((r) => setImmediate(r));
  assert.equal(posts.length, 1);
  assert.equal(posts[0]!.spans.length, 3);
  assert.equal(clock.pending(), 0, 'no timer left');
});

test('the queue is bounded: overflow is dropped and counted, never blocks', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const { tracer } = setup({ maxQueue: 5, minFlushSpans: 1000, maxInFlight: 1, send: () => gate });
  for (let i = 0; i < 8; i++) tracer.record(req(), input());
  assert.equal(tracer.pending, 5);
  assert.equal(tracer.counters.dropped, 3);
  const f = tracer.flush();
  assert.equal(tracer.pending, 0);
  release();
  await f;
  assert.equal(tracer.counters.reported, 5);
});

test('a failed POST and a collector with no endpoint drop their spans and count the failure', async () => {
  const a = setup({ send: async () => { throw new Error('refused'); } });
  a.tracer.record(req(), input());
  await a.tracer.flush();
  assert.deepEqual({ ...a.tracer.counters }, { spans: 1, reported: 0, dropped: 1, sendErrors: 1 });
  const b = setup();
  b.tracer.record(req(), input({ collector: () => undefined }));
  await b.tracer.flush();
  assert.equal(b.posts.length, 0);
  assert.equal(b.tracer.counters.dropped, 1);
});

test('httpSender POSTs Zipkin v2 JSON with the collector host header; non-2xx rejects', async () => {
  const got: { path?: string; host?: string; type?: string; body: string }[] = [];
  let status = 202;
  const srv = createServer((rq, rs) => {
    let body = '';
    rq.on('data', (c) => { body += c; });
    rq.on('end', () => { got.push({ path: rq.url, host: rq.headers.host, type: rq.headers['content-type'], body }); rs.statusCode = status; rs.end(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as AddressInfo).port;
    await httpSender({ address: '127.0.0.1', port, path: '/api/v2/spans', hostname: 'zipkin' }, '[{"id":"1"}]');
    assert.deepEqual(got[0], { path: '/api/v2/spans', host: 'zipkin', type: 'application/json', body: '[{"id":"1"}]' });
    status = 500;
    await assert.rejects(httpSender({ address: '127.0.0.1', port, path: '/x', hostname: 'z' }, '[]'), /500/);
  } finally {
    await new Promise((r) => srv.close(r));
    srv.closeAllConnections();
  }
});
