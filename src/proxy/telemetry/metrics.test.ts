// proxy/telemetry: Istio standard metrics — reporter/source/destination labels per direction, counts, histograms,
// Prometheus rendering, and the bound on label sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IstioMetrics, type HttpCall } from './metrics.ts';
import { encodePeer, type Workload } from './labels.ts';
import { statsPrometheus } from '../admin/stats-format.ts';
import type { Stat } from '../admin/types.ts';

const client: Workload = { workload: 'web', namespace: 'front', principal: 'spiffe://cluster.local/ns/front/sa/web', app: 'web', version: 'v1', cluster: 'local' };
const server: Workload = { workload: 'reviews-v2', namespace: 'shop', principal: 'spiffe://cluster.local/ns/shop/sa/reviews', app: 'reviews', version: 'v2', cluster: 'local' };

function call(o: Partial<HttpCall>): HttpCall {
  return { inbound: false, cluster: 'outbound|9080|v2|reviews.shop.svc.cluster.local', status: 200, flags: '-', protocol: 'http', durationMs: 3, requestBytes: 0, responseBytes: 120, ...o };
}

function counters(stats: Stat[], name: string): { labels: Record<string, string>; value: number }[] {
  return stats.filter((s) => s.name === name && s.type === 'counter').map((s) => ({ labels: s.labels!, value: (s as { value: number }).value }));
}

test('outbound (reporter=source): source is this proxy, destination from the cluster name and the peer response header', () => {
  const m = new IstioMetrics(client);
  for (let i = 0; i < 3; i++) m.recordHttp(call({ peerMeta: encodePeer(server) }));
  m.recordHttp(call({ status: 503, flags: 'FI' }));
  const rq = counters(m.stats(), 'istio_requests_total');
  assert.equal(rq.length, 2);
  const ok = rq.find((r) => r.labels.response_code === '200')!;
  assert.equal(ok.value, 3);
  assert.equal(ok.labels.reporter, 'source');
  assert.equal(ok.labels.source_workload, 'web');
  assert.equal(ok.labels.source_workload_namespace, 'front');
  assert.equal(ok.labels.source_principal, client.principal);
  assert.equal(ok.labels.destination_workload, 'reviews-v2');
  assert.equal(ok.labels.destination_version, 'v2');
  assert.equal(ok.labels.destination_service, 'reviews.shop.svc.cluster.local');
  assert.equal(ok.labels.destination_service_name, 'reviews');
  assert.equal(ok.labels.destination_service_namespace, 'shop');
  assert.equal(ok.labels.response_flags, '-');
  assert.equal(ok.labels.request_protocol, 'http');
  assert.equal(ok.labels.connection_security_policy, 'unknown');
  const fi = rq.find((r) => r.labels.response_code === '503')!;
  assert.equal(fi.value, 1);
  assert.equal(fi.labels.response_flags, 'FI');
  assert.equal(fi.labels.destination_workload, 'unknown');
});

test('inbound (reporter=destination): destination is this proxy, source from the peer header and mTLS identity', () => {
  const m = new IstioMetrics(server);
  m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: 'reviews.shop.svc.cluster.local:9080', peerMeta: encodePeer(client), peerPrincipal: client.principal }));
  m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: '10.0.0.9:9080' }));
  const rq = counters(m.stats(), 'istio_requests_total');
  const mtls = rq.find((r) => r.labels.connection_security_policy === 'mutual_tls')!;
  assert.equal(mtls.labels.reporter, 'destination');
  assert.equal(mtls.labels.source_workload, 'web');
  assert.equal(mtls.labels.source_principal, client.principal);
  assert.equal(mtls.labels.destination_workload, 'reviews-v2');
  assert.equal(mtls.labels.destination_principal, server.principal);
  assert.equal(mtls.labels.destination_service, 'reviews.shop.svc.cluster.local');
  const plain = rq.find((r) => r.labels.connection_security_policy === 'none')!;
  assert.equal(plain.labels.source_workload, 'unknown');
  assert.equal(plain.labels.destination_service, 'unknown'); // an IP authority names no service
  assert.equal(plain.labels.destination_service_namespace, 'shop');
});

