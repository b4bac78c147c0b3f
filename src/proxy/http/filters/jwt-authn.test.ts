// proxy/http/filters: jwt_authn tests — valid, expired (with Envoy's 60 s skew), wrong issuer / audience, missing,
// bad signature, query-param token, requirement trees, header edits, metadata, and the verified-token cache.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as joseLib from 'jose';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import type { JwtAuthnConfig, JwtProviderConfig, JwtRequirement } from '../../config/authz-types.ts';
import { DEFAULT_JWT_LOCATIONS } from '../../config/decode-jwt.ts';
import { JwtAuthnFilter, JwtStatus, type JoseSource, type JwtOutcome, type JwtRequest } from './jwt-authn.ts';

const NOW = Date.UTC(2026, 0, 1) ; // the injected wall clock (ms)
const sec = (ms: number) => Math.floor(ms / 1000);
let key: CryptoKey;
let otherKey: CryptoKey;
let jwks: string;

before(async () => {
  const kp = await generateKeyPair('ES256');
  key = kp.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
});

function sign(claims: JWTPayload, k: CryptoKey = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(k);
}

function provider(over: Partial<JwtProviderConfig> = {}): JwtProviderConfig {
  return {
    name: 'origins-0', issuer: 'https://issuer.example', audiences: [], requireExpiration: false, jwks,
    locations: DEFAULT_JWT_LOCATIONS.map((l) => ({ ...l })), forward: false, padForwardPayloadHeader: false,
    payloadInMetadata: 'payload', clockSkewSeconds: 60, claimToHeaders: [], spaceDelimitedClaims: [], ...over,
  };
}

function filter(requires: JwtRequirement | undefined, providers: JwtProviderConfig[] = [provider()], extra: Partial<JwtAuthnConfig> = {}, jose?: JoseSource): JwtAuthnFilter {
  return new JwtAuthnFilter('envoy.filters.http.jwt_authn', {
    providers: Object.fromEntries(providers.map((p) => [p.name, p])),
    rules: [{ match: { path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParams: [], grpc: false }, requires }],
    bypassCorsPreflight: false, stripFailureResponse: false, ...extra,
  }, jose);
}

function request(path: string, headers: Record<string, string> = {}): JwtRequest {
  const h = Object.entries(headers).flatMap(([k, v]) => [k.toLowerCase(), v]);
  return { method: 'GET', path, authority: 'svc:8080', scheme: 'http', headers: h, get: (n) => { for (let i = 0; i < h.length; i += 2) if (h[i] === n) return h[i + 1]; return undefined; } };
}

const istio: JwtRequirement = { kind: 'any', requirements: [{ kind: 'provider', provider: 'origins-0' }, { kind: 'allow_missing' }] };
const run = async (f: JwtAuthnFilter, r: JwtRequest, now = NOW): Promise<JwtOutcome> => f.run(r, now);

test('a valid token passes; its payload goes to metadata; the Authorization header is removed (forward: false)', async () => {
  const tok = await sign({ iss: 'https://issuer.example', sub: 'alice', exp: sec(NOW) + 600 });
  const r = request('/x', { authorization: `Bearer ${tok}`, 'x-other': '1' });
  const o = await run(filter(istio), r);
  assert.equal(o.ok, true);
  assert.deepEqual((o.metadata?.payload as JWTPayload).sub, 'alice');
  assert.equal(r.get('authorization'), undefined);
  assert.equal(r.get('x-other'), '1');
});

test('expired token: 401 "Jwt is expired" with invalid_token; within the 60 s skew it still passes', async () => {
  const tok = await sign({ iss: 'https://issuer.example', sub: 'a', exp: sec(NOW) - 30 });
  assert.equal((await run(filter(istio), request('/', { authorization: `Bearer ${tok}` }))).ok, true, '30 s past exp is inside the skew');
  const old = await sign({ iss: 'https://issuer.example', sub: 'a', exp: sec(NOW) - 120 });
  const o = await run(filter(istio), request('/p?q=1', { authorization: `Bearer ${old}` }));
  assert.equal(o.ok, false);
  if (o.ok) return;
  assert.equal(o.status, 401);
  assert.equal(o.message, JwtStatus.expired);
  assert.deepEqual(o.headers, ['www-authenticate', 'Bearer realm="http://svc:8080/p", error="invalid_token"']);
});

