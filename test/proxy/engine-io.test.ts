// test/proxy: both socket I/O paths (documented streams and the internal fast path) carry bytes intact —
// concurrent keep-alive requests, large bodies both ways, a slow reader forcing asynchronous writes (read-buffer
// locking), WebSocket tunnels and tcp_proxy — in plaintext and through TLS-terminating listeners (on the internal
// path, accepted TLS sockets read into the same reused buffers: io/internal.ts adoptReads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent, createServer as createHttp, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { backend, cluster, httpHandler, listener, routes, serverTlsIdentity, snapshot, terminatingTls, testRouter } from './engine-fixtures.ts';
import type { ListenerConfig, TcpHandlerConfig } from '../../src/proxy/config/types.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';
import { pattern, sha } from '../helpers/bytes.ts';

const cleanups = cleanupsAfterAll();


for (const [mode, tls] of [['documented', false], ['internal', false], ['documented', true], ['internal', true]] as const) {
  test(`io ${mode}${tls ? ', TLS listeners' : ''}: bodies stay intact under concurrency, large uploads, a slow reader, tunnels and tcp_proxy`, async () => {
    const fp = installFastPath(mode);
    assert.equal(fp.mode, mode, fp.reason ?? '');
    const sec = tls ? await serverTlsIdentity() : undefined;
    const maybeTls = (l: ListenerConfig): ListenerConfig => (sec ? terminatingTls(l, sec.down) : l);
    const connect = (port: number, host: string): Socket => (sec ? tlsConnect({ port, host, ...sec.client }) : netConnect(port, host));
    const request = (o: RequestOptions, cb: (res: IncomingMessage) => void): ClientRequest => (sec ? httpsRequest({ ...o, ...sec.client }, cb) : httpRequest(o, cb));
    const be = await backend((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/echo') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
        return;
      }
      req.resume();
      res.end(pattern(Number(u.searchParams.get('n')), Number(u.searchParams.get('seed'))));
    });
    cleanups.push(() => be.close());
    const echo = createServer((s) => s.on('data', (b) => s.write(b)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const ws = createHttp((_q, r) => r.end());
    ws.on('upgrade', (_req, sock) => { sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'); sock.on('data', (b) => sock.write(b)); sock.on('end', () => sock.end()); });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => { ws.closeAllConnections(); ws.close(r); }));

    const engine = new Engine({ compileRouter: testRouter, io: fp.io });
    cleanups.push(() => engine.close());
    const tcp: TcpHandlerConfig = { kind: 'tcp', statPrefix: 't', cluster: 'echo', idleTimeoutMs: 60_000, accessLog: [], maxConnectAttempts: 1 };
    await engine.apply(snapshot(
      [maybeTls(listener('http', httpHandler(routes('r', [{ prefix: '/ws', cluster: 'ws' }, { prefix: '/' }])))), maybeTls(listener('tcp', tcp))],
      [cluster('c', [{ address: '127.0.0.1', port: be.port }]), cluster('echo', [{ address: '127.0.0.1', port: (echo.address() as AddressInfo).port }]),
        cluster('ws', [{ address: '127.0.0.1', port: (ws.address() as AddressInfo).port }])],
    ));
    const port = engine.portOf('http')!;
    const agent = sec ? new HttpsAgent({ keepAlive: true, maxSockets: 20, ...sec.client }) : new HttpAgent({ keepAlive: true, maxSockets: 20 });
    cleanups.push(() => agent.destroy());
    const get = (path: string, body?: Buffer, slow = false): Promise<Buffer> => new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path, agent, method: body ? 'POST' : 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (slow) { res.pause(); setTimeout(() => res.resume(), 2); }
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      r.on('error', reject);
      r.end(body);
    });

    // Concurrency with mixed sizes: many sockets share read paths; every byte must land where it belongs.
    const sizes = [10, 1024, 16_384, 70_000, 300_000];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const n = sizes[i % sizes.length];
      jobs.push(get(`/p?n=${n}&seed=${i}`).then((b) => assert.equal(sha(b), sha(pattern(n, i)), `GET ${n} seed ${i}`)));
    }
    await Promise.all(jobs);
    // Large uploads (streamed, back-pressured), several at once.
    const ups = [1, 2, 3].map(async (k) => {
      const body = pattern(500_000 + k, 100 + k);
      assert.equal((await get('/echo', body)).toString(), `${body.length} ${sha(body)}`);
    });
    await Promise.all(ups);
    // A slow reader: the proxy's writes go asynchronous while upstream keeps sending.
    const big = await get('/p?n=3000000&seed=7', undefined, true);
    assert.equal(sha(big), sha(pattern(3_000_000, 7)));

    // WebSocket tunnel through the HTTP listener.
    const tunneled = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      let sent = false;
      s.on('data', (b) => {
        got += b.toString('latin1');
        if (!sent && got.includes('\r\n\r\n')) { sent = true; s.write('x'.repeat(100_000)); }
        if (got.split('\r\n\r\n')[1]?.length === 100_000) { s.destroy(); resolve(got); }
      });
      s.on('error', reject);
      s.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      setTimeout(() => reject(new Error(`tunnel timeout ${got.length}`)), 5000).unref();
    });
    assert.match(tunneled, /^HTTP\/1\.1 101 /);

    // tcp_proxy echo of 1 MB.
    const tcpPort = engine.portOf('tcp')!;
    const payload = pattern(1_000_000, 9);
    const back = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(tcpPort, '127.0.0.1');
      const chunks: Buffer[] = [];
      let n = 0;
      s.on('data', (b) => { chunks.push(b); n += b.length; if (n >= payload.length) { s.destroy(); resolve(Buffer.concat(chunks)); } });
      s.on('error', reject);
      s.write(payload);
      setTimeout(() => reject(new Error(`tcp timeout ${n}`)), 5000).unref();
    });
    assert.equal(sha(back), sha(payload));
  });
}
