// test/proxy: the engine applying resilience policies — retries (5xx, connect-failure with previous_hosts,
// exhaustion -> URX), circuit breaker overflow (UO), fault injection (FI, DI) and explanations.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { Engine } from '../../src/proxy/engine.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import { backend, cluster, httpHandler, listener, retryPolicy, routes, snapshot, testRouter, type Backend } from './engine-fixtures.ts';

let be: Backend;
let engine: Engine;
let port: number;
const records: RequestRecord[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const hits = new Map<string, number>();
const hosts: string[] = [];

function call(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: b, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
}
const rec = (path: string) => records.filter((r) => r.path === path).at(-1);

before(async () => {
  be = await backend((req, res) => {
    const n = (hits.get(req.url!) ?? 0) + 1;
    hits.set(req.url!, n);
    if (req.url === '/flaky' && n === 1) { res.statusCode = 503; res.end('first fails'); return; }
    if (req.url === '/always503') { res.statusCode = 503; res.end('down'); return; }
    if (req.url === '/slow') { setTimeout(() => res.end('slow ok'), 300); return; }
    if (req.url === '/mirrored') hosts.push(String(req.headers.host));
    res.end(`ok ${req.url} try ${n}`);
  });
  engine = new Engine({ compileRouter: testRouter, onRequestComplete: (r) => records.push(r) });
  const fault = (p: Partial<{ delayMs: number; abort: number }>) => ({
    headers: [], downstreamNodes: [],
    delay: p.delayMs ? { fixedDelayMs: p.delayMs, percentage: { numerator: 100, denominator: 100 as const }, headerControlled: false } : undefined,
    abort: p.abort ? { httpStatus: p.abort, percentage: { numerator: 100, denominator: 100 as const }, headerControlled: false } : undefined,
  });
  const rc = routes('r', [
    { prefix: '/flaky', retry: retryPolicy({ retryOn: ['5xx'], numRetries: 2 }) },
    { prefix: '/always503', retry: retryPolicy({ retryOn: ['5xx'], numRetries: 2 }) },
    { prefix: '/failover', cluster: 'halfdead', retry: retryPolicy({ retryOn: ['connect-failure'], numRetries: 3, retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'], hostSelectionRetryMaxAttempts: 5 }) },
    { prefix: '/abort', fault: fault({ abort: 418 }) },
    { prefix: '/delay', fault: fault({ delayMs: 150 }) },
    { prefix: '/slow', cluster: 'tiny' },
    { prefix: '/mirrored', mirror: 'c' },
    { prefix: '/cors', cors: {
      allowOrigins: [{ kind: 'exact', value: 'https://app.example', ignoreCase: false }], allowMethods: 'GET,POST', allowHeaders: 'x-custom',
      exposeHeaders: 'x-exposed', maxAge: '600', filterEnabled: { numerator: 100, denominator: 100 }, forwardNotMatchingPreflights: true,
    } },
    { prefix: '/' },
  ]);
  await engine.apply(snapshot([listener('l', httpHandler(rc))], [
    cluster('c', [{ address: '127.0.0.1', port: be.port }]),
    cluster('halfdead', [{ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: be.port }]),
    cluster('tiny', [{ address: '127.0.0.1', port: be.port }], { circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1, maxRetries: 3 }] }),
  ]));
  port = engine.portOf('l')!;
});

after(async () => { agent.destroy(); engine.close(); await be.close(); });

test('retries a 503 per retry_on 5xx and returns the successful attempt', async () => {
  const r = await call('/flaky');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok /flaky try 2');
  assert.deepEqual(rec('/flaky')?.flags, []);
  assert.ok(engine.stats.upstream_rq_retry >= 1);
});

test('gives up after num_retries with URX and passes the last response through', async () => {
  const r = await call('/always503');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'down');
  assert.equal(hits.get('/always503'), 3, '1 try + 2 retries');
  assert.deepEqual(rec('/always503')?.flags, ['URX']);
  assert.match(rec('/always503')?.explanation ?? '', /retr/i);
});

test('connect-failure retries move to another host (previous_hosts)', async () => {
  for (let i = 0; i < 4; i++) {
    const r = await call('/failover');
    assert.equal(r.status, 200, r.body);
  }
});

test('fault abort answers locally with FI; fault delay adds DI and still forwards', async () => {
  const a = await call('/abort');
  assert.equal(a.status, 418);
  assert.equal(a.body, 'fault filter abort');
  assert.deepEqual(rec('/abort')?.flags, ['FI']);
  const t0 = Date.now();
  const d = await call('/delay');
  assert.equal(d.status, 200);
  assert.ok(Date.now() - t0 >= 140, 'delayed');
  assert.deepEqual(rec('/delay')?.flags, ['DI']);
});

test('circuit breaker max_requests overflow answers 503 with UO', async () => {
  const [a, b] = await Promise.all([call('/slow'), new Promise<Awaited<ReturnType<typeof call>>>((r) => setTimeout(() => r(call('/slow')), 50))]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [200, 503]);
  assert.ok(records.some((r) => r.path === '/slow' && r.flags.includes('UO')));
  assert.match(records.find((r) => r.flags.includes('UO'))?.explanation ?? '', /\S/);
});

test('CORS: an allowed preflight is answered by the proxy; an allowed request gets allow-origin on the response', async () => {
  const before = hits.get('/cors') ?? 0;
  const pre = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/cors', method: 'OPTIONS', agent, headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
  assert.equal(hits.get('/cors') ?? 0, before, 'preflight never reached the upstream');
  const r = await call('/cors', { origin: 'https://app.example' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
  const other = await call('/cors', { origin: 'https://evil.example' });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('mirroring sends a fire-and-forget copy with Host "-shadow"; the client sees only the primary response', async () => {
  const r = await call('/mirrored', { host: 'svc:8080' });
  assert.equal(r.status, 200);
  for (let i = 0; i < 50 && hosts.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(hosts.slice().sort(), ['svc-shadow:8080', 'svc:8080']);
});
