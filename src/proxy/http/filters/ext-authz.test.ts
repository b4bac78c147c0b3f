// proxy/http/filters: ext_authz — the check request's shape, what each answer means, filter_enabled_metadata, and
// the check against a real local HTTP server (allow, deny, 5xx, connection refused, timeout on a FakeClock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { FakeClock } from '../../../common/clock.ts';
import type { ExtAuthzConfig } from '../../config/decode-ext-authz.ts';
import type { EngineContext } from '../../listener/runtime.ts';
import type { IncomingRequest, ResponseSink } from '../exchange-types.ts';
import { ExtAuthzFilter, type ExtAuthzResult } from './ext-authz.ts';

const exact = (value: string) => ({ kind: 'exact' as const, value, ignoreCase: true });
const prefix = (value: string) => ({ kind: 'prefix' as const, value, ignoreCase: true });

function cfg(over: Partial<ExtAuthzConfig> = {}): ExtAuthzConfig {
  return { cluster: 'outbound|8000||authz', uri: 'http://authz', timeoutMs: 1000, pathPrefix: '/check', headersToAdd: [['x-from', 'sidecar']], failureModeAllow: false, statusOnError: 403, ...over };
}

function req(path: string, headers: string[]): IncomingRequest {
  return {
    method: 'POST', path, authority: 'web:9080', scheme: 'http', headers, bodyLength: 5, upgrade: '',
    get: (n) => { const i = headers.indexOf(n); return i >= 0 && i % 2 === 0 ? headers[i + 1] : undefined; },
  };
}

test('check request: method, prefix + path, always-sent and allowed headers, added headers, no body', () => {
  const f = new ExtAuthzFilter('ext', cfg({ allowedHeaders: [exact('x-ext-authz'), prefix('x-user-')] }));
  const out = f.checkRequest(req('/a?b=1', ['host', 'web:9080', 'authorization', 'Bearer t', 'x-ext-authz', 'yes', 'x-user-id', '7', 'x-other', 'no', 'content-length', '5']));
  assert.equal(out.method, 'POST');
  assert.equal(out.path, '/check/a?b=1');
  assert.equal(out.bodyLength, 0);
  assert.deepEqual(out.headers, ['host', 'web:9080', 'authorization', 'Bearer t', 'x-ext-authz', 'yes', 'x-user-id', '7', 'x-from', 'sidecar', 'content-length', '0']);
  // without allowed_headers only host + authorization go (host from :authority when absent)
  assert.deepEqual(new ExtAuthzFilter('ext', cfg({ headersToAdd: [] })).checkRequest(req('/', ['x-ext-authz', 'yes'])).headers, ['host', 'web:9080', 'content-length', '0']);
});

test('answers: 200 allows with the allowed upstream headers, 5xx is an error, other statuses deny', () => {
  const f = new ExtAuthzFilter('ext', cfg({ allowedUpstreamHeaders: [exact('x-user'), prefix('x-authz-')], allowedClientHeaders: [exact('x-reason')] }));
  assert.deepEqual(f.interpret(200, ['x-user', 'alice', 'x-authz-a', '1', 'x-secret', 's', 'content-length', '0'], ''), { kind: 'allow', upstreamHeaders: [['x-user', 'alice'], ['x-authz-a', '1']], downstreamHeaders: [] });
  // allowed_client_headers_on_success: matching check-response headers go to the client's response (never framing)
  const onOk = new ExtAuthzFilter('ext', cfg({ allowedClientHeadersOnSuccess: [exact('x-session'), exact('content-length')] }));
  assert.deepEqual(onOk.interpret(200, ['x-session', 's1', 'x-user', 'alice', 'content-length', '0'], ''), { kind: 'allow', upstreamHeaders: [], downstreamHeaders: [['x-session', 's1']] });
  assert.equal(f.interpret(503, [], 'down').kind, 'error');
  assert.deepEqual(f.interpret(401, ['x-reason', 'r', 'x-internal', 'i', 'www-authenticate', 'Basic', 'content-length', '2'], 'no'),
    { kind: 'deny', status: 401, body: 'no', headers: ['x-reason', 'r', 'www-authenticate', 'Basic'] });
  // no allowed_client_headers: every header but framing ones goes to the client
  assert.deepEqual(new ExtAuthzFilter('ext', cfg()).interpret(403, ['x-a', '1', 'transfer-encoding', 'chunked'], ''), { kind: 'deny', status: 403, body: '', headers: ['x-a', '1'] });
});

