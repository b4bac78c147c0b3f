// test/proxy: through a real proxy, response header names reach an HTTP/1.1 client in lower case (as Envoy's codec
// writes them) whether the head is rebuilt (short) or copied from received lines (8+ lines); values byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { cluster, httpHandler, listener, rawExchange, rawUpstream, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

/** Mixed-case lines with values that must arrive unchanged (inner spaces, obs-text, quotes, upper-case letters). */
const MIXED = 'Content-Type: Text/Plain; Charset=UTF-8\r\nX-Custom-Header: MiXeD  Inner \xe9\xff\r\nETag: "AbC"\r\n' +
  'SET-COOKIE: Session=XyZ; Path=/\r\nx-already-lower: v\r\nX-Spaced:   trimmed   \r\n';
const MIXED_OUT = ['content-type: Text/Plain; Charset=UTF-8', 'x-custom-header: MiXeD  Inner \xe9\xff', 'etag: "AbC"',
  'set-cookie: Session=XyZ; Path=/', 'x-already-lower: v', 'x-spaced: trimmed'];
/** Enough more lines (half of them mixed case) for the path that copies received lines. */
const PAD = Array.from({ length: 10 }, (_, i) => (i % 2 ? `X-Pad-${i}: V${i}\r\n` : `x-pad-${i}: V${i}\r\n`)).join('');

test('mixed-case response header names reach the client in lower case, short and long heads, values byte-exact', { timeout: 15_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const up = await rawUpstream((_m, path) => 'HTTP/1.1 200 OK\r\n' + MIXED + (path === '/long' ? PAD : '') + 'Content-Length: 2\r\n\r\nok');
  cleanups.push(() => up.close());
  const engine = new Engine({ compileRouter: testRouter, io: fp.io });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('http', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: up.port }])]));
  const port = engine.portOf('http')!;
  for (const path of ['/short', '/long', '/short', '/long']) {
    const t = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, (x) => x.endsWith('ok'));
    const head = t.slice(0, t.indexOf('\r\n\r\n'));
    const lines = head.split('\r\n').slice(1);
    for (const l of lines) {
      const name = l.slice(0, l.indexOf(':'));
      assert.equal(name, name.toLowerCase(), `${path}: name not lower case in ${JSON.stringify(l)}`);
      assert.match(l, /^[^:]+: \S/, `${path}: one space after the colon`);
    }
    for (const want of MIXED_OUT) assert.ok(lines.includes(want), `${path}: missing ${JSON.stringify(want)} in\n${head}`);
    if (path === '/long') for (let i = 0; i < 10; i++) assert.ok(lines.includes(`x-pad-${i}: V${i}`), `${path}: pad ${i}`);
    assert.deepEqual(lines.filter((l) => l.startsWith('content-length:')), ['content-length: 2']);
  }
});
