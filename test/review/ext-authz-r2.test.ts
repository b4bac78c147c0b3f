// test/review (R2, security review of CUSTOM ext_authz): the translated CUSTOM filters (planCustom) decoded by the
// proxy's own decoder and run through the auth stage (authorize) against a capturing upstream — what is checked, what
// the check carries, fail-closed answers — plus the gRPC answer path. Bugs found are skipped tests naming their patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock.ts';
import { normalize, lookupType } from '../../src/envoy/protos.ts';
import type { AuthorizationPolicySpec } from '../../src/config/types/security.ts';
import type { ConfigObject } from '../../src/config/types.ts';
import type { MeshConfig, Service } from '../../src/model/types.ts';
import { planCustom } from '../../src/xds/translate/security/ext-authz.ts';
import { Ctx } from '../../src/proxy/config/decode-common.ts';
import { decodeHttpFilter } from '../../src/proxy/config/decode-filters.ts';
import type { HttpHandlerConfig } from '../../src/proxy/config/types.ts';
import type { EngineContext } from '../../src/proxy/listener/runtime.ts';
import type { ConnectionOrigin } from '../../src/proxy/listener/origin.ts';
import type { PeerIdentity } from '../../src/proxy/tls/peer.ts';
import type { IncomingRequest, OutgoingRequest, ResponseSink } from '../../src/proxy/http/exchange-types.ts';
import { authorize } from '../../src/proxy/http/filters/authz.ts';
import { decodeCheckResponse, grpcFrame } from '../../src/proxy/http/filters/ext-authz-grpc.ts';
import { serializeResponseHead } from '../../src/proxy/http/codec/serialize.ts';

const AUTHZ_HOST = 'authz.foo.svc.cluster.local';
const CLUSTER = `outbound|8000||${AUTHZ_HOST}`;
const lookup = (h: string) => (h === AUTHZ_HOST ? ({ hostname: AUTHZ_HOST } as Service) : undefined);

function policy(rules: AuthorizationPolicySpec['rules'], provider = 'ext'): ConfigObject<AuthorizationPolicySpec> {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'ext', namespace: 'foo' }, spec: { action: 'CUSTOM', provider: { name: provider }, rules } as AuthorizationPolicySpec };
}

/** The handler the proxy would build from the translated CUSTOM filters (through Envoy's normal form and our decoder). */
function handler(provider: Record<string, unknown>, rules: AuthorizationPolicySpec['rules'], xfcc = 'APPEND_FORWARD'): HttpHandlerConfig {
  const plan = planCustom([policy(rules)], { extensionProviders: [{ name: 'ext', ...provider }] } as MeshConfig, lookup);
  assert.equal(plan.bad.size, 0, 'provider usable');
  const ctx = new Ctx('listener');
  const filters = plan.filters.map((f, i) => {
    const tc = f.typed_config as Record<string, unknown>;
    return decodeHttpFilter({ name: f.name, typed_config: { '@type': tc['@type'], ...normalize(String(tc['@type']), tc) } }, ctx, `http_filters[${i}]`)!;
  });
  assert.deepEqual(ctx.errors, []);
  return {
    statPrefix: 'inbound_0.0.0.0_9080', httpFilters: filters, normalizePath: true, mergeSlashes: false,
    useRemoteAddress: false, xffNumTrustedHops: 0, forwardClientCertDetails: xfcc,
  } as unknown as HttpHandlerConfig;
}

const httpProvider = (o: Record<string, unknown> = {}) => ({ envoyExtAuthzHttp: { service: AUTHZ_HOST, port: 8000, pathPrefix: '/check', ...o } });

function request(method: string, path: string, headers: string[]): IncomingRequest {
  return {
    method, path, authority: 'web:9080', scheme: 'http', headers, bodyLength: 0, upgrade: '',
    get: (n) => { for (let i = 0; i < headers.length; i += 2) if (headers[i] === n) return headers[i + 1]; return undefined; },
  };
}

type Answer = (sink: ResponseSink) => void;
const http = (status: number, headers: string[] = [], body = ''): Answer => (s) => {
  s.onHead(status, '', headers, body.length, false);
  if (body) s.onData(Buffer.from(body), 0, body.length);
  s.onEnd(undefined);
};