test('histograms per series, rendered as Prometheus _bucket/_sum/_count', () => {
  const m = new IstioMetrics(client);
  m.recordHttp(call({ durationMs: 3, requestBytes: 50, responseBytes: 5000 }));
  m.recordHttp(call({ durationMs: 30, requestBytes: 0, responseBytes: 5 }));
  const text = statsPrometheus(m.stats());
  assert.match(text, /# TYPE istio_request_duration_milliseconds histogram/);
  const line = (re: RegExp): string => text.split('\n').find((l) => re.test(l)) ?? '';
  assert.match(line(/^istio_request_duration_milliseconds_bucket\{.*le="5"\}/), / 1$/);
  assert.match(line(/^istio_request_duration_milliseconds_bucket\{.*le="50"\}/), / 2$/);
  assert.match(line(/^istio_request_duration_milliseconds_bucket\{.*le="\+Inf"\}/), / 2$/);
  assert.match(line(/^istio_request_duration_milliseconds_sum\{/), / 33$/);
  assert.match(line(/^istio_response_bytes_bucket\{.*le="10"\}/), / 1$/);
  assert.match(line(/^istio_request_bytes_count\{/), / 2$/);
  assert.match(line(/^istio_requests_total\{reporter="source",source_workload="web"/), / 2$/);
  assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE istio_requests_total')).length, 1);
});

test('label sets are bounded: past the limit new ones fold into one overflow series', () => {
  const m = new IstioMetrics(server, 10);
  for (let i = 0; i < 50; i++) m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: `host-${i}.example:80` }));
  const rq = counters(m.stats(), 'istio_requests_total');
  assert.equal(rq.length, 11);
  assert.equal(rq.reduce((a, r) => a + r.value, 0), 50);
  const over = rq.find((r) => r.labels.destination_service === 'unknown' && r.labels.response_code === 'unknown')!;
  assert.equal(over.value, 40);
  assert.equal(over.labels.reporter, 'destination');
  assert.equal(m.overflowed, 40);
});

test('TCP connections: opened/closed and bytes per series', () => {
  const m = new IstioMetrics(client);
  const s = m.tcpOpened({ inbound: false, cluster: 'outbound|5432||db.data.svc.cluster.local' });
  m.tcpOpened({ inbound: false, cluster: 'outbound|5432||db.data.svc.cluster.local' });
  m.tcpClosed(s, 100, 40);
  const st = m.stats();
  assert.equal(counters(st, 'istio_tcp_connections_opened_total')[0]!.value, 2);
  assert.equal(counters(st, 'istio_tcp_connections_closed_total')[0]!.value, 1);
  assert.equal(counters(st, 'istio_tcp_sent_bytes_total')[0]!.value, 100);
  assert.equal(counters(st, 'istio_tcp_received_bytes_total')[0]!.value, 40);
  assert.equal(counters(st, 'istio_tcp_sent_bytes_total')[0]!.labels.destination_service_name, 'db');
});

test('series are found by value: equal peer strings from new objects, many peers per cluster, gRPC and flagged responses apart', () => {
  const m = new IstioMetrics(server);
  const peers = Array.from({ length: 20 }, (_, i) => encodePeer({ ...client, workload: `web-${i}` }));
  // Each round builds fresh strings (as a parsed header would be), so matching cannot rely on identity.
  for (let round = 0; round < 3; round++) {
    for (const p of peers) m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: 'reviews.shop.svc.cluster.local:9080', peerMeta: p.split('').join('') }));
  }
  m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: 'reviews.shop.svc.cluster.local:9080', peerMeta: peers[0], protocol: 'grpc', grpcStatus: '14' }));
  m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: 'reviews.shop.svc.cluster.local:9080', peerMeta: peers[0], status: 503, flags: 'UO' }));
  m.recordHttp(call({ inbound: true, cluster: 'inbound|9080||', authority: 'reviews.shop.svc.cluster.local:9080', peerMeta: peers[0], grpcStatus: '' }));
  const rq = counters(m.stats(), 'istio_requests_total');
  assert.equal(rq.length, 22);
  for (let i = 0; i < 20; i++) {
    const r = rq.filter((x) => x.labels.source_workload === `web-${i}` && x.labels.response_code === '200' && x.labels.request_protocol === 'http');
    assert.equal(r.length, 1, `web-${i}`);
    assert.equal(r[0]!.value, i === 0 ? 4 : 3, `web-${i}`);
  }
  const grpc = rq.find((x) => x.labels.request_protocol === 'grpc')!;
  assert.equal(grpc.labels.grpc_response_status, '14');
  assert.equal(grpc.value, 1);
  const uo = rq.find((x) => x.labels.response_flags === 'UO')!;
  assert.equal(uo.labels.response_code, '503');
  assert.equal(uo.labels.source_workload, 'web-0');
});

test('interleaved clusters and directions keep separate series (the last-cluster shortcut never crosses them)', () => {
  const m = new IstioMetrics(client);
  const a = 'outbound|9080||a.shop.svc.cluster.local', b = 'outbound|9080||b.shop.svc.cluster.local';
  const inb = 'inbound|9080||';
  const order = [a, a, b, a, b, b, b, inb, a, inb];
  for (const c of order) m.recordHttp(call({ cluster: c, inbound: c === inb, authority: 'x.shop' }));
  // the same name once outbound and once inbound: two maps, two series
  m.recordHttp(call({ cluster: a, inbound: true, authority: 'x.shop' }));
  const rq = counters(m.stats(), 'istio_requests_total');
  const count = (reporter: string, svc: string): number => rq.filter((r) => r.labels.reporter === reporter && r.labels.destination_service === svc).reduce((n, r) => n + r.value, 0);
  assert.equal(count('source', 'a.shop.svc.cluster.local'), 4);
  assert.equal(count('source', 'b.shop.svc.cluster.local'), 4);
  assert.equal(rq.filter((r) => r.labels.reporter === 'destination').reduce((n, r) => n + r.value, 0), 3);
});