test('wrong issuer -> 401; wrong audience -> 403 (Envoy); audience listed -> ok', async () => {
  const wrongIss = await sign({ iss: 'https://evil', sub: 'a' });
  const o1 = await run(filter(istio), request('/', { authorization: `Bearer ${wrongIss}` }));
  assert.deepEqual(o1.ok ? 'ok' : [o1.status, o1.message], [401, JwtStatus.badIssuer]);
  const aud = await sign({ iss: 'https://issuer.example', sub: 'a', aud: ['other'] });
  const f = filter(istio, [provider({ audiences: ['svc'] })]);
  const o2 = await run(f, request('/', { authorization: `Bearer ${aud}` }));
  assert.deepEqual(o2.ok ? 'ok' : [o2.status, o2.message], [403, JwtStatus.badAudience]);
  const good = await sign({ iss: 'https://issuer.example', sub: 'a', aud: 'svc' });
  assert.equal((await run(f, request('/', { authorization: `Bearer ${good}` }))).ok, true);
});

test('missing token: allowed under allow_missing; required provider -> 401 "Jwt is missing" without error=', async () => {
  assert.deepEqual(await run(filter(istio), request('/')), { ok: true, metadata: undefined });
  const o = await run(filter({ kind: 'provider', provider: 'origins-0' }), request('/a'));
  assert.equal(o.ok, false);
  if (o.ok) return;
  assert.equal(o.message, JwtStatus.missing);
  assert.deepEqual(o.headers, ['www-authenticate', 'Bearer realm="http://svc:8080/a"']);
});

test('bad signature (other key) and garbage token fail; allow_missing_or_failed lets them through', async () => {
  const forged = await sign({ iss: 'https://issuer.example', sub: 'a' }, otherKey);
  const o = await run(filter(istio), request('/', { authorization: `Bearer ${forged}` }));
  assert.deepEqual(o.ok ? 'ok' : [o.status, o.message], [401, JwtStatus.failed]);
  const g = await run(filter(istio), request('/', { authorization: 'Bearer not-a-jwt' }));
  assert.deepEqual(g.ok ? 'ok' : [g.status, g.message], [401, JwtStatus.badForm]);
  assert.equal((await run(filter({ kind: 'allow_missing_or_failed' }), request('/', { authorization: `Bearer ${forged}` }))).ok, true);
});

test('token in the access_token query parameter, and in a custom header with its prefix', async () => {
  const tok = await sign({ iss: 'https://issuer.example', sub: 'q' });
  const o = await run(filter(istio), request(`/x?a=1&access_token=${tok}`));
  assert.equal(o.ok, true);
  assert.equal(((o.ok && o.metadata?.payload) as JWTPayload).sub, 'q');
  const f = filter(istio, [provider({ locations: [{ kind: 'header', name: 'x-jwt', prefix: 'Token ' }], forward: true })]);
  const r = request('/', { 'x-jwt': `Token ${tok}` });
  assert.equal((await run(f, r)).ok, true);
  assert.equal(r.get('x-jwt'), `Token ${tok}`, 'forward: true keeps the header');
  // The default location is not consulted when locations are configured: a Bearer token there is "missing".
  assert.equal((await run(filter({ kind: 'provider', provider: 'origins-0' }, [provider({ locations: [{ kind: 'param', name: 'tok' }] })]), request('/', { authorization: `Bearer ${tok}` }))).ok, false);
});

test('requires_any over two issuers picks the provider whose issuer matches; requires_all needs both', async () => {
  const p1 = provider({ name: 'a', issuer: 'https://a' });
  const p2 = provider({ name: 'b', issuer: 'https://b' });
  const any: JwtRequirement = { kind: 'any', requirements: [{ kind: 'provider', provider: 'a' }, { kind: 'provider', provider: 'b' }] };
  const tokB = await sign({ iss: 'https://b', sub: 'x' });
  assert.equal((await run(filter(any, [p1, p2]), request('/', { authorization: `Bearer ${tokB}` }))).ok, true);
  const all: JwtRequirement = { kind: 'all', requirements: [{ kind: 'provider', provider: 'a' }, { kind: 'provider', provider: 'b' }] };
  const o = await run(filter(all, [p1, p2]), request('/', { authorization: `Bearer ${tokB}` }));
  assert.deepEqual(o.ok ? 'ok' : o.message, JwtStatus.badIssuer);
});

