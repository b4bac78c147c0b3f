// test/review: round-3 review of reused read buffers on the TLS upstream path (tlsDialIO with reuseReads: the TLS
// socket decrypts into reusable per-socket buffers through net's onread): a stalled client of a large body and a
// busy keep-alive connection to the same TLS upstream at once; every byte the stalled client gets must be the
// upstream's (a pending write of a decrypted slice locks that buffer; the socket's next read must not land in it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, Agent } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { cluster, httpHandler, listener, routes, snapshot, testRouter } from '../proxy/engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';
import { pattern, sha } from '../helpers/bytes.ts';

const cleanups = cleanupsAfterAll();

test('io internal + TLS upstream: a stalled client and a busy keep-alive connection share one TLS upstream intact', { timeout: 20_000 }, async () => {
  const fp = installFastPath('internal');
  assert.equal(fp.mode, 'internal', fp.reason ?? '');
  const ca = await CertificateAuthority.generate();
  const srv = await ca.issue({ namespace: 'default', serviceAccount: 'backend' });
  const BIG = 12_000_000;
  const big = pattern(BIG, 11);
  const be = createHttps({ cert: srv.certChain.join(''), key: srv.privateKeyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    if (req.url === '/big') { req.resume(); res.end(big); return; }
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    req.on('end', () => res.end(Buffer.concat([Buffer.from(`${n} ${h.digest('hex')}\n`), pattern(64_000, n)])));
  });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { be.closeAllConnections(); be.close(() => r(undefined)); }));
  const engine = new Engine({ compileRouter: testRouter, io: fp.io });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: (be.address() as AddressInfo).port }], {
    tls: { certificates: [], certificateSdsNames: [], trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [], alpnProtocols: [] },
  })]));
  const port = engine.portOf('l')!;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  const call = (path: string, body?: Buffer, hold?: Promise<unknown>): Promise<Buffer> => new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent: hold ? false : agent, method: body ? 'POST' : 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      if (hold) { res.pause(); void hold.finally(() => res.resume()); }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${Buffer.concat(chunks)}`)); else resolve(Buffer.concat(chunks)); });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
  const expectEcho = (got: Buffer, body: Buffer): void => {
    assert.equal(sha(got), sha(Buffer.concat([Buffer.from(`${body.length} ${sha(body)}\n`), pattern(64_000, body.length)])));
  };
  const first = pattern(64_000, 1);
  expectEcho(await call('/echo', first), first);
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  const stalled = call('/big', undefined, held);
  await new Promise((r) => setTimeout(r, 400)); // the stalled client's kernel buffers fill; the proxy's writes pend
  for (let i = 2; i < 14; i++) { const b = pattern(60_000 + i, i); expectEcho(await call('/echo', b), b); }
  release();
  const got = await stalled;
  assert.equal(got.length, BIG);
  assert.equal(sha(got), sha(big), 'stalled client body over the TLS upstream');
});
