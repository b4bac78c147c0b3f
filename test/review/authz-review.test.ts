// test/review: security review R1 of AuthorizationPolicy / RequestAuthentication enforcement — each F test reproduces a
// bug the review found (all fixed since: they stay as regression guards); each "holds" test is a subtle case that held.
import { test, before } from 'node:test';
import { connect as h2connect } from 'node:http2';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { parseValidConfig } from '../helpers/golden.ts';
import { REVIEWS_MESH, pathPolicy } from '../helpers/fixtures.ts';
import { reviewsInbound } from '../helpers/inbound.ts';
import { decodeObject, ResourceType } from '../../src/proxy/config/decode.ts';
import type { HttpHandlerConfig, ListenerConfig } from '../../src/proxy/config/types.ts';
import { parseRequestHead } from '../../src/proxy/http/codec/index.ts';
import { authorize, type AuthzExchange } from '../../src/proxy/http/filters/authz.ts';
import { JwtAuthnFilter, type JwtRequest } from '../../src/proxy/http/filters/jwt-authn.ts';
import { DEFAULT_JWT_LOCATIONS } from '../../src/proxy/config/decode-jwt.ts';
import type { JwtProviderConfig, JwtRequirement } from '../../src/proxy/config/authz-types.ts';
import { RbacFilter } from '../../src/proxy/http/filters/rbac.ts';
import { normalizeRequestPath } from '../../src/proxy/http/filters/path-normalize.ts';
import { Ctx } from '../../src/proxy/config/decode-common.ts';
import { decodeHttpRbac } from '../../src/proxy/config/decode-rbac.ts';
import { httpRbacFilters } from '../../src/xds/translate/security/rbac.ts';
import { realClock } from '../../src/common/clock.ts';
import type { EngineContext } from '../../src/proxy/listener/runtime.ts';
import type { ConnectionOrigin } from '../../src/proxy/listener/origin.ts';
import type { IncomingRequest } from '../../src/proxy/http/exchange-types.ts';
import type { RbacInput } from '../../src/proxy/http/filters/rbac-match.ts';
import type { AuthzPolicy } from '../../src/xds/translate/security/select.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { backend, cluster, snapshot, testRouter } from '../proxy/engine-fixtures.ts';

// ---------------------------------------------------------------- helpers

const ORIGIN: ConnectionOrigin = {
  kind: 'original-dst', listenerName: 'virtualInbound', localAddress: '10.0.0.5', localPort: 15006,
  remoteAddress: '10.0.0.9', remotePort: 40000, destination: { address: '10.0.0.5', port: 9080 }, tls: false,
};
const CTX = { clock: realClock, stats: {} } as unknown as EngineContext;

/** Run the proxy's auth stage on one raw HTTP/1.1 request head; resolves with the local reply status or 0 (passed on). */
function runAuth(h: HttpHandlerConfig, raw: string): Promise<number> {
  const buf = Buffer.from(raw, 'latin1');
  const r = parseRequestHead(buf, 0, buf.length);
  assert.equal(r.kind, 'ok', `request head should parse: ${JSON.stringify(r)}`);
  const req = (r as { head: IncomingRequest }).head;
  return new Promise((resolve) => {
    let finished = false;
    const ex: AuthzExchange = {
      req, authz: undefined,
      get isFinished() { return finished; },
      localReply(status) { finished = true; resolve(status); },
    };
    if (authorize(ex, CTX, ORIGIN, h, () => resolve(0))) resolve(0);
  });
}

/** The HTTP handler of the emitted virtualInbound chain for port 9080, decoded by the proxy's own decoder. */
function inboundHandler(yaml: string): HttpHandlerConfig {
  const d = decodeObject(ResourceType.Listener, reviewsInbound(yaml, 'review.yaml'));
  assert.equal(d.errors, undefined, JSON.stringify(d.errors));
  const l = d.value as ListenerConfig;
  const chain = l.filterChains.find((c) => c.handler.kind === 'http' && c.match.destinationPort === 9080);
  assert.ok(chain, 'an HTTP chain for 9080');
  return chain.handler as HttpHandlerConfig;
}

