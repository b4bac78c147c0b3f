// test/proxy: %RESPONSE_CODE_DETAILS% on real sockets — Envoy's names for how a request ended (via_upstream,
// fault_filter_abort, direct_response, route_not_found, upstream_reset_before_response_started{...}, timeouts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { Engine } from '../../src/proxy/engine.ts';
import type { AccessLogEntry } from '../../src/proxy/telemetry/access-log.ts';
import { backend, cluster, httpHandler, listener, retryPolicy, routes, snapshot, testRouter, type Backend } from './engine-fixtures.ts';

let be: Backend;
let engine: Engine;
let port: number;
const logged: AccessLogEntry[] = [];
let tries = 0;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function call(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    r.on('error', reject);
    r.end();
  });
}
const details = (path: string) => logged.filter((e) => e.path === path).at(-1)?.responseCodeDetails;

before(async () => {
  be = await backend((req, res) => {
    if (req.url!.endsWith('/hang')) { setTimeout(() => res.end('late'), 2000); return; }
    if (req.url === '/firsthangs') { tries++; if (tries === 1) { setTimeout(() => res.end('late'), 2000); return; } }
    res.end('ok');
  });
  engine = new Engine({ compileRouter: testRouter });
  engine.ctx.telemetry = { peerHeader: 'test', onHttp: (d) => { if (d.entry) logged.push(d.entry()); }, onTcpOpen: () => () => {} };
  const abort = { headers: [], downstreamNodes: [], abort: { httpStatus: 418, percentage: { numerator: 100, denominator: 100 as const }, headerControlled: false } };
  const rc = routes('r', [
    { prefix: '/ok' },
    { prefix: '/abort', fault: abort },
    { prefix: '/direct', direct: { status: 200, body: 'here' } },
    { prefix: '/dead', cluster: 'dead' },
    { prefix: '/hang', timeoutMs: 100 },
    { prefix: '/firsthangs', timeoutMs: 5000, retry: retryPolicy({ retryOn: ['5xx'], numRetries: 2, perTryTimeoutMs: 80 }) },
    { prefix: '/trytimeout/hang', timeoutMs: 5000, retry: retryPolicy({ retryOn: ['5xx'], numRetries: 0, perTryTimeoutMs: 80 }) },
  ]);
  await engine.apply(snapshot(
    [listener('l', httpHandler(rc, { accessLog: [{ name: 'envoy.access_loggers.file', kind: 'file', path: '/dev/null' }] }))],
    [cluster('c', [{ address: '127.0.0.1', port: be.port }]), cluster('dead', [{ address: '127.0.0.1', port: 1 }])],
  ));
  port = engine.portOf('l')!;
});

after(async () => { agent.destroy(); engine.close(); await be.close(); });

test('each way a request ends is logged with the response code details Envoy uses', async () => {
  assert.equal(await call('/ok'), 200);
  assert.equal(await call('/abort'), 418);
  assert.equal(await call('/direct'), 200);
  assert.equal(await call('/nomatch'), 404);
  assert.equal(await call('/dead'), 503);
  assert.equal(await call('/hang'), 504, '/hang');
  assert.equal(await call('/trytimeout/hang'), 504, 'trytimeout');
  assert.equal(details('/ok'), 'via_upstream');
  assert.equal(details('/abort'), 'fault_filter_abort');
  assert.equal(details('/direct'), 'direct_response');
  assert.equal(details('/nomatch'), 'route_not_found');
  assert.equal(details('/dead'), 'upstream_reset_before_response_started{remote_connection_failure}');
  assert.equal(details('/hang'), 'response_timeout');
  assert.equal(details('/trytimeout/hang'), 'upstream_per_try_timeout');
});

test('the first try has the per-try timeout too (retry state still deferred): a hung first try is retried', async () => {
  assert.equal(await call('/firsthangs'), 200);
  assert.equal(tries, 2, 'the first try timed out after 80 ms and the retry was answered');
  assert.equal(details('/firsthangs'), 'via_upstream');
});
