// e2e (tracing): a control plane, three sidecars (client -> frontend -> backend) as real processes, a frontend app
// that propagates trace headers, and a tiny Zipkin collector (an HTTP server in this test, registered as a
// ServiceEntry). Telemetry at 100 %: one request gives four spans in one trace (client CLIENT -> frontend SERVER ->
// frontend CLIENT -> backend SERVER) with parent links and Envoy/Istio tags; a fault abort is a failed span. A live edit to 0 % stops spans; an
// edit back with a custom tag brings them back carrying it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { startApp, type TestApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';
import { ZIPKIN_PROVIDER_MESH_YAML } from '../../src/model/test-helpers.ts';

interface Span {
  traceId: string; id: string; parentId?: string; name: string; kind: string; timestamp: number; duration: number;
  localEndpoint: { serviceName: string }; tags: Record<string, string>;
}

/** A Zipkin v2 collector: stores every span POSTed to /api/v2/spans. */
async function startCollector(): Promise<{ port: number; spans: Span[]; posts: number; close(): Promise<void> }> {
  const spans: Span[] = [];
  const sockets = new Set<Socket>();
  const c = { port: 0, spans, posts: 0, close: async () => {} };
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (x) => { body += x; });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v2/spans' || !(req.headers['content-type'] ?? '').includes('json')) { res.statusCode = 400; res.end(); return; }
      try { spans.push(...(JSON.parse(body) as Span[])); c.posts++; res.statusCode = 202; } catch { res.statusCode = 400; }
      res.end();
    });
  });
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  c.port = (srv.address() as AddressInfo).port;
  c.close = () => new Promise<void>((r) => { srv.close(() => r()); for (const s of sockets) s.destroy(); });
  return c;
}

const PROPAGATE = ['x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'traceparent'];

/** The frontend app: calls the backend through its own sidecar, copying the trace headers as Istio asks apps to. */
async function startFrontend(proxyPort: () => number): Promise<TestApp> {
  const sockets = new Set<Socket>();
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string> = { host: 'backend:9080' };
    for (const h of PROPAGATE) { const v = req.headers[h]; if (typeof v === 'string') headers[h] = v; }
    const up = request({ host: '127.0.0.1', port: proxyPort(), method: 'GET', path: `http://backend:9080${req.url ?? '/'}`, headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (x: Buffer) => chunks.push(x));
      r.on('end', () => { res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/json' }); res.end(Buffer.concat(chunks)); });
    });
    up.on('error', () => { res.statusCode = 502; res.end(); });
    up.end();
  });
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    name: 'frontend', port, seen: [], count: 0, inFlight: 0, maxInFlight: 0, set() {}, reset() {},
    close: () => new Promise<void>((r) => { srv.close(() => r()); for (const s of sockets) s.destroy(); }),
  };
}

function config(collectorPort: number): string {
  return `${ZIPKIN_PROVIDER_MESH_YAML}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: zipkin, namespace: istio-system}
spec:
  hosts: [zipkin.istio-system.svc.cluster.local]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 9411, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1, ports: {http: ${collectorPort}}}]
---
` + serviceEntry('frontend') + serviceEntry('backend') + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: frontend, namespace: default}
spec:
  hosts: [frontend]
  http:
  - match: [{headers: {x-test: {exact: abort}}}]
    fault: {abort: {percentage: {value: 100}, httpStatus: 503}}
    route: [{destination: {host: frontend}}]
  - route: [{destination: {host: frontend}}]
---
`;
}

function telemetry(percent: number, tags = ''): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: zipkin}]
    randomSamplingPercentage: ${percent}
${tags}`;
}

