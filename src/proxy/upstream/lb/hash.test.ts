// proxy/upstream/lb: xxHash64 against the published reference vectors; hash policy key extraction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xxhash64, fold53, combineHashes } from './hash.ts';
import { computeRequestHash, parseCookie, queryParam } from './hash-policy.ts';

test('xxhash64 matches reference vectors', () => {
  assert.equal(xxhash64('').toString(16), 'ef46db3751d8e999');
  assert.equal(xxhash64('a').toString(16), 'd24ec4f1a98c6e5b');
  assert.equal(xxhash64('abc').toString(16), '44bc2cf5ad770999');
  assert.equal(xxhash64('Nobody inspects the spammish repetition').toString(16), 'fbcea83c8a378bf1');
});

test('fold53 keeps order and stays a safe integer', () => {
  const a = fold53(0xffffffffffffffffn);
  assert.ok(Number.isSafeInteger(a));
  assert.ok(fold53(1n << 40n) < fold53(1n << 62n));
});

test('combineHashes rotates then xors', () => {
  assert.equal(combineHashes(undefined, 5n), 5n);
  assert.equal(combineHashes(1n << 63n, 0n), 1n);
  assert.equal(combineHashes(3n, 1n), 7n);
});

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });

test('header, query and source-ip policies give stable hashes; missing keys give none', () => {
  const req = { headers: headers({ 'x-user': 'alice' }), path: '/p?user=bob&x=1', sourceIp: '10.0.0.1' };
  const byHeader = computeRequestHash([{ kind: 'header', headerName: 'X-User' }], req);
  assert.equal(byHeader.hash, fold53(xxhash64('alice')));
  const byQuery = computeRequestHash([{ kind: 'queryParameter', name: 'user' }], req);
  assert.equal(byQuery.hash, fold53(xxhash64('bob')));
  const byIp = computeRequestHash([{ kind: 'sourceIp' }], req);
  assert.equal(byIp.hash, fold53(xxhash64('10.0.0.1')));
  assert.equal(computeRequestHash([{ kind: 'header', headerName: 'x-missing' }], req).hash, undefined);
});

test('terminal policy stops the chain; non-terminal policies combine', () => {
  const req = { headers: headers({ a: '1', b: '2' }), path: '/' };
  const t = computeRequestHash([{ kind: 'header', headerName: 'a', terminal: true }, { kind: 'header', headerName: 'b' }], req);
  assert.equal(t.hash, fold53(xxhash64('1')));
  const both = computeRequestHash([{ kind: 'header', headerName: 'a' }, { kind: 'header', headerName: 'b' }], req);
  assert.equal(both.hash, fold53(combineHashes(xxhash64('1'), xxhash64('2'))));
  // A terminal policy without a key still ends the chain when an earlier policy produced a hash.
  const early = computeRequestHash([{ kind: 'header', headerName: 'a' }, { kind: 'header', headerName: 'missing', terminal: true }, { kind: 'header', headerName: 'b' }], req);
  assert.equal(early.hash, fold53(xxhash64('1')));
  // ...but not when nothing has produced a hash yet.
  const none = computeRequestHash([{ kind: 'header', headerName: 'missing', terminal: true }, { kind: 'header', headerName: 'b' }], req);
  assert.equal(none.hash, fold53(xxhash64('2')));
});

test('cookie policy reads the cookie, or generates one with Set-Cookie when a ttl is set', () => {
  const withCookie = computeRequestHash([{ kind: 'cookie', name: 'sess', ttlMs: 60_000 }], { headers: headers({ cookie: 'a=b; sess="xyz"' }), path: '/' });
  assert.equal(withCookie.hash, fold53(xxhash64('xyz')));
  assert.equal(withCookie.setCookie, undefined);
  const gen = computeRequestHash([{ kind: 'cookie', name: 'sess', ttlMs: 60_000, path: '/api' }], { headers: headers({}), path: '/', sourceIp: '10.1.1.1', sourcePort: 5000 });
  assert.ok(gen.setCookie);
  assert.match(gen.setCookie!, /^sess="[0-9a-f]{16}"; Max-Age=60; Path=\/api; HttpOnly$/);
  const value = /"([0-9a-f]+)"/.exec(gen.setCookie!)![1];
  // The next request carrying the generated cookie hashes to the same value.
  const next = computeRequestHash([{ kind: 'cookie', name: 'sess', ttlMs: 60_000 }], { headers: headers({ cookie: `sess=${value}` }), path: '/' });
  assert.equal(next.hash, gen.hash);
  // Without a ttl no cookie is generated and no hash is produced.
  const none = computeRequestHash([{ kind: 'cookie', name: 'sess' }], { headers: headers({}), path: '/' });
  assert.deepEqual(none, { hash: undefined, setCookie: undefined });
});

test('parseCookie and queryParam edge cases', () => {
  assert.equal(parseCookie('a=1;b=2', 'b'), '2');
  assert.equal(parseCookie(undefined, 'b'), undefined);
  assert.equal(queryParam('/x?flag&k=v#frag', 'flag'), '');
  assert.equal(queryParam('/x?k=v#frag', 'k'), 'v');
  assert.equal(queryParam('/x', 'k'), undefined);
});
