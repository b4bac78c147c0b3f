// test/proxy: hitless config updates — in-flight requests survive, new requests see the new routes,
// upstream connections are reused across pushes, removed listeners stop accepting and drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter, type Backend } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

function get(port: number, path: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    r.on('error', reject);
    r.end();
  });
}

test('a push applies to new requests while in-flight ones finish on the old route', async () => {
  const mk = async (name: string): Promise<Backend> => backend((req, res) => {
    const delay = req.url === '/slow' ? 300 : 0;
    setTimeout(() => res.end(`${name} ${req.url}`), delay);
  });
  const a = await mk('A'), b = await mk('B');
  cleanups.push(() => a.close(), () => b.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  const clusters = [cluster('a', [{ address: '127.0.0.1', port: a.port }]), cluster('b', [{ address: '127.0.0.1', port: b.port }])];
  await engine.apply(snapshot([listener('l', httpHandler(routes('r1', [{ prefix: '/', cluster: 'a' }])))], clusters));
  const port = engine.portOf('l')!;
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  cleanups.push(() => agent.destroy());
  assert.equal((await get(port, '/x', agent)).body, 'A /x');
  const aConns = a.connections;

  const slow = get(port, '/slow', agent); // in flight across the push
  await new Promise((r) => setTimeout(r, 50));
  await engine.apply(snapshot([listener('l', httpHandler(routes('r2', [{ prefix: '/', cluster: 'b' }])))], clusters));
  assert.equal(engine.portOf('l'), port, 'same listener socket kept');
  assert.equal((await get(port, '/y', agent)).body, 'B /y');
  assert.equal((await slow).body, 'A /slow');

  // Route back to A: the pooled upstream connection to A survived the pushes.
  await engine.apply(snapshot([listener('l', httpHandler(routes('r3', [{ prefix: '/', cluster: 'a' }])))], clusters));
  assert.equal((await get(port, '/z', agent)).body, 'A /z');
  assert.equal(a.connections, aConns, 'no new upstream connection to A');
});

test('a removed listener stops accepting; its busy connection finishes its request first', async () => {
  const be = await backend((req, res) => setTimeout(() => res.end(`ok ${req.url}`), req.url === '/slow' ? 200 : 0));
  cleanups.push(() => be.close());
  const engine = new Engine({ compileRouter: testRouter });
  cleanups.push(() => engine.close());
  const c = [cluster('c', [{ address: '127.0.0.1', port: be.port }])];
  await engine.apply(snapshot([listener('gone', httpHandler(routes('r', [{ prefix: '/' }])))], c));
  const port = engine.portOf('gone')!;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  const inflight = get(port, '/slow', agent);
  await new Promise((r) => setTimeout(r, 50));
  await engine.apply(snapshot([], c));
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'ok /slow');
  const refused = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
});