test('spans from every sidecar reach Zipkin in one trace; 0 % reports none; live Telemetry edits apply', { timeout: 120_000 }, async (t) => {
  const collector = await startCollector();
  const backend = await startApp('backend');
  let mesh: Mesh | undefined;
  const frontend = await startFrontend(() => mesh!.w('frontend').httpProxyPort);
  t.after(async () => { await mesh?.stop(); await frontend.close(); await backend.close(); await collector.close(); });
  mesh = await Mesh.start({
    config: config(collector.port) + telemetry(100),
    workloads: [
      { name: 'client', labels: { app: 'client', version: 'v1' } },
      { name: 'frontend', labels: { app: 'frontend', version: 'v1' }, app: frontend },
      { name: 'backend', labels: { app: 'backend', version: 'v2' }, app: backend },
    ],
  });
  const m = mesh;

  // End to end through both hops (the frontend's own outbound route must be there too).
  const first = await m.waitRoutable('client', 'http://frontend:9080/warmup', 30_000);
  const seen = first.json!.headers;
  const traceId = String(seen['x-b3-traceid']);
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.equal(seen['x-b3-sampled'], '1');

  // One request: four spans, one trace, linked client -> server -> client -> server.
  const r = await m.request('client', 'http://frontend:9080/checkout?item=1', { headers: { 'user-agent': 'e2e' } });
  assert.equal(r.status, 200);
  const tid = String(r.json!.headers['x-b3-traceid']);
  const rid = String(r.json!.headers['x-request-id']);
  const spans = await poll(() => { const s = collector.spans.filter((x) => x.traceId === tid); return s.length >= 4 ? s : undefined; }, 15_000, 100);
  assert.equal(spans.length, 4, JSON.stringify(spans, null, 1));
  const by = (svc: string, kind: string) => {
    const s = spans.find((x) => x.localEndpoint.serviceName === svc && x.kind === kind);
    assert.ok(s, `no ${kind} span from ${svc}: ${JSON.stringify(spans.map((x) => [x.localEndpoint.serviceName, x.kind]))}`);
    return s;
  };
  const c = by('client.default', 'CLIENT');
  const fs = by('frontend.default', 'SERVER');
  const fc = by('frontend.default', 'CLIENT');
  const bs = by('backend.default', 'SERVER');
  assert.equal(c.parentId, undefined, 'the client sidecar started the trace');
  assert.equal(fs.parentId, c.id, 'the frontend sidecar span is a child of the client sidecar span');
  assert.equal(fc.parentId, fs.id, 'the frontend app propagated its context to its outbound call');
  assert.equal(bs.parentId, fc.id);
  assert.equal(new Set(spans.map((s) => s.id)).size, 4);
  for (const s of spans) {
    assert.equal(s.tags['http.method'], 'GET');
    assert.equal(s.tags['http.status_code'], '200');
    assert.equal(s.tags.response_flags, '-');
    assert.equal(s.tags['guid:x-request-id'], rid, 'one request id through the chain');
    assert.match(s.tags.node_id!, /^sidecar~127\./);
    assert.ok(s.duration >= 1);
    assert.ok(Math.abs(s.timestamp / 1000 - Date.now()) < 60_000, 'timestamps are epoch microseconds');
    assert.equal(s.tags['istio.namespace'], 'default');
    assert.equal(s.tags.error, undefined);
  }
  assert.equal(c.tags['istio.canonical_service'], 'client');
  assert.equal(bs.tags['istio.canonical_service'], 'backend');
  assert.equal(bs.tags['istio.canonical_revision'], 'v2');
  assert.equal(c.tags.upstream_cluster, 'outbound|9080||frontend.default.svc.cluster.local');
  assert.equal(fc.tags.upstream_cluster, 'outbound|9080||backend.default.svc.cluster.local');
  assert.match(bs.tags.upstream_cluster!, /^inbound\|9080\|/);
  assert.match(c.tags['http.url']!, /^http:\/\/frontend:9080\/checkout\?item=1$/);
  assert.equal(c.tags.user_agent, 'e2e');
  assert.equal(c.name, 'frontend:9080/checkout?item=1');
  // a server span lies within its client span
  assert.ok(fs.timestamp + 5_000 >= c.timestamp && fs.duration <= c.duration + 5_000);

  // A local reply (fault abort) is traced too: a failed CLIENT span with Envoy's response flag.
  const ab = await m.request('client', 'http://frontend:9080/abort', { headers: { 'x-test': 'abort', 'x-request-id': 'abort-rid-1' } });
  assert.equal(ab.status, 503);
  const fault = await poll(() => collector.spans.find((x) => x.tags['guid:x-request-id'] === 'abort-rid-1'), 10_000, 100);
  assert.equal(fault.kind, 'CLIENT');
  assert.equal(fault.localEndpoint.serviceName, 'client.default');
  assert.equal(fault.tags['http.status_code'], '503');
  assert.equal(fault.tags.response_flags, 'FI');
  assert.equal(fault.tags.error, 'true');

  // Live edit: 0 % -> new traces unsampled, nothing reported.
  m.writeConfig('mesh.yaml', config(collector.port) + telemetry(0));
  await poll(async () => (await m.request('client', 'http://frontend:9080/probe')).json?.headers['x-b3-sampled'] === '0', 20_000, 200);
  const zero = await m.request('client', 'http://frontend:9080/zero');
  assert.equal(zero.status, 200);
  const zid = String(zero.json!.headers['x-b3-traceid']);
  const before = collector.spans.length;
  await new Promise((res) => setTimeout(res, 2500)); // two flush intervals
  assert.equal(collector.spans.filter((s) => s.traceId === zid).length, 0);
  assert.ok(collector.spans.slice(before).every((s) => s.tags['http.url']?.includes('/zero') !== true));

  // Live edit back to 100 % with a custom tag: spans return and carry it.
  m.writeConfig('mesh.yaml', config(collector.port) + telemetry(100, '    customTags:\n      team: {literal: {value: payments}}\n      caller: {header: {name: x-caller, defaultValue: nobody}}\n'));
  const tagged = await poll(async () => {
    const x = await m.request('client', 'http://frontend:9080/tagged', { headers: { 'x-caller': 'alice' } });
    const id = String(x.json?.headers['x-b3-traceid'] ?? '');
    if (x.json?.headers['x-b3-sampled'] !== '1') return undefined;
    await new Promise((res) => setTimeout(res, 1500));
    const s = collector.spans.filter((y) => y.traceId === id);
    return s.length >= 2 && s.some((y) => y.tags.team === 'payments') ? s : undefined;
  }, 30_000, 200);
  const cs = tagged.find((s) => s.kind === 'CLIENT' && s.localEndpoint.serviceName === 'client.default');
  assert.ok(cs);
  assert.equal(cs.tags.team, 'payments');
  assert.equal(cs.tags.caller, 'alice');

  // The reporter's counters are on the admin stats page.
  const stats = await m.admin('client', '/stats');
  assert.match(stats, /tracing\.zipkin\.spans_sent: [1-9]/);
  assert.match(stats, /tracing\.zipkin\.spans_dropped: 0/);
});
