// test/review: round-3 review of response heads forwarded as runs of received lines (RawFields) through a real proxy:
// hop-by-hop and Connection-named headers dropped, Server replaced, duplicates and obs-text values kept byte for byte
// (names in lower case and values as `name: value`, as Envoy's HTTP/1.1 codec writes them),
// framing regenerated once, route response edits applied; interim 100 before the final head; HEAD / 204 / 304.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { cluster, httpHandler, listener, rawExchange, rawUpstream, routes, snapshot, testRouter } from '../proxy/engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

/** Ten plain lines, so every head below is long enough for the raw-lines path (8+ received lines). */
const PAD = Array.from({ length: 10 }, (_, i) => `X-Pad-${i}: v${i}\r\n`).join('');

/** Raw upstream heads by path (the bytes after the status line's CRLF up to the blank line), and bodies. */
function upstreamReply(method: string, path: string): string {
  switch (path) {
    case '/hop':
      return 'HTTP/1.1 200 OK\r\n' + PAD +
        'Connection: keep-alive, X-Secret\r\nX-Secret: must-not-pass\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n' +
        'Server: upstream-server\r\nSet-Cookie: a=1\r\nX-Obs: caf\xe9 \xff\r\nset-cookie: b=2\r\nTrailer: X-T\r\nContent-Length: 5\r\nX-Last:   spaced   \r\n\r\nhello';
    case '/interim':
      return 'HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n' + 'HTTP/1.1 200 OK\r\n' + PAD + 'X-Final: yes\r\nContent-Length: 2\r\n\r\nok';
    case '/head':
      return 'HTTP/1.1 200 OK\r\n' + PAD + 'Content-Type: text/plain\r\nContent-Length: 1234\r\n\r\n';
    case '/204':
      return 'HTTP/1.1 204 No Content\r\n' + PAD + 'X-Empty: 1\r\n\r\n';
    case '/304':
      return 'HTTP/1.1 304 Not Modified\r\n' + PAD + 'ETag: "abc"\r\nContent-Length: 99\r\n\r\n';
    default:
      return `HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-Method: ${method}\r\n\r\n`;
  }
}