// ---------------------------------------------------------------- F1: path normalization (control plane)

test('F1 (fixed by bf24194, regression guard): a DENY on /admin* holds for dot-segment and percent-encoded spellings (Istio default pathNormalization BASE)', async () => {
  const h = inboundHandler(REVIEWS_MESH + pathPolicy('deny-admin', 'DENY', ['/admin*']));
  assert.equal(await runAuth(h, 'GET /admin HTTP/1.1\r\nhost: reviews\r\n\r\n'), 403, 'the plain spelling is denied');
  assert.equal(await runAuth(h, 'GET /public HTTP/1.1\r\nhost: reviews\r\n\r\n'), 0, 'other paths pass');
  // Istio's default (BASE) sets normalize_path on every HCM: these reach the app as /admin and must be denied.
  for (const p of ['/./admin', '/public/../admin', '/%61dmin', '/%2e/admin']) {
    assert.equal(await runAuth(h, `GET ${p} HTTP/1.1\r\nhost: reviews\r\n\r\n`), 403, `${p} must be denied like /admin`);
  }
});

// ---------------------------------------------------------------- F2: JWT extraction (proxy)

let key: CryptoKey;
let forgedKey: CryptoKey;
let jwks: string;
const ISS = 'https://issuer.example';

before(async () => {
  const kp = await generateKeyPair('ES256');
  key = kp.privateKey;
  forgedKey = (await generateKeyPair('ES256')).privateKey;
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'ES256' }] });
});

const sign = (claims: Record<string, unknown>, k: CryptoKey = key, alg = 'ES256'): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setIssuedAt().setExpirationTime('10m').sign(k);

/** Istio's jwt_authn: one provider with the default locations, requires_any [provider, allow_missing]. */
function istioJwt(): JwtAuthnFilter {
  const p: JwtProviderConfig = {
    name: 'origins-0', issuer: ISS, audiences: [], requireExpiration: false, jwks,
    locations: DEFAULT_JWT_LOCATIONS.map((l) => ({ ...l })), forward: false, padForwardPayloadHeader: false,
    payloadInMetadata: 'payload', clockSkewSeconds: 60, claimToHeaders: [], spaceDelimitedClaims: [],
  };
  const requires: JwtRequirement = { kind: 'any', requirements: [{ kind: 'provider', provider: 'origins-0' }, { kind: 'allow_missing' }] };
  return new JwtAuthnFilter('envoy.filters.http.jwt_authn', {
    providers: { 'origins-0': p },
    rules: [{ match: { path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParams: [], grpc: false }, requires }],
    bypassCorsPreflight: true, stripFailureResponse: false,
  });
}

function jwtReq(path: string, headers: Array<[string, string]>): JwtRequest {
  const h = headers.flatMap(([k, v]) => [k, v]);
  return { method: 'GET', path, authority: 'svc', scheme: 'http', headers: h, get: (n) => { for (let i = 0; i < h.length; i += 2) if (h[i] === n) return h[i + 1]; return undefined; } };
}

test('F2 (fixed, regression guard): a forged token in ?access_token is not waved through beside a valid Authorization token (Envoy verifies every token)', async () => {
  const good = await sign({ iss: ISS, sub: 'alice' });
  const forged = await sign({ iss: ISS, sub: 'admin' }, forgedKey);
  const alone = await istioJwt().run(jwtReq(`/x?access_token=${forged}`, []), Date.now());
  assert.equal(alone.ok, false, 'the forged token alone is refused');
  const both = await istioJwt().run(jwtReq(`/x?access_token=${forged}`, [['authorization', `Bearer ${good}`]]), Date.now());
  assert.equal(both.ok, false, 'the app would receive the forged, unverified access_token: Envoy answers 401');
});

