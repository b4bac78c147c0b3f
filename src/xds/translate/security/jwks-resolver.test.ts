// xds/translate/security: JwksResolver — real HTTP on a loopback server (fetch, OIDC discovery, timeout, bad
// documents) and the cache / refresh / retry schedule on a FakeClock with an injected fetcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock, realClock } from '../../../common/clock.ts';
import type { ConfigObject } from '../../../config/types.ts';
import { buildSnapshot } from '../../../model/snapshot.ts';
import { JwksResolver, MAX_JWKS_BYTES, httpJwksFetch, jwksSources, jwksProblem } from './jwks-resolver.ts';
import { securityIssues } from './issues.ts';
import { jwtAuthnFilter } from './jwt.ts';
import { FAKE_JWKS } from './jwks.ts';

const JWKS = '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}';

function ra(name: string, rules: object[]): ConfigObject {
  return { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: { name, namespace: 'ns' }, spec: { jwtRules: rules } };
}

async function withServer(fn: (base: string, hits: string[]) => Promise<void>): Promise<void> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/jwks') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JWKS); return; }
    if (req.url === '/not-jwks') { res.end('{"hello":1}'); return; }
    if (req.url === '/.well-known/openid-configuration') { res.end(JSON.stringify({ jwks_uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` })); return; }
    if (req.url === '/slow') return; // never answers: the client's timeout must fire
    res.writeHead(404); res.end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('fetches over HTTP (and via OpenID discovery), reports failures naming policy and URI', async () => {
  await withServer(async (base) => {
    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    let changes = 0;
    const r = new JwksResolver({
      clock: realClock, timeoutMs: 300,
      logger: { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }), info: () => {} } as never,
      onChange: () => { changes++; },
    });
    const objects = [
      ra('good', [{ issuer: 'i1', jwksUri: `${base}/jwks` }]),
      ra('oidc', [{ issuer: base }]),
      ra('missing', [{ issuer: 'i3', jwksUri: `${base}/nope` }]),
      ra('junk', [{ issuer: 'i4', jwksUri: `${base}/not-jwks` }]),
      ra('slow', [{ issuer: 'i5', jwksUri: `${base}/slow` }]),
      ra('inline', [{ issuer: 'i6', jwks: JWKS }]),
    ];
    assert.equal(r.resolve(objects).size, 0, 'nothing known before the first fetch');
    await r.idle();
    const got = r.resolve(objects);
    const st = r.status();
    assert.deepEqual(st.find((x) => x.uri === `${base}/slow`)?.policies, ['ns/slow']);
    assert.equal(st.find((x) => x.uri === `${base}/slow`)?.state, 'failed');
    assert.equal(st.find((x) => x.uri === `${base}/jwks`)?.state, 'fetched');
    r.close();
    assert.deepEqual(got.get(`${base}/jwks`), { jwks: JWKS });
    assert.deepEqual(got.get(`oidc:${base}`), { jwks: JWKS });
    assert.match(got.get(`${base}/nope`)!.error!, /HTTP 404/);
    assert.match(got.get(`${base}/not-jwks`)!.error!, /not a JWKS/);
    assert.match(got.get(`${base}/slow`)!.error!, /timed out/);
    assert.equal(got.size, 5, 'inline jwks is never fetched');
    assert.equal(changes, 5);
    const slow = warnings.find((w) => String(w.obj.uri).endsWith('/slow'))!;
    assert.deepEqual(slow.obj.policies, ['ns/slow']);
    assert.match(slow.msg, /ns\/slow .*\/slow/);

    // translation with these results: fetched keys inlined, failures fail closed and are reported
    const snap = buildSnapshot(objects, 'v', { jwks: got });
    const providers = (jwtAuthnFilter(snap, objects as never)!.typed_config as { providers: Record<string, { local_jwks: { inline_string: string } }> }).providers;
    assert.equal(providers['origins-0']!.local_jwks.inline_string, JWKS);
    assert.equal(providers['origins-2']!.local_jwks.inline_string, FAKE_JWKS);
    const issues = securityIssues(snap);
    assert.deepEqual(issues.map((i) => i.name).sort(), ['ns/junk', 'ns/missing', 'ns/slow']);
    assert.ok(issues.every((i) => i.code === 'RIG306' && i.message.includes(base)));
  });
});

test('caches, refreshes on schedule, retries failures, keeps old keys when a refresh fails, forgets unused URIs', async () => {
  const clock = new FakeClock();
  const answers: (string | Error)[] = [JWKS, new Error('down'), '{"keys":[]}'];
  const calls: string[] = [];
  let changes = 0;
  const r = new JwksResolver({
    clock, refreshMs: 1000, retryMs: 100,
    fetch: async (uri) => { calls.push(uri); const a = answers.shift() ?? '{"keys":[]}'; if (a instanceof Error) throw a; return a; },
    onChange: () => { changes++; },
  });
  const objs = [ra('a', [{ issuer: 'x', jwksUri: 'https://idp/jwks' }]), ra('b', [{ issuer: 'x', jwksUri: 'https://idp/jwks' }])];
  r.resolve(objs);
  r.resolve(objs);
  await r.idle();
  assert.equal(calls.length, 1, 'one fetch per URI however many policies and resolves');
  assert.deepEqual(r.resolve(objs).get('https://idp/jwks'), { jwks: JWKS });
  assert.equal(changes, 1);
  clock.advance(999);
  await r.idle();
  assert.equal(calls.length, 1, 'not before refreshMs');
  clock.advance(1);
  await r.idle();
  assert.equal(calls.length, 2);
  assert.deepEqual(r.resolve(objs).get('https://idp/jwks'), { jwks: JWKS }, 'a failed refresh keeps the keys we had');
  assert.equal(changes, 1);
  clock.advance(100); // retry after a failure comes sooner
  await r.idle();
  assert.equal(calls.length, 3);
  assert.deepEqual(r.resolve(objs).get('https://idp/jwks'), { jwks: '{"keys":[]}' });
  assert.equal(changes, 2, 'rotated keys trigger a push');
  assert.equal(r.resolve([]).size, 0);
  assert.equal(clock.pending(), 0, 'an unused URI stops refreshing');
  r.close();
});

test('jwksSources and jwksProblem', () => {
  const m = jwksSources([ra('a', [{ jwksUri: 'u1' }, { issuer: 'https://iss' }, { jwks: '{}' }, null as never]), ra('b', [{ jwks_uri: 'u1' }])]);
  assert.deepEqual([...m], [['u1', ['ns/a', 'ns/b']], ['oidc:https://iss', ['ns/a']]]);
  assert.equal(jwksProblem(JWKS), undefined);
  assert.match(jwksProblem('nope')!, /not JSON/);
  assert.match(jwksProblem('[]')!, /no "keys"/);
});

test('httpJwksFetch rejects an unreachable port quickly', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  await assert.rejects(httpJwksFetch(`http://127.0.0.1:${port}/jwks`, 2000));
});

test('httpJwksFetch refuses a JWKS over MAX_JWKS_BYTES, declared or streamed', async () => {
  const big = JSON.stringify({ keys: [], pad: 'x'.repeat(MAX_JWKS_BYTES) });
  const s = createServer((req, res) => {
    if (req.url === '/declared') { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) }); res.end(big); return; }
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no declared length
    res.end(big);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  try {
    await assert.rejects(httpJwksFetch(`http://127.0.0.1:${port}/declared`, 5000), /over the 262144-byte limit/);
    await assert.rejects(httpJwksFetch(`http://127.0.0.1:${port}/streamed`, 5000), /over the 262144-byte limit/);
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
});
