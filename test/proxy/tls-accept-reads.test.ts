// test/proxy: accepted TLS connections on the internal I/O path decrypt into reused per-socket buffers (adoptReads:
// net's onread given to a TLSSocket that wraps the accepted TCP socket) — every byte arrives through io.read with no
// 'data' event, across pauses; and through the engine a stalled large upload and a busy keep-alive connection on
// one TLS listener both arrive intact (a pending upstream write of a decrypted slice must keep its buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { request as httpsRequest, Agent } from 'node:https';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { internalIO } from '../../src/proxy/io/internal.ts';
import { acceptTls, inspectConnection } from '../../src/proxy/tls/downstream.ts';
import { tlsDialIO } from '../../src/proxy/tls/upstream.ts';
import { tlsIO } from '../../src/proxy/tls/io.ts';
import { NO_SECRETS } from '../../src/proxy/tls/context.ts';
import { realClock } from '../../src/common/clock.ts';
import { cluster, httpHandler, listener, routes, serverTlsIdentity, snapshot, terminatingTls, testRouter } from './engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';
import { pattern, sha } from '../helpers/bytes.ts';

const cleanups = cleanupsAfterAll();

test('acceptTls with reuseReads: bytes sent before the reader is set, at secureConnect and after arrive through io.read, none as a data event, across pauses', { timeout: 20_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const id = await serverTlsIdentity();
  const SIZE = 3_000_000;
  const data = pattern(SIZE, 7);
  const seen: Array<{ reused: boolean; dataEvents: number; hash: string; bytes: number }> = [];
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(() => r(undefined))));
  // after listen: adoption replaces the listening handle's onconnection
  internalIO.adoptServer(srv, (s: Socket) => {
    s.on('error', () => {});
    void (async () => {
      const r = await inspectConnection(s, internalIO, 2000);
      const reuse = seen.length === 0; // the first connection asks for reused reads, the second does not
      const { tls, io } = await acceptTls(s, r.initial, id.down, NO_SECRETS, internalIO, realClock, reuse);
      const rec = { reused: io !== tlsIO, dataEvents: 0, hash: '', bytes: 0 };
      seen.push(rec);
      if (reuse) tls.on('data', () => { rec.dataEvents++; });
      const h = createHash('sha256');
      let reads = 0;
      // the owner sets its reader late: what arrived meanwhile is held for it, and reading waits
      await new Promise((r) => setTimeout(r, 50));
      io.read(tls as unknown as Socket, (b, st, e) => {
        h.update(b.subarray(st, e));
        rec.bytes += e - st;
        // a pause every few reads: the reused buffer must not be overwritten while the socket is stopped
        if (++reads % 7 === 0) { tls.pause(); setTimeout(() => tls.resume(), 2); }
        if (rec.bytes === SIZE) { rec.hash = h.digest('hex'); tls.end(rec.hash); }
      });
    })().catch(() => s.destroy());
  });
  const port = (srv.address() as AddressInfo).port;
  const send = (): Promise<string> => new Promise((resolve, reject) => {
    const t: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ...id.client });
    let reply = '';
    // the first bytes go out with the client's Finished (TLS 1.3): they arrive before the server says 'secure'
    t.once('secureConnect', () => { for (let o = 0; o < SIZE; o += 50_000) t.write(data.subarray(o, Math.min(SIZE, o + 50_000))); });
    t.on('data', (c: Buffer) => { reply += c.toString(); });
    t.on('end', () => resolve(reply));
    t.on('error', reject);
  });
  assert.equal(await send(), sha(data));
  assert.equal(await send(), sha(data));
  assert.equal(seen.length, 2);
  assert.deepEqual(seen.map((s) => [s.reused, s.bytes]), [[true, SIZE], [false, SIZE]]);
  assert.equal(seen[0]!.dataEvents, 0, 'reused reads deliver through io.read only');
});

test('engine on io internal, TLS listener: a stalled 12 MB upload and a busy keep-alive connection arrive intact', { timeout: 30_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const id = await serverTlsIdentity();
  let releaseSlow: () => void = () => {};
  const slowHeld = new Promise<void>((r) => { releaseSlow = r; });
  const be = createHttpServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const h = createHash('sha256');
    let n = 0;
    // the big upload is not read until the busy connection is done: the proxy's upstream writes back up
    if (req.url === '/slow') { req.pause(); void slowHeld.then(() => req.resume()); }
    req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
  });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(() => r(undefined)); }));
  const engine = new Engine({ compileRouter: testRouter, io: fp.io });
  cleanups.push(() => engine.close());
  const l = terminatingTls(listener('l', httpHandler(routes('r', [{ prefix: '/' }]))), id.down);
  await engine.apply(snapshot([l], [cluster('c', [{ address: '127.0.0.1', port: (be.address() as AddressInfo).port }])]));
  const port = engine.portOf('l')!;
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ...id.client });
  cleanups.push(() => agent.destroy());
  const post = (path: string, body: Buffer, a: Agent | false): Promise<string> => new Promise((resolve, reject) => {
    const r = httpsRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: a, ...(a ? {} : id.client) }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => { out += c.toString(); });
      res.on('end', () => (res.statusCode === 200 ? resolve(out) : reject(new Error(`${path}: ${res.statusCode} ${out}`))));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
  const big = pattern(12_000_000, 3);
  const slow = post('/slow', big, false);
  for (let i = 0; i < 40; i++) {
    const b = pattern(1000 + i * 997, 100 + i);
    assert.equal(await post('/busy', b, agent), `${b.length} ${sha(b)}`);
  }
  releaseSlow();
  assert.equal(await slow, `${big.length} ${sha(big)}`);
});

test('tlsDialIO with reuseReads: what a server sends as soon as the handshake is done waits for a reader set late', { timeout: 20_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const ca = await CertificateAuthority.generate();
  const { certChain, privateKeyPem } = await ca.issue({ namespace: 'ns', serviceAccount: 'server' });
  const greeting = pattern(200_000, 5);
  // a server-first protocol (a database greeting) over TLS
  const srv = createTlsServer({ cert: certChain.join(''), key: privateKeyPem }, (s) => { s.on('error', () => {}); s.end(greeting); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(() => r(undefined))));
  const io = tlsDialIO({ certificates: [], certificateSdsNames: [], trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [], alpnProtocols: [] }, NO_SECRETS, false, true);
  const t = io.dial('127.0.0.1', (srv.address() as AddressInfo).port);
  cleanups.push(() => { t.destroy(); });
  await new Promise<void>((resolve, reject) => { t.once('connect', () => resolve()); t.once('error', reject); });
  await new Promise((r) => setTimeout(r, 50));
  const got: Buffer[] = [];
  let n = 0;
  await new Promise<void>((resolve) => {
    io.read(t, (b, st, e) => { got.push(Buffer.from(b.subarray(st, e))); n += e - st; if (n >= greeting.length) resolve(); });
  });
  assert.equal(sha(Buffer.concat(got)), sha(greeting));
});