test('F2b (fixed, regression guard): a forged Bearer token in a second Authorization header (after a Basic one) is verified, not ignored', async () => {
  const forged = await sign({ iss: ISS, sub: 'admin' }, forgedKey);
  // Envoy joins repeated headers and looks for "Bearer " anywhere in the value.
  const o = await istioJwt().run(jwtReq('/x', [['authorization', 'Basic dXNlcjpwdw=='], ['authorization', `Bearer ${forged}`]]), Date.now());
  assert.equal(o.ok, false, 'the forged Bearer token reaches the app as if verified');
});

// ---------------------------------------------------------------- subtle cases that hold

test('holds: alg confusion — "none" and HS256 keyed with the RSA/EC public JWKS are refused', async () => {
  const pub = JSON.parse(jwks).keys[0];
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const none = `${b64({ alg: 'none', kid: 'k1' })}.${b64({ iss: ISS, sub: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
  const hs = await new SignJWT({ iss: ISS, sub: 'admin' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setExpirationTime('10m')
    .sign(new TextEncoder().encode(JSON.stringify(pub)));
  for (const t of [none, hs]) {
    const o = await istioJwt().run(jwtReq('/x', [['authorization', `Bearer ${t}`]]), Date.now());
    assert.equal(o.ok, false);
  }
});

test('holds: a cached verified token is refused once it expires (cache does not outlive exp + skew)', async () => {
  const f = istioJwt();
  const t = await new SignJWT({ iss: ISS, sub: 'a' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setExpirationTime(Math.floor(Date.now() / 1000) + 5).sign(key);
  assert.equal((await f.run(jwtReq('/', [['authorization', `Bearer ${t}`]]), Date.now())).ok, true);
  const later = await f.run(jwtReq('/', [['authorization', `Bearer ${t}`]]), Date.now() + 5_000 + 61_000);
  assert.equal(later.ok, false);
});

function rbac(policies: string): RbacFilter {
  const objs = parseValidConfig(policies, 'p.yaml') as AuthzPolicy[];
  const f = httpRbacFilters(objs)[0]!;
  const ctx = new Ctx('t');
  const { '@type': _t, ...cfg } = f.typed_config as Record<string, unknown>;
  const c = decodeHttpRbac(cfg, ctx, 'rbac');
  assert.deepEqual(ctx.errors, []);
  return new RbacFilter('rbac', c, 'http.t.');
}

function peerInput(spiffe: string): RbacInput {
  return {
    headers: { get: (n: string) => (n === ':method' ? 'GET' : n === ':path' ? '/' : undefined) }, path: '/',
    directRemoteIp: '10.0.0.9', remoteIp: '10.0.0.9', destinationIp: '10.0.0.5', destinationPort: 9080,
    tls: true, peer: { uris: [spiffe], dns: [] }, sni: '',
  };
}

test('holds: namespaces ["foo"] does not match ns/foobar; principals exact does not match a longer SA; regex metacharacters are literal', () => {
  const f = rbac(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: default}
spec:
  rules:
  - from: [{source: {namespaces: ["foo"]}}]
  - from: [{source: {principals: ["cluster.local/ns/bar/sa/web"]}}]
  - from: [{source: {namespaces: ["a.c"]}}]
`);
  const s = new Map<string, number>();
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/foo/sa/x'), s).allowed, true);
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/foobar/sa/x'), s).allowed, false);
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/bar/sa/web'), s).allowed, true);
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/bar/sa/webadmin'), s).allowed, false);
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/abc/sa/x'), s).allowed, false, '"." in a namespace is not a regex wildcard');
});

// ---------------------------------------------------------------- F3: HTTP/2 :path with a fragment (proxy)

const T = 'type.googleapis.com/';