/** An engine whose provider cluster answers with `answer` (or is missing), recording every check request. */
function engine(answer: Answer | 'no-cluster'): { ctx: EngineContext; checks: OutgoingRequest[] } {
  const checks: OutgoingRequest[] = [];
  const ctx = {
    clock: new FakeClock(), stats: new Map(),
    upstreams: {
      cluster: (n: string) => (n === CLUSTER && answer !== 'no-cluster' ? { pick: () => ({ host: { address: '127.0.0.1', port: 1 } }) } : undefined),
      pool: () => ({
        acquire: (cb: (c: unknown, f: string) => void) => {
          cb({ start: (out: OutgoingRequest, sink: ResponseSink) => { checks.push(out); (answer as Answer)(sink); }, abort() {} }, '');
          return () => {};
        },
      }),
    },
  } as unknown as EngineContext;
  return { ctx, checks };
}

const PEER: PeerIdentity = {
  principal: 'spiffe://cluster.local/ns/foo/sa/real-caller', uris: ['spiffe://cluster.local/ns/foo/sa/real-caller'], dns: [],
  hash: 'ab'.repeat(32), localPrincipal: 'spiffe://cluster.local/ns/foo/sa/web',
};

function origin(peer?: PeerIdentity): ConnectionOrigin {
  return {
    kind: 'listener', listenerName: 'virtualInbound', localAddress: '10.0.0.9', localPort: 15006, remoteAddress: '10.0.0.5', remotePort: 40000,
    destination: { address: '10.0.0.9', port: 9080 }, tls: peer !== undefined, peer,
  } as ConnectionOrigin;
}

interface Outcome { proceeded: boolean; replies: Array<{ status: number; body: string; extra: string[] }>; flags: string[]; ex: { authz: unknown } }

/** Run the auth stage once; every fake answer is synchronous, so the outcome is known when this returns. */
function run(h: HttpHandlerConfig, ctx: EngineContext, req: IncomingRequest, peer?: PeerIdentity): Outcome {
  const out: Outcome = { proceeded: false, replies: [], flags: [], ex: { authz: undefined } };
  const ex = {
    req, isFinished: false, authz: undefined as unknown, flags: out.flags,
    localReply(status: number, body: string, _e: unknown, extra?: string[]) { out.replies.push({ status, body, extra: extra ?? [] }); this.isFinished = true; },
  };
  out.ex = ex;
  if (authorize(ex as never, ctx, origin(peer), h, () => { out.proceeded = true; })) out.proceeded = true;
  return out;
}

const pairsOf = (h: readonly string[]) => Array.from({ length: h.length / 2 }, (_, i) => `${h[2 * i]}: ${h[2 * i + 1]}`);

test('selection: only requests the CUSTOM rules select are checked, after path normalization; the check is Envoy-shaped', () => {
  const h = handler(httpProvider({ includeRequestHeadersInCheck: ['x-a'], headersToUpstreamOnAllow: ['x-user'] }), [{ to: [{ operation: { paths: ['/admin*'], methods: ['GET'] } }] }]);
  const { ctx, checks } = engine(http(200, ['x-user', 'alice', 'x-other', 'no', 'content-length', '0']));
  // not selected: other path, other method
  assert.equal(run(h, ctx, request('GET', '/public', [])).proceeded, true);
  assert.equal(run(h, ctx, request('POST', '/admin/x', [])).proceeded, true);
  assert.equal(checks.length, 0, 'unselected requests are not checked');
  // dot segments cannot hide a selected path: normalized first, then selected, and the check names the normalized path
  const req = request('GET', '/public/../admin/x?q=1', ['authorization', 'Bearer t', 'x-a', '1', 'x-b', 'secret', 'content-length', '0']);
  const o = run(h, ctx, req);
  assert.equal(o.proceeded, true);
  assert.equal(checks.length, 1);
  const c = checks[0]!;
  assert.equal(c.method, 'GET');
  assert.equal(c.path, '/check/admin/x?q=1');
  assert.equal(c.bodyLength, 0);
  assert.deepEqual(pairsOf(c.headers).sort(), ['authorization: Bearer t', 'content-length: 0', 'host: web:9080', 'x-a: 1'], 'only the always-sent and listed headers');
  // allow: only the listed header is put on the request
  assert.equal(req.headers[req.headers.indexOf('x-user') + 1], 'alice');
  assert.equal(req.headers.includes('x-other'), false);
});

