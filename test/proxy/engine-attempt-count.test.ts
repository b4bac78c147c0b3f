// test/proxy: x-envoy-attempt-count when the virtual host asks for it (Istio sets include_request_attempt_count) —
// every upstream attempt carries its number, "1" included, with or without a retry policy; the response carries
// the final count when include_attempt_count_in_response is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { Engine } from '../../src/proxy/engine.ts';
import { backend, cluster, httpHandler, listener, retryPolicy, routes, snapshot, testRouter } from './engine-fixtures.ts';

test('x-envoy-attempt-count: 1 on the first attempt, then 2, 3 on retries; final count on the response', async () => {
  const seen = new Map<string, string[]>();
  let flakyHits = 0;
  const be = await backend((req, res) => {
    const list = seen.get(req.url!) ?? [];
    list.push(String(req.headers['x-envoy-attempt-count']));
    seen.set(req.url!, list);
    if (req.url === '/flaky' && ++flakyHits <= 2) { res.statusCode = 503; res.end('fail'); return; }
    res.end('ok');
  });
  const engine = new Engine({ compileRouter: testRouter });
  const agent = new Agent({ keepAlive: true });
  try {
    const rc = routes('r', [{ prefix: '/flaky', retry: retryPolicy({ retryOn: ['5xx'], numRetries: 3 }) }, { prefix: '/' }]);
    const vh = rc.virtualHosts[0];
    const withCounts = { ...rc, virtualHosts: [{ ...vh, includeAttemptCountInRequest: true, includeAttemptCountInResponse: true }] };
    await engine.apply(snapshot([listener('l', httpHandler(withCounts))], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
    const port = engine.portOf('l')!;
    const get = (path: string) => new Promise<{ status: number; count: unknown }>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path, agent }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode!, count: res.headers['x-envoy-attempt-count'] })); });
      r.on('error', reject);
      r.end();
    });
    assert.deepEqual(await get('/plain'), { status: 200, count: '1' });
    assert.deepEqual(seen.get('/plain'), ['1']);
    assert.deepEqual(await get('/flaky'), { status: 200, count: '3' });
    assert.deepEqual(seen.get('/flaky'), ['1', '2', '3']);
  } finally {
    agent.destroy();
    engine.close();
    await be.close();
  }
});
