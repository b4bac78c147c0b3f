// test/proxy: telemetry wired into the engine on real sockets — Istio metrics per request and per TCP connection,
// the xDS access log (JSON format) written to a file, trace headers started when the HCM traces, and the peer
// metadata header added upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/proxy/engine.ts';
import { ProxyTelemetry } from '../../src/proxy/telemetry/index.ts';
import type { TcpHandlerConfig } from '../../src/proxy/config/types.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

test('engine + telemetry: metrics, JSON access log, trace and peer headers; TCP connection metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-tel-'));
  const logPath = join(dir, 'access.json');
  const seen: Record<string, string | string[] | undefined>[] = [];
  const be = await backend((req, res) => { seen.push(req.headers); res.end('hello'); });
  const echo = createTcpServer((s) => s.on('data', (b) => s.write(b)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as AddressInfo).port;
  const telemetry = new ProxyTelemetry({ node: { id: 'sidecar~127.0.0.1~web-1.front~front.svc.cluster.local', metadata: { NAMESPACE: 'front', WORKLOAD_NAME: 'web', LABELS: { app: 'web', version: 'v3' } } } });
  const engine = new Engine({ compileRouter: testRouter, telemetry });
  t.after(async () => { engine.close(); await be.close(); echo.close(); await telemetry.close(); rmSync(dir, { recursive: true, force: true }); });

  const svc = 'outbound|9080||reviews.shop.svc.cluster.local';
  const http = httpHandler(routes('r', [{ prefix: '/', cluster: svc }]), {
    accessLog: [{ name: 'envoy.access_loggers.file', kind: 'file', path: logPath, jsonFormat: { code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%', cluster: '%UPSTREAM_CLUSTER%', sent: '%BYTES_SENT%', rid: '%REQ(X-REQUEST-ID)%' } }],
    tracing: { randomSamplingPercent: 100 },
  });
  const tcp: TcpHandlerConfig = { kind: 'tcp', statPrefix: 't', cluster: 'outbound|5432||db.data.svc.cluster.local', idleTimeoutMs: 60_000, accessLog: [], maxConnectAttempts: 1 };
  await engine.apply(snapshot([listener('http', http), listener('tcp', tcp)], [
    cluster(svc, [{ address: '127.0.0.1', port: be.port }]),
    cluster('outbound|5432||db.data.svc.cluster.local', [{ address: '127.0.0.1', port: echoPort }]),
  ]));
  const port = engine.portOf('http')!;
  for (let i = 0; i < 4; i++) assert.equal((await get(port, `/x${i}`)).status, 200);

  // Upstream saw trace headers and this proxy's peer metadata.
  assert.equal(seen.length, 4);
  assert.match(String(seen[0]!['x-b3-traceid']), /^[0-9a-f]{32}$/);
  assert.equal(seen[0]!['x-b3-sampled'], '1');
  assert.match(String(seen[0]!.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(seen[0]!['x-rig-peer-metadata'], 'web;front;web;v3;unknown');

  // TCP: 3 bytes each way over one connection.
  await new Promise<void>((resolve, reject) => {
    const s = connect(engine.portOf('tcp')!, '127.0.0.1', () => s.write('abc'));
    s.on('data', () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
  });

  const stats = telemetry.stats();
  const rq = stats.filter((s) => s.name === 'istio_requests_total');
  assert.equal(rq.length, 1);
  assert.equal((rq[0] as { value: number }).value, 4);
  assert.equal(rq[0]!.labels!.reporter, 'source');
  assert.equal(rq[0]!.labels!.source_workload, 'web');
  assert.equal(rq[0]!.labels!.source_version, 'v3');
  assert.equal(rq[0]!.labels!.destination_service_name, 'reviews');
  const respBytes = stats.find((s) => s.name === 'istio_response_bytes');
  assert.ok(respBytes && respBytes.type === 'histogram');
  assert.equal(respBytes.sum, 20); // 4 x "hello"

  const val = (name: string): number => {
    const s = telemetry.stats().find((x) => x.name === name);
    return s && s.type === 'counter' ? s.value : -1;
  };
  // The downstream 'close' may land a tick after the client's.
  for (let i = 0; i < 200 && val('istio_tcp_connections_closed_total') !== 1; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(val('istio_tcp_connections_opened_total'), 1);
  assert.equal(val('istio_tcp_connections_closed_total'), 1);
  assert.equal(val('istio_tcp_received_bytes_total'), 3);
  assert.equal(val('istio_tcp_sent_bytes_total'), 3);

  await telemetry.logs.sink(logPath).flushed();
  const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => l.path), ['/x0', '/x1', '/x2', '/x3']);
  assert.equal(lines[0]!.code, 200);
  assert.equal(lines[0]!.sent, 5);
  assert.equal(lines[0]!.cluster, svc);
  assert.equal(lines[0]!.rid, seen[0]!['x-request-id']);
});