test('raw-forwarded response heads keep the forwarding rules through a real proxy', { timeout: 15_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const up = await rawUpstream(upstreamReply);
  cleanups.push(() => up.close());
  const engine = new Engine({ compileRouter: testRouter, io: fp.io });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('http', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: up.port }])]));
  const port = engine.portOf('http')!;
  const ask = (method: string, path: string, complete: (t: string) => boolean): Promise<string> =>
    rawExchange(port, `${method} ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, complete);
  const headOf = (t: string): string => t.slice(0, t.indexOf('\r\n\r\n') + 2);
  const lines = (t: string, name: string): string[] => headOf(t).split('\r\n').filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'));

  // Hop-by-hop, Connection-named, Server, duplicates, obs-text, whitespace.
  const hop = await ask('GET', '/hop', (t) => t.endsWith('hello'));
  const h = headOf(hop);
  assert.match(h, /^HTTP\/1\.1 200 OK\r\n/);
  for (const gone of ['x-secret', 'keep-alive', 'proxy-connection', 'trailer', 'connection']) assert.deepEqual(lines(hop, gone), [], `${gone} must not be forwarded:\n${h}`);
  assert.doesNotMatch(h, /must-not-pass|upstream-server/);
  assert.deepEqual(lines(hop, 'server'), ['server: envoy']);
  assert.deepEqual(lines(hop, 'set-cookie'), ['set-cookie: a=1', 'set-cookie: b=2'], 'duplicates in received order');
  assert.ok(Buffer.from(hop, 'latin1').includes(Buffer.from('x-obs: caf\xe9 \xff\r\n', 'latin1')), 'obs-text bytes kept');
  assert.equal(lines(hop, 'content-length').length, 1, 'framing written once');
  assert.deepEqual(lines(hop, 'content-length'), ['content-length: 5']);
  assert.deepEqual(lines(hop, 'x-resp-added'), ['x-resp-added: yes'], 'route response edit applied');
  assert.equal(lines(hop, 'x-envoy-upstream-service-time').length, 1);
  for (let i = 0; i < 10; i++) assert.deepEqual(lines(hop, `x-pad-${i}`), [`x-pad-${i}: v${i}`]);
  assert.deepEqual(lines(hop, 'x-last'), ['x-last: spaced'], 'value whitespace as Envoy writes it');
  // no header line may contain a bare CR or LF, and each line is name: value
  for (const l of h.split('\r\n').slice(1, -1)) assert.match(l, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/, `bad line ${JSON.stringify(l)}`);

  // A 100 Continue first: the final head is the one forwarded (its own lines, not the interim's).
  const interim = await ask('GET', '/interim', (t) => t.endsWith('ok'));
  assert.match(interim, /^HTTP\/1\.1 200 OK\r\n/);
  assert.deepEqual(lines(interim, 'x-final'), ['x-final: yes']);
  assert.deepEqual(lines(interim, 'x-interim'), []);

  // 204 and 304: no body, no invented framing; 304's validators kept.
  const r204 = await ask('GET', '/204', (t) => t.includes('\r\n\r\n'));
  assert.match(r204, /^HTTP\/1\.1 204 /);
  assert.deepEqual(lines(r204, 'content-length'), []);
  assert.deepEqual(lines(r204, 'transfer-encoding'), []);
  assert.deepEqual(lines(r204, 'x-empty'), ['x-empty: 1']);
  assert.equal(r204.slice(r204.indexOf('\r\n\r\n') + 4), '');
  const r304 = await ask('GET', '/304', (t) => t.includes('\r\n\r\n'));
  assert.match(r304, /^HTTP\/1\.1 304 /);
  assert.deepEqual(lines(r304, 'etag'), ['etag: "abc"']);
  assert.deepEqual(lines(r304, 'transfer-encoding'), []);
  assert.equal(r304.slice(r304.indexOf('\r\n\r\n') + 4), '');

  // HEAD: no body bytes follow the head.
  const head = await ask('HEAD', '/head', (t) => t.includes('\r\n\r\n'));
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.deepEqual(lines(head, 'content-type'), ['content-type: text/plain']);
  assert.equal(head.slice(head.indexOf('\r\n\r\n') + 4), '');
  assert.deepEqual(lines(head, 'transfer-encoding'), []);
});

// A HEAD response's Content-Length must be the GET body's length or absent (RFC 9110 8.6, RFC 9112 6.3: "MUST NOT send
// Content-Length ... unless its value equals" that length). The proxy answered "content-length: 0" for an upstream's
// "Content-Length: 1234" (h1-upstream passed 0 as the length of every bodiless response; fixed in 78b93f8).
test('a HEAD response keeps the upstream Content-Length', { timeout: 10_000 }, async () => {
  const fp = installFastPath('internal');
  const up = await rawUpstream(() => 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n');
  cleanups.push(() => up.close());
  const engine = new Engine({ compileRouter: testRouter, io: fp.io });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('http', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: up.port }])]));
  const port = engine.portOf('http')!;
  // two HEADs on one connection: the first answer must not carry a body, and the connection stays usable
  const t = await rawExchange(port, 'HEAD /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n', (x) => x.split('\r\n\r\n').length >= 3);
  const heads = t.split('\r\n\r\n').slice(0, 2);
  for (const h of heads) {
    assert.match(h, /^HTTP\/1\.1 200 /);
    assert.deepEqual(h.split('\r\n').filter((l) => /^content-length:/i.test(l)).map((l) => l.toLowerCase()), ['content-length: 1234'], h);
  }
  assert.equal(t.split('\r\n\r\n')[2], '', 'no body bytes after a HEAD response');
});
