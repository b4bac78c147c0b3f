// test/proxy: hitless sidecar start on real sockets — a request that reaches a listener bound during LDS but still
// warming (its RDS not applied yet) waits and is answered once the snapshot arrives, instead of the connection being
// accepted and closed unanswered (the client's 503 UC); a listener that never warms closes held connections on drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath, documentedIO, type SocketIO } from '../../src/proxy/io/index.ts';
import { httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
import { freePort } from '../helpers/ports.ts';


/** Raw HTTP/1.1 GET; resolves with what came back before the server closed (or '' on a bare close). */
function rawGet(port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); resolve(got || 'TIMEOUT'); }, timeoutMs);
    s.on('data', (b) => { got += b.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve(got); });
    s.write('GET /hello HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n');
  });
}

// both socket I/O paths: the internal one drops bytes read before a reader is set, so held sockets must not read
const ioPaths: Array<[string, SocketIO]> = [['documented', documentedIO], ['internal', installFastPath('internal').io]];
for (const [mode, io] of ioPaths) test(`a request to a warming listener is held and answered once its route config is applied (${mode} I/O)`, async () => {
  const engine = new Engine({ compileRouter: testRouter, io });
  try {
    const port = await freePort();
    const rc = routes('rc', [{ prefix: '/', direct: { status: 200, body: 'warm' } }]);
    const l = listener('inbound', httpHandler(rc), port);
    // LDS-time bind (before the ACK): the socket listens, the listener is warming
    const failed = await engine.bindListeners([l]);
    assert.equal(failed.size, 0);
    const early = rawGet(port);
    const early2 = rawGet(port);
    await new Promise((r) => setTimeout(r, 300)); // the requests reach the warming listener before RDS
    assert.equal(engine.activeConnections, 0); // held, not served
    await engine.apply(snapshot([l], []));
    const [a, b] = await Promise.all([early, early2]);
    assert.match(a, /^HTTP\/1\.1 200 /);
    assert.match(a, /warm$/);
    assert.match(b, /^HTTP\/1\.1 200 /);
    assert.match(await rawGet(port), /^HTTP\/1\.1 200 /);
  } finally {
    engine.close();
  }
});

test('connections held by a warming listener close when LDS drops it; none leak', async () => {
  const engine = new Engine({ compileRouter: testRouter });
  try {
    const port = await freePort();
    const l = listener('gone', httpHandler(routes('rc', [{ prefix: '/', direct: { status: 200 } }])), port);
    await engine.bindListeners([l]);
    const early = rawGet(port);
    await new Promise((r) => setTimeout(r, 200));
    engine.retainListeners(new Set());
    assert.equal(await early, ''); // closed (the listener is gone), not left hanging
  } finally {
    engine.close();
  }
});