test('filter_enabled_metadata: only requests whose RBAC shadow policy id matches are checked', () => {
  const f = new ExtAuthzFilter('ext', cfg({ enabledMetadata: { filter: 'envoy.filters.http.rbac', path: ['istio_ext_authz_shadow_effective_policy_id'], match: { kind: 'prefix', value: 'istio-ext-authz', ignoreCase: false } } }));
  assert.equal(f.enabled(undefined), false);
  assert.equal(f.enabled(new Map([['envoy.filters.http.rbac', { istio_ext_authz_shadow_engine_result: 'allowed' }]])), false);
  assert.equal(f.enabled(new Map([['envoy.filters.http.rbac', { istio_ext_authz_shadow_effective_policy_id: 'istio-ext-authz-ns[a]-policy[b]-rule[0]' }]])), true);
  assert.equal(f.enabled(new Map([['envoy.filters.http.rbac', { istio_ext_authz_shadow_effective_policy_id: 'ns[a]-policy[b]-rule[0]' }]])), false);
  assert.equal(new ExtAuthzFilter('ext', cfg()).enabled(undefined), true, 'no matcher: always on');
});

/** An EngineContext whose one cluster reaches 127.0.0.1:port over a plain socket per check (enough for the filter). */
function fakeCtx(port: number, clock: EngineContext['clock']): EngineContext {
  const conn = (cb: (c: { start(r: ReturnType<ExtAuthzFilter['checkRequest']>, s: ResponseSink): void; abort(): void } | null, failure: string) => void) => {
    const sock = connect(port, '127.0.0.1');
    sock.on('error', (e) => cb(null, e.message));
    sock.on('connect', () => cb({
      start(r, s) {
        const head = `${r.method} ${r.path} HTTP/1.1\r\n${Array.from({ length: r.headers.length / 2 }, (_, i) => `${r.headers[2 * i]}: ${r.headers[2 * i + 1]}\r\n`).join('')}connection: close\r\n\r\n`;
        let text = '';
        sock.on('data', (d) => { text += d.toString(); });
        sock.on('end', () => {
          const [h, body = ''] = text.split('\r\n\r\n');
          const lines = h!.split('\r\n');
          const hs = lines.slice(1).flatMap((l) => { const i = l.indexOf(':'); return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()]; });
          s.onHead(Number(lines[0]!.split(' ')[1]), '', hs, body.length, false);
          s.onData(Buffer.from(body), 0, body.length);
          s.onEnd(undefined);
        });
        sock.write(head);
      },
      abort() { sock.destroy(); },
    }, ''));
    return () => sock.destroy();
  };
  return {
    clock,
    upstreams: { cluster: () => ({ pick: () => ({ host: { address: '127.0.0.1', port } }) }), pool: () => ({ acquire: conn }) },
  } as unknown as EngineContext;
}

async function withServer(handler: Parameters<typeof createServer>[1], fn: (port: number) => Promise<void>): Promise<void> {
  const srv: Server = createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try { await fn((srv.address() as AddressInfo).port); } finally { srv.closeAllConnections(); await new Promise((r) => srv.close(r)); }
}

const run = (f: ExtAuthzFilter, ctx: EngineContext, path: string): Promise<ExtAuthzResult> => new Promise((resolve) => { f.check(req(path, ['x-a', '1']), ctx, resolve); });

test('check against a real server: allow, deny with body, 5xx error, refused connection', async () => {
  const f = new ExtAuthzFilter('ext', cfg({ allowedUpstreamHeaders: [exact('x-user')] }));
  const seen: string[] = [];
  await withServer((rq, rs) => {
    seen.push(`${rq.method} ${rq.url} ${rq.headers['x-from']}`);
    if (rq.url === '/check/ok') { rs.writeHead(200, { 'x-user': 'bob' }); rs.end(); } else if (rq.url === '/check/boom') { rs.writeHead(500); rs.end(); } else { rs.writeHead(403, { 'x-why': 'no', 'content-length': 7 }); rs.end('go away'); }
  }, async (port) => {
    const ctx = fakeCtx(port, new FakeClock());
    assert.deepEqual(await run(f, ctx, '/ok'), { kind: 'allow', upstreamHeaders: [['x-user', 'bob']], downstreamHeaders: [] });
    const d = await run(f, ctx, '/nope');
    assert.equal(d.kind, 'deny');
    assert.equal(d.kind === 'deny' && d.body, 'go away');
    assert.equal(d.kind === 'deny' && d.headers.includes('x-why'), true);
    assert.equal((await run(f, ctx, '/boom')).kind, 'error');
    assert.deepEqual(seen, ['POST /check/ok sidecar', 'POST /check/nope sidecar', 'POST /check/boom sidecar']);
  });
  // a closed port: connection refused -> error
  const closed = await new Promise<number>((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => r(p)); }); });
  assert.equal((await run(f, fakeCtx(closed, new FakeClock()), '/x')).kind, 'error');
});

test('a check slower than the timeout is an error (FakeClock)', async () => {
  const clock = new FakeClock();
  const f = new ExtAuthzFilter('ext', cfg({ timeoutMs: 50 }));
  await withServer(() => { /* never answers */ }, async (port) => {
    const ctx = fakeCtx(port, clock);
    const p = run(f, ctx, '/slow');
    await new Promise((r) => setTimeout(r, 20)); // let the connection open
    clock.advance(50);
    const r = await p;
    assert.equal(r.kind, 'error');
    assert.match(r.kind === 'error' ? r.detail : '', /timed out after 50 ms/);
  });
});