test('forward_payload_header and claim_to_headers (nested claim) are set on the request', async () => {
  const tok = await sign({ iss: 'https://issuer.example', sub: 's1', ext: { team: 'red' } });
  const f = filter(istio, [provider({ forwardPayloadHeader: 'x-jwt-payload', claimToHeaders: [{ header: 'x-sub', claim: 'sub' }, { header: 'x-team', claim: 'ext.team' }] })]);
  const r = request('/', { authorization: `Bearer ${tok}` });
  assert.equal((await run(f, r)).ok, true);
  assert.equal(JSON.parse(Buffer.from(r.get('x-jwt-payload')!, 'base64url').toString()).sub, 's1');
  assert.equal(r.get('x-sub'), 's1');
  assert.equal(r.get('x-team'), 'red');
});

test('verified tokens are cached: the second request is synchronous, and expiry is still checked on the clock', async () => {
  const tok = await sign({ iss: 'https://issuer.example', sub: 'c', exp: sec(NOW) + 100 });
  const f = filter(istio);
  const first = f.run(request('/', { authorization: `Bearer ${tok}` }), NOW);
  assert.ok(first instanceof Promise, 'first verification is async');
  assert.equal((await first).ok, true);
  const second = f.run(request('/', { authorization: `Bearer ${tok}` }), NOW + 1000);
  assert.ok(!(second instanceof Promise), 'cached');
  assert.equal((second as JwtOutcome).ok, true);
  const later = f.run(request('/', { authorization: `Bearer ${tok}` }), NOW + 200_000);
  assert.ok(!(later instanceof Promise));
  assert.deepEqual((later as JwtOutcome).ok ? 'ok' : (later as { message: string }).message, JwtStatus.expired);
});

test('rules: a path outside every rule needs no token; an invalid JWKS fails every token (fail closed)', async () => {
  const f = new JwtAuthnFilter('j', {
    providers: { 'origins-0': provider() },
    rules: [{ match: { path: { kind: 'path', value: '/secure' }, caseSensitive: true, headers: [], queryParams: [], grpc: false }, requires: { kind: 'provider', provider: 'origins-0' } }],
    bypassCorsPreflight: false, stripFailureResponse: false,
  });
  assert.equal((await run(f, request('/open'))).ok, true);
  assert.equal((await run(f, request('/secure'))).ok, false);
  const tok = await sign({ iss: 'https://issuer.example', sub: 'a' });
  const broken = filter(istio, [provider({ jwks: '{"keys": 5}' })]);
  const o = await run(broken, request('/', { authorization: `Bearer ${tok}` }));
  assert.equal(o.ok, false);
});

// ---- every token is extracted and must verify (security review F2 / F7)

test('every token must verify: a forged second Bearer (same or repeated header) or a repeated access_token fails the request', async () => {
  const good = await sign({ iss: 'https://issuer.example', sub: 'a' });
  const forged = await sign({ iss: 'https://issuer.example', sub: 'admin' }, otherKey);
  const f = filter(istio);
  const twoHeaders: JwtRequest = request('/', {});
  twoHeaders.headers.push('authorization', `Bearer ${good}`, 'authorization', `Bearer ${forged}`);
  assert.deepEqual(await run(f, twoHeaders).then((o) => (o.ok ? 'ok' : o.message)), JwtStatus.failed);
  const twoParams = await run(f, request(`/?access_token=${good}&access_token=${forged}`));
  assert.equal(twoParams.ok, false, 'a repeated access_token is verified too');
  const both = request(`/?access_token=${good}`, { authorization: `Bearer ${good}` });
  assert.equal((await run(f, both)).ok, true, 'the same valid token in two places passes');
});

