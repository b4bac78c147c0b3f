// test/proxy: HTTP/2 downstream request validation through a proxy engine on 127.0.0.1 — 400 on the stream for a
// method that is not an upper-case token, an encoded NUL in :path and a #fragment, as the HTTP/1.1 parser answers;
// those 400s count, log and reach istio_requests_total like any other request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyTelemetry } from '../../src/proxy/telemetry/index.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { requestProblem } from '../../src/proxy/http/h2-downstream.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

async function proxyPort(): Promise<number> {
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/', direct: { status: 200, body: 'routed' } }])))], []));
  return engine.portOf('l')!;
}

function get(client: ClientHttp2Session, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': method, ':path': path });
    let status = 0, body = '';
    req.on('response', (h) => { status = Number(h[':status']); });
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

test('h2: malformed requests get 400 on their stream; the connection keeps serving', async () => {
  const port = await proxyPort();
  const client = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
  client.on('error', () => {});
  assert.deepEqual(await get(client, 'GET', '/ok'), { status: 200, body: 'routed' });
  const cases: Array<[string, string, RegExp]> = [
    ['get', '/x', /method/],
    ['GET', '/a%00b', /%00/],
    ['GET', '/admin#frag', /fragment/],
  ];
  for (const [m, p, why] of cases) {
    const r = await get(client, m, p);
    assert.equal(r.status, 400, `${m} ${p}`);
    assert.match(r.body, why);
  }
  // A method with a non-token character never reaches us: nghttp2 resets that stream (PROTOCOL_ERROR), as Envoy's
  // codec does; the session survives that too.
  await assert.rejects(get(client, 'G@T', '/x'), /PROTOCOL_ERROR/);
  // the same session still routes a good request afterwards
  assert.deepEqual(await get(client, 'POST', '/a%2Fb'), { status: 200, body: 'routed' });
  assert.equal(client.destroyed, false);
});

test('requestProblem: the checks one by one', () => {
  assert.equal(requestProblem('GET', '/a?b=%20'), undefined);
  assert.equal(requestProblem('CUSTOM-VERB', '/'), undefined);
  assert.match(requestProblem('Get', '/')!, /method/);
  assert.match(requestProblem('', '/')!, /method/);
  assert.match(requestProblem('GET', '/?q=%00')!, /%00/);
  assert.match(requestProblem('GET', '/p#')!, /fragment/);
});

test('h2: a malformed request\'s 400 is counted, access-logged with DPE and in istio_requests_total', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-h2-400-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const telemetry = new ProxyTelemetry({ node: { id: 'sidecar~127.0.0.1~web-1.front~front.svc.cluster.local', metadata: { NAMESPACE: 'front', WORKLOAD_NAME: 'web' } } });
  cleanups.push(() => telemetry.close());
  const records: RequestRecord[] = [];
  const engine = new Engine({ compileRouter: testRouter, telemetry, onRequestComplete: (r) => records.push(r) });
  cleanups.push(() => engine.close());
  const handler = httpHandler(routes('r', [{ prefix: '/', direct: { status: 200, body: 'routed' } }]), {
    accessLog: [{ name: 'envoy.access_loggers.file', kind: 'file', path: logPath, jsonFormat: { code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%', flags: '%RESPONSE_FLAGS%', proto: '%PROTOCOL%' } }],
  });
  await engine.apply(snapshot([listener('l', handler)], []));
  const client = h2connect(`http://127.0.0.1:${engine.portOf('l')!}`);
  cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
  client.on('error', () => {});
  assert.equal((await get(client, 'GET', '/fine')).status, 200);
  assert.equal((await get(client, 'GET', '/a%00b')).status, 400);
  assert.equal((await get(client, 'get', '/lower')).status, 400);

  const st = engine.stats;
  assert.equal(st.downstream_rq_total, 3);
  assert.equal(st.downstream_rq_2xx, 1);
  assert.equal(st.downstream_rq_4xx, 2);
  assert.equal(st.downstream_rq_active, 0);
  assert.deepEqual(records.filter((r) => r.status === 400).map((r) => [r.method, r.path, r.flags.join(',')]), [['GET', '/a%00b', 'DPE'], ['get', '/lower', 'DPE']]);
  assert.match(records.find((r) => r.status === 400)!.explanation ?? '', /malformed/);

  const rq = telemetry.stats().filter((m) => m.name === 'istio_requests_total') as Array<{ labels: Record<string, string>; value: number }>;
  const bad = rq.find((m) => m.labels.response_code === '400');
  assert.ok(bad, JSON.stringify(rq.map((m) => m.labels)));
  assert.equal(bad.value, 2);
  assert.equal(bad.labels.response_flags, 'DPE');
  assert.equal(rq.find((m) => m.labels.response_code === '200')?.value, 1);

  await telemetry.logs.sink(logPath).flushed();
  const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.code, l.path, l.flags, l.proto]), [
    [200, '/fine', '-', 'HTTP/2'], [400, '/a%00b', 'DPE', 'HTTP/2'], [400, '/lower', 'DPE', 'HTTP/2'],
  ]);
});