test('fail closed: deny answers, 5xx, a redirect and a missing provider cluster all stop the request with UAEX', () => {
  const h = handler(httpProvider({ headersToDownstreamOnDeny: ['x-why'] }), [{}]);
  const deny = run(h, engine(http(401, ['x-why', 'expired', 'x-internal', 'secret', 'content-length', '4'], 'nope')).ctx, request('GET', '/', []));
  assert.equal(deny.proceeded, false);
  assert.deepEqual(deny.replies, [{ status: 401, body: 'nope', extra: ['x-why', 'expired'] }], 'status and body from the server, only the listed headers, no framing');
  assert.deepEqual(deny.flags, ['UAEX']);
  const five = run(h, engine(http(503, [], 'down')).ctx, request('GET', '/', []));
  assert.deepEqual([five.proceeded, five.replies[0]?.status, five.flags], [false, 403, ['UAEX']], '5xx is an error -> status_on_error');
  const redirect = run(h, engine(http(302, ['location', 'https://login/'])).ctx, request('GET', '/', []));
  assert.equal(redirect.proceeded, false);
  assert.equal(redirect.replies[0]?.status, 302, 'a redirect is a denial, passed to the client, never followed');
  const missing = run(h, engine('no-cluster').ctx, request('GET', '/', []));
  assert.deepEqual([missing.proceeded, missing.replies[0]?.status, missing.flags], [false, 403, ['UAEX']]);
  // statusOnError and failOpen are honoured
  const open = handler(httpProvider({ failOpen: true }), [{}]);
  assert.equal(run(open, engine('no-cluster').ctx, request('GET', '/', [])).proceeded, true);
  const soe = handler(httpProvider({ statusOnError: '503' }), [{}]);
  assert.equal(run(soe, engine('no-cluster').ctx, request('GET', '/', [])).replies[0]?.status, 503);
});

test('a provider missing from MeshConfig, or a dry-run-only CUSTOM policy, adds no ext_authz filter', () => {
  const bad = planCustom([policy([{}], 'nowhere')], { extensionProviders: [] } as unknown as MeshConfig, lookup);
  assert.deepEqual([bad.filters, [...bad.bad]], [[], ['nowhere']], 'rbac.ts then denies what its rules select');
  const dry = { ...policy([{}]), metadata: { name: 'd', namespace: 'foo', annotations: { 'istio.io/dry-run': 'true' } } };
  assert.deepEqual(planCustom([dry], { extensionProviders: [{ name: 'ext', ...httpProvider() }] } as MeshConfig, lookup), { filters: [], bad: new Set() });
});

const XFCC = 'x-forwarded-client-cert';
const FORGED = 'By=spiffe://cluster.local/ns/foo/sa/web;URI=spiffe://cluster.local/ns/admin/sa/admin';

test('the check sees x-forwarded-client-cert as the HCM left it (Envoy sanitizes before the filters run)', () => {
  const h = handler(httpProvider({ includeRequestHeadersInCheck: [XFCC] }), [{}]);
  // plaintext caller (PERMISSIVE): Envoy removes XFCC at the HCM, so the authz server must not see the forged one
  const plain = engine(http(200));
  run(h, plain.ctx, request('GET', '/', [XFCC, FORGED]));
  assert.equal(plain.checks[0]!.headers.includes(XFCC), false, 'a plaintext client cannot hand the authz server an identity');
  // mTLS caller with APPEND_FORWARD: the check's XFCC ends with this hop's element naming the real peer
  const mtls = engine(http(200));
  run(h, mtls.ctx, request('GET', '/', [XFCC, FORGED]), PEER);
  const hs = mtls.checks[0]!.headers;
  const v = hs[hs.indexOf(XFCC) + 1]!;
  assert.match(v, /URI=spiffe:\/\/cluster\.local\/ns\/foo\/sa\/real-caller$/, 'the last element is the real caller, as upstream sees it');
});

const checkResponse = (o: Record<string, unknown>) => {
  const t = lookupType('envoy.service.auth.v3.CheckResponse');
  return grpcFrame(t.encode(t.fromObject(o)).finish());
};

test('gRPC answers: header values with CR/LF are dropped, never injected', () => {
  const r = decodeCheckResponse(checkResponse({ status: { code: 0 }, ok_response: {
    headers: [{ header: { key: 'x-user', value: 'a\r\nx-admin: true' } }, { header: { key: 'x-ok', value: 'b' } }],
    response_headers_to_add: [{ header: { key: 'x-to-client', value: 'c\r\nset-cookie: evil' } }, { header: { key: 'x-fine', value: 'd' } }],
  } }));
  assert.deepEqual(r, { kind: 'allow', upstreamHeaders: [['x-ok', 'b']], downstreamHeaders: [['x-fine', 'd']] });
  const d = decodeCheckResponse(checkResponse({ status: { code: 7 }, denied_response: { headers: [{ header: { key: 'set-cookie', value: 'a\r\n\r\n<html>' } }] } }));
  assert.deepEqual(d, { kind: 'deny', status: 403, body: '', headers: [] });
});