test('unknown issuer is reported before the signature; allow_missing alone still refuses a present bad token', async () => {
  const other = await sign({ iss: 'https://elsewhere', sub: 'x' }, otherKey);
  const o = await run(filter(istio), request('/', { authorization: `Bearer ${other}` }));
  assert.deepEqual(o.ok ? 'ok' : o.message, JwtStatus.badIssuer);
  const forged = await sign({ iss: 'https://issuer.example', sub: 'a' }, otherKey);
  const alone = filter({ kind: 'allow_missing' });
  assert.equal((await run(alone, request('/'))).ok, true);
  assert.equal((await run(alone, request('/', { authorization: `Bearer ${forged}` }))).ok, false);
});

test('claim_to_headers: client copies are removed first; CR/LF/NUL claims are skipped; lists become base64 JSON (Envoy)', async () => {
  const f = filter(istio, [provider({ claimToHeaders: [{ header: 'x-name', claim: 'name' }, { header: 'x-groups', claim: 'groups' }, { header: 'x-n', claim: 'n' }] })]);
  const spoof = request('/', { 'x-name': 'root', 'x-groups': 'admins' });
  assert.equal((await run(f, spoof)).ok, true, 'no token: allow_missing');
  assert.equal(spoof.get('x-name'), undefined, 'a client-supplied claim header never reaches the app');
  assert.equal(spoof.get('x-groups'), undefined);
  const tok = await sign({ iss: 'https://issuer.example', sub: 'b', name: 'bob\r\nx-admin: 1', groups: ['a', 'b'], n: 42 });
  const r = request('/', { authorization: `Bearer ${tok}` });
  assert.equal((await run(f, r)).ok, true);
  assert.equal(r.get('x-name'), undefined, 'a claim with CR/LF is not copied');
  assert.equal(Buffer.from(r.get('x-groups')!, 'base64').toString(), '["a","b"]');
  assert.equal(r.get('x-n'), '42');
});

/** A jose the test holds: load() counts calls and returns a promise the test resolves (with the real jose) or fails. */
function heldJose(): { src: JoseSource; loads: () => number; resolve(): void; fail(): void } {
  let mod: typeof joseLib | undefined;
  let loads = 0;
  let settle!: (m: typeof joseLib) => void;
  let fail!: (e: Error) => void;
  const p = new Promise<typeof joseLib>((res, rej) => { settle = res; fail = rej; });
  p.catch(() => { /* each waiter handles it */ });
  return {
    src: { get: () => mod, load: () => { loads++; return p; } },
    loads: () => loads,
    resolve: () => { mod = joseLib; settle(joseLib); },
    fail: () => fail(new Error('cannot load jose')),
  };
}

test('jose is loaded when a filter with a JWKS is built (the config), not before; a filter without one never loads it', () => {
  const h = heldJose();
  filter(istio, [provider()], {}, h.src);
  assert.equal(h.loads(), 1);
  const none = heldJose();
  filter(undefined, [], {}, none.src);
  assert.equal(none.loads(), 0);
});

test('a token arriving while jose loads waits for it, then gets the verified answer (never passes unverified)', async () => {
  const h = heldJose();
  const f = filter(istio, [provider()], {}, h.src);
  const good = f.run(request('/', { authorization: `Bearer ${await sign({ iss: 'https://issuer.example', sub: 'a' })}` }), NOW);
  const forged = f.run(request('/', { authorization: `Bearer ${await sign({ iss: 'https://issuer.example', sub: 'a' }, otherKey)}` }), NOW);
  assert.ok(good instanceof Promise && forged instanceof Promise);
  let settled = false;
  void good.then(() => { settled = true; });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'no answer before jose is there');
  // A request without a token needs no signature check: answered at once (allow_missing).
  const missing = f.run(request('/'), NOW);
  assert.ok(!(missing instanceof Promise) && missing.ok);
  h.resolve();
  assert.equal((await good).ok, true);
  const o = await forged;
  assert.deepEqual(o.ok ? 'ok' : [o.status, o.message], [401, JwtStatus.failed]);
});

test('jose failing to load fails closed: every token, a valid one too, gets 401', async () => {
  const h = heldJose();
  const f = filter(istio, [provider()], {}, h.src);
  h.fail();
  const o = await run(f, request('/', { authorization: `Bearer ${await sign({ iss: 'https://issuer.example', sub: 'a' })}` }));
  assert.deepEqual(o.ok ? 'ok' : [o.status, o.message], [401, JwtStatus.failed]);
});