test('F3 (regression guard): an HTTP/2 :path "/admin#x" does not dodge a DENY on exact /admin (Envoy rejects fragments; backends drop them)', async () => {
  const seen: string[] = [];
  const be = await backend((req, res) => { seen.push(req.url ?? ''); res.end('ok'); });
  const engine = new Engine({ compileRouter: testRouter });
  try {
    const raw = {
      name: 'inbound-h2', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
        '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`, stat_prefix: 'in',
        normalize_path: { value: true },
        route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
        http_filters: [
          { name: 'envoy.filters.http.rbac', typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'DENY', policies: {
            'ns[default]-policy[deny-admin]-rule[0]': { permissions: [{ url_path: { path: { exact: '/admin' } } }], principals: [{ any: true }] },
          } } } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } },
        ],
      } }] }],
    };
    const d = decodeObject(ResourceType.Listener, raw);
    assert.equal(d.errors, undefined, JSON.stringify(d.errors));
    await engine.apply(snapshot([d.value as ListenerConfig], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
    const session = h2connect(`http://127.0.0.1:${engine.portOf('inbound-h2')}`);
    const get = (path: string): Promise<number> => new Promise((resolve, reject) => {
      const st = session.request({ ':path': path });
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', reject);
      st.resume();
      st.end();
    });
    try {
      assert.equal(await get('/admin'), 403);
      const st = await get('/admin#x');
      const reached = seen.filter((u) => new URL(u, 'http://app').pathname === '/admin');
      assert.deepEqual(reached, [], `the app served /admin (status ${st}, upstream saw ${JSON.stringify(seen)})`);
    } finally {
      session.close();
    }
  } finally {
    engine.close();
    await be.close();
  }
});

// ---------------------------------------------------------------- F4 / F5: translation deviations from Istio (control plane)

test('F4 (fixed, regression guard): AUDIT runs before DENY as in Istio (AUDIT, DENY, ALLOW), so denied requests are still audited', async () => {
  const h = inboundHandler(REVIEWS_MESH + pathPolicy('audit-admin', 'AUDIT', ['/admin*']) + pathPolicy('deny-admin', 'DENY', ['/admin*']));
  const actions = h.httpFilters.flatMap((f) => (f.type === 'rbac' ? [f.rbac?.rules?.action] : []));
  assert.deepEqual(actions, ['LOG', 'DENY'], 'Istio emits the AUDIT (LOG) filter first: an attempt the DENY refuses is still audited');
});

test('F5 (fixed, regression guard): "*admin*" is not a contains match — Istio reads it as suffix "admin*", so an ALLOW is not widened', () => {
  const f = rbac(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: default}
spec:
  rules: [{from: [{source: {principals: ["*admin*"]}}]}]
`);
  const s = new Map<string, number>();
  assert.equal(f.check(peerInput('spiffe://cluster.local/ns/x/sa/notadmin-evil'), s).allowed, false);
});

// ---------------------------------------------------------------- F6: normalize_path is narrower than Envoy's (proxy)

test('F6 (regression guard): normalize_path turns backslashes into slashes (Envoy / Istio BASE), so "/public\\..\\admin" cannot dodge /admin*', async () => {
  const opts = { normalizePath: true, mergeSlashes: false };
  const raw = '/public\\..\\admin';
  // WHATWG URL parsing in the app (new URL(req.url, base)) resolves this to /admin.
  assert.equal(new URL(raw, 'http://app').pathname, '/admin');
  assert.equal(normalizeRequestPath(raw, opts), '/admin');
});

// ---------------------------------------------------------------- F7: claim_to_headers header injection (proxy)

test('F7 (fixed, regression guard): a signed claim holding CR/LF is not copied into a forwarded header (claim_to_headers -> request smuggling upstream)', async () => {
  const p: JwtProviderConfig = {
    name: 'origins-0', issuer: ISS, audiences: [], requireExpiration: false, jwks,
    locations: DEFAULT_JWT_LOCATIONS.map((l) => ({ ...l })), forward: false, padForwardPayloadHeader: false,
    payloadInMetadata: 'payload', clockSkewSeconds: 60, claimToHeaders: [{ header: 'x-user-name', claim: 'name' }], spaceDelimitedClaims: [],
  };
  const f = new JwtAuthnFilter('envoy.filters.http.jwt_authn', {
    providers: { 'origins-0': p },
    rules: [{ match: { path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParams: [], grpc: false }, requires: { kind: 'provider', provider: 'origins-0' } }],
    bypassCorsPreflight: false, stripFailureResponse: false,
  });
  // A user-editable profile field at the IdP ends up in a validly signed token.
  const t = await sign({ iss: ISS, sub: 'bob', name: 'bob\r\ncontent-length: 0\r\n\r\nGET /admin HTTP/1.1\r\nhost: app' });
  const r = jwtReq('/', [['authorization', `Bearer ${t}`]]);
  const o = await f.run(r, Date.now());
  const values = r.headers.filter((_v, i) => i % 2 === 1);
  assert.ok(!o.ok || values.every((v) => !/[\r\n\0]/.test(v)), `a forwarded header carries CR/LF: ${JSON.stringify(r.headers)}`);
});

// ---------------------------------------------------------------- F8: a disabled RBAC filter enabled per route (proxy)

test('F8 (fixed by a NACK, regression guard): an RBAC filter with disabled: true that a route enables (FilterConfig) is enforced or NACKed, not skipped', async () => {
  const raw = {
    name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`, stat_prefix: 'in',
      route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{
        match: { prefix: '/' }, route: { cluster: 'c' },
        // Envoy: this route turns the (default-disabled) RBAC filter on.
        typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': `${T}envoy.config.route.v3.FilterConfig`, disabled: false } },
      }] }] },
      http_filters: [
        { name: 'envoy.filters.http.rbac', disabled: true, typed_config: { '@type': `${T}envoy.extensions.filters.http.rbac.v3.RBAC`, rules: { action: 'DENY', policies: {
          all: { permissions: [{ any: true }], principals: [{ any: true }] },
        } } } },
        { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } },
      ],
    } }] }],
  };
  const d = decodeObject(ResourceType.Listener, raw);
  if (d.errors !== undefined) return; // NACKed: acceptable
  const h = (d.value as ListenerConfig).filterChains[0]!.handler as HttpHandlerConfig;
  assert.equal(await runAuth(h, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'), 403, 'the route enables a DENY-all RBAC, yet the request passes');
});