test('gRPC denied_response cannot set the local reply framing (as the HTTP service path already ensures)', () => {
  const d = decodeCheckResponse(checkResponse({
    status: { code: 7 },
    denied_response: { body: 'denied', headers: [
      { header: { key: 'content-length', value: '0' } }, { header: { key: 'transfer-encoding', value: 'chunked' } },
      { header: { key: 'connection', value: 'keep-alive' } }, { header: { key: 'x-reason', value: 'r' } },
    ] },
  }));
  assert.equal(d?.kind, 'deny');
  const extra = d!.kind === 'deny' ? d!.headers : [];
  // what the client would receive: localReply -> sendHead -> this head
  const head = serializeResponseHead(403, '', extra, 'length', 'denied'.length).toLowerCase();
  assert.equal(head.match(/^content-length:/gm)?.length, 1, `one Content-Length only:\n${head}`);
  assert.doesNotMatch(head, /^transfer-encoding:/m);
  assert.match(head, /^x-reason: r$/m);
});

test('a gRPC client denied or failed by ext_authz gets a gRPC answer (trailers-only, grpc-status), as from RBAC', () => {
  const h = handler(httpProvider(), [{}]);
  const grpcReq = () => request('POST', '/pkg.Svc/Call', ['content-type', 'application/grpc', 'te', 'trailers']);
  const denied = run(h, engine(http(401, ['x-why', 'expired'], 'token expired')).ctx, grpcReq());
  assert.equal(denied.replies[0]?.status, 200, 'Envoy answers a gRPC request with HTTP 200 + grpc-status');
  const ex = denied.replies[0]!.extra;
  assert.equal(ex[ex.indexOf('grpc-status') + 1], '16', '401 -> UNAUTHENTICATED');
  assert.equal(ex[ex.indexOf('grpc-message') + 1], 'token expired');
  assert.equal(ex[ex.indexOf('x-why') + 1], 'expired');
  const failed = run(handler(httpProvider({ statusOnError: '503' }), [{}]), engine('no-cluster').ctx, grpcReq());
  assert.equal(failed.replies[0]?.status, 200);
  const fx = failed.replies[0]!.extra;
  assert.equal(fx[fx.indexOf('grpc-status') + 1], '14', 'status_on_error 503 -> UNAVAILABLE');
  assert.deepEqual(failed.flags, ['UAEX']);
});

test('the check request carries no hop-by-hop or Expect header, even when includeRequestHeadersInCheck is "*"', () => {
  const h = handler(httpProvider({ includeRequestHeadersInCheck: ['*'] }), [{}]);
  const { ctx, checks } = engine(http(200));
  run(h, ctx, request('GET', '/ws', ['connection', 'upgrade', 'upgrade', 'websocket', 'te', 'trailers', 'expect', '100-continue',
    'keep-alive', 'timeout=5', 'proxy-connection', 'close', 'x-a', '1']));
  assert.equal(checks.length, 1);
  const names = checks[0]!.headers.filter((_, i) => i % 2 === 0).sort();
  assert.deepEqual(names, ['content-length', 'host', 'x-a']);
});

test('a check in flight is cancelled when the exchange ends first (client gone): connection aborted, timer cleared', () => {
  const h = handler(httpProvider(), [{}]);
  let aborted = 0;
  const clock = new FakeClock();
  const ctx = {
    clock, stats: new Map(),
    upstreams: {
      cluster: () => ({ pick: () => ({ host: { address: '127.0.0.1', port: 1 } }) }),
      pool: () => ({ acquire: (cb: (c: unknown, f: string) => void) => { cb({ start() { /* the authz server never answers */ }, abort() { aborted++; } }, ''); return () => {}; } }),
    },
  } as unknown as EngineContext;
  const req = request('GET', '/', []);
  const ex = { req, isFinished: false, authz: undefined, flags: [] as string[], cancelPending: undefined as (() => void) | undefined, localReply() { this.isFinished = true; } };
  assert.equal(authorize(ex as never, ctx, origin(), h, () => assert.fail('must not route')), false);
  // what Exchange.finish() does when the downstream goes away: run the pending cancel
  assert.equal(typeof ex.cancelPending, 'function', 'the in-flight check is registered with the exchange');
  ex.isFinished = true;
  ex.cancelPending!();
  assert.equal(aborted, 1, 'the check connection is aborted');
  clock.advance(600_000);
  assert.equal(aborted, 1);
});
