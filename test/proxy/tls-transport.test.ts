// test/proxy (tls): how terminated TLS sits on the accepted TCP socket — after the tls_inspector took the ClientHello,
// the TLS socket must write its records straight from the TCP handle (no JS stream layer splitting one message into
// several writes) with TCP_NODELAY on. Both were missing once: a 16 KB response's last small record then waited for
// the peer's delayed ACK (~40 ms per response). Checked by spying on the TCP handle, not by timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { terminateTls } from '../../src/proxy/tls/stream.ts';
import { inspectConnection } from '../../src/proxy/tls/downstream.ts';
import { tlsIO } from '../../src/proxy/tls/io.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';
import { internalIO, probe } from '../../src/proxy/io/internal.ts';
import type { SocketIO } from '../../src/proxy/io/types.ts';

type Handle = Record<string, unknown> & { setNoDelay?(on: boolean): number };
const JS_WRITES = ['writeBuffer', 'writev', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString'];

/** Counts what JS asks of a TCP handle: setNoDelay(true) calls and write calls. */
function spy(socket: Socket): { noDelay: number; writes: number } {
  const seen = { noDelay: 0, writes: 0 };
  const h = (socket as unknown as { _handle: Handle })._handle;
  const nd = h.setNoDelay!.bind(h);
  h.setNoDelay = (on: boolean) => { if (on) seen.noDelay++; return nd(on); };
  for (const m of JS_WRITES) {
    const f = h[m];
    if (typeof f === 'function') h[m] = (...a: unknown[]) => { seen.writes++; return (f as (...x: unknown[]) => unknown).apply(h, a); };
  }
  return seen;
}

const ios: [string, SocketIO][] = [['documented', documentedIO]];
if (!probe()) ios.push(['internal', internalIO]);

for (const [name, io] of ios) {
  test(`terminated TLS (${name} I/O, after the inspector) writes from the TCP handle with TCP_NODELAY`, { timeout: 15_000 }, async () => {
    const ca = await CertificateAuthority.generate();
    const srv = await ca.issue({ namespace: 'default', serviceAccount: 'server' });
    const cli = await ca.issue({ namespace: 'default', serviceAccount: 'client' });
    const body = Buffer.alloc(40 * 1024 + 153);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    let server: Server | undefined;
    let client: TLSSocket | undefined;
    const accepted: { tls?: TLSSocket; raw?: Socket } = {};
    try {
      server = createServer({ noDelay: false });
      // the I/O path adopts a listening server (the internal one replaces the listening handle's onconnection)
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      const result = new Promise<{ seen: { noDelay: number; writes: number }; request: string }>((resolve, reject) => {
        io.adoptServer(server!, (raw) => {
          accepted.raw = raw;
          const seen = spy(raw);
          void inspectConnection(raw, io, 2000).then((r) => {
            assert.equal(r.transportProtocol, 'tls');
            return terminateTls(raw, r.initial, { cert: srv.certChain.join(''), key: srv.privateKeyPem, ca: ca.rootCertPem(), requestCert: true, rejectUnauthorized: true }, [], io, 5000);
          }).then((tls) => {
            accepted.tls = tls;
            const before = seen.writes; // the handshake's own flights may go either way; count the message only
            let req = '';
            tls.on('data', (b: Buffer) => {
              req += b.toString('latin1');
              if (!req.endsWith('\r\n\r\n')) return;
              // one message larger than a TLS record plus a small tail: the shape of a 16 KB response
              tls.write(body);
              tls.write(Buffer.from('tail'));
              seen.writes -= before;
              resolve({ seen, request: req });
            });
          }).catch(reject);
        });
      });
      const port = (server.address() as { port: number }).port;
      client = tlsConnect({ host: '127.0.0.1', port, cert: cli.certChain.join(''), key: cli.privateKeyPem, ca: ca.rootCertPem(), checkServerIdentity: () => undefined });
      const got: Buffer[] = [];
      let n = 0;
      const received = new Promise<Buffer>((resolve, reject) => {
        client!.on('data', (b: Buffer) => { got.push(b); n += b.length; if (n >= body.length + 4) resolve(Buffer.concat(got)); });
        client!.on('error', reject);
      });
      client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const { seen, request } = await result;
      assert.equal(request, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const all = await received;
      assert.ok(all.subarray(0, body.length).equals(body), 'body arrived intact');
      assert.equal(all.subarray(body.length).toString(), 'tail');
      assert.ok(seen.noDelay >= 1, 'TCP_NODELAY set on the accepted TCP socket');
      // TLS records left through Node's TLSWrap on the TCP handle (one writev per TLS write), not JS socket writes
      assert.equal(seen.writes, 0, `JS writes on the TCP handle: ${seen.writes}`);
    } finally {
      client?.destroy();
      accepted.tls?.destroy();
      accepted.raw?.destroy();
      await new Promise<void>((r) => (server?.listening ? server.close(() => r()) : r()));
    }
  });
}

test('tlsIO: a buffer reused right after each write (a read buffer, the scratch) still sends what it held then', { timeout: 15_000 }, async () => {
  const ca = await CertificateAuthority.generate();
  const srv = await ca.issue({ namespace: 'default', serviceAccount: 'server' });
  const server = createTlsServer({ cert: srv.certChain.join(''), key: srv.privateKeyPem });
  const received = new Promise<Buffer>((resolve) => server.on('secureConnection', (s) => {
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.on('end', () => { resolve(Buffer.concat(got)); s.end(); });
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, ca: ca.rootCertPem(), checkServerIdentity: () => undefined });
  try {
    await new Promise<void>((r) => client.once('secureConnect', () => r()));
    // like a plain socket's read buffer: refilled while earlier writes of it may still be queued in the TLS stream
    const reused = Buffer.alloc(40 * 1024);
    const expected: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      reused.fill(0x41 + i);
      if (i % 3 === 2) tlsIO.writeParts(client, `head${i}`, reused, 0, 20 * 1024 + i, `tail${i}`);
      else tlsIO.write(client, reused, 100, reused.length - i);
      expected.push(i % 3 === 2 ? Buffer.concat([Buffer.from(`head${i}`), reused.subarray(0, 20 * 1024 + i), Buffer.from(`tail${i}`)]) : Buffer.from(reused.subarray(100, reused.length - i)));
      // small coalesced messages share one scratch buffer
      tlsIO.writeParts(client, `h${i}:`, Buffer.from(`body${i}`), 0, 5, '\n');
      expected.push(Buffer.from(`h${i}:body${i}\n`));
    }
    client.end();
    const all = await received;
    const want = Buffer.concat(expected);
    assert.equal(all.length, want.length);
    assert.ok(all.equals(want), 'every write arrived with the bytes it had when written');
  } finally {
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
