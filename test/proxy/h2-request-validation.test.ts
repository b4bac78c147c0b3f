// test/proxy: HTTP/2 downstream request validation through a proxy engine on 127.0.0.1 — 400 on the stream for a
// method that is not an upper-case token, an encoded NUL in :path and a #fragment, as the HTTP/1.1 parser answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { Engine } from '../../src/proxy/engine.ts';
import { httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { requestProblem } from '../../src/proxy/http/h2-downstream.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

async function proxyPort(): Promise<number> {
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/', direct: { status: 200, body: 'routed' } }])))], []));
  return engine.portOf('l')!;
}

function get(client: ClientHttp2Session, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': method, ':path': path });
    let status = 0, body = '';
    req.on('response', (h) => { status = Number(h[':status']); });
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

test('h2: malformed requests get 400 on their stream; the connection keeps serving', async () => {
  const port = await proxyPort();
  const client = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
  client.on('error', () => {});
  assert.deepEqual(await get(client, 'GET', '/ok'), { status: 200, body: 'routed' });
  const cases: Array<[string, string, RegExp]> = [
    ['get', '/x', /method/],
    ['GET', '/a%00b', /%00/],
    ['GET', '/admin#frag', /fragment/],
  ];
  for (const [m, p, why] of cases) {
    const r = await get(client, m, p);
    assert.equal(r.status, 400, `${m} ${p}`);
    assert.match(r.body, why);
  }
  // A method with a non-token character never reaches us: nghttp2 resets that stream (PROTOCOL_ERROR), as Envoy's
  // codec does; the session survives that too.
  await assert.rejects(get(client, 'G@T', '/x'), /PROTOCOL_ERROR/);
  // the same session still routes a good request afterwards
  assert.deepEqual(await get(client, 'POST', '/a%2Fb'), { status: 200, body: 'routed' });
  assert.equal(client.destroyed, false);
});

test('requestProblem: the checks one by one', () => {
  assert.equal(requestProblem('GET', '/a?b=%20'), undefined);
  assert.equal(requestProblem('CUSTOM-VERB', '/'), undefined);
  assert.match(requestProblem('Get', '/')!, /method/);
  assert.match(requestProblem('', '/')!, /method/);
  assert.match(requestProblem('GET', '/?q=%00')!, /%00/);
  assert.match(requestProblem('GET', '/p#')!, /fragment/);
});