// ---------------------------------------------------------------- F9: request normalization Istio documents as 400 (proxy)

test('F9 (regression guard): an encoded NUL in the path and a method that is not upper case get 400 (Istio normalization docs / Envoy)', () => {
  const status = (line: string): number => {
    const buf = Buffer.from(`${line}\r\nhost: reviews\r\n\r\n`, 'latin1');
    const r = parseRequestHead(buf, 0, buf.length);
    return r.kind === 'error' ? r.status : r.kind === 'ok' ? 0 : -1;
  };
  assert.equal(status('GET /admin%00.png HTTP/1.1'), 400, '%00 would let "/admin\\0.png" reach a C backend as /admin');
  assert.equal(status('GET /a?x=%00 HTTP/1.1'), 400);
  assert.equal(status('get /admin HTTP/1.1'), 400, 'a DENY on method GET cannot be dodged with "get"');
  assert.equal(status('Post /admin HTTP/1.1'), 400);
  assert.equal(status('GET /admin HTTP/1.1'), 0);
  assert.equal(status('PROPFIND /dav HTTP/1.1'), 0, 'upper-case extension methods still parse');
});

// ---------------------------------------------------------------- CUSTOM without an ext_authz provider (control plane)

test('CUSTOM (as Istio for an unusable provider): a separate DENY filter first, before jwt_authn, denying only what its rules select', async () => {
  const h = inboundHandler(`${REVIEWS_MESH}apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/ext/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules: [{issuer: "${ISS}", jwks: '${jwks}'}]
`);
  const kinds = h.httpFilters.filter((f) => f.type === 'rbac' || f.type === 'jwt_authn').map((f) => (f.type === 'rbac' ? f.rbac?.rules?.policies[0]?.name : f.type));
  assert.deepEqual(kinds, ['istio-ext-authz-opa-ns[default]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action', 'jwt_authn']);
  assert.equal(await runAuth(h, 'GET /ext/x HTTP/1.1\r\nhost: reviews\r\n\r\n'), 403);
  assert.equal(await runAuth(h, 'GET /other HTTP/1.1\r\nhost: reviews\r\n\r\n'), 0, 'Istio does not deny what the CUSTOM rules do not select');
});
