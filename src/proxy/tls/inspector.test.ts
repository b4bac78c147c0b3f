// proxy/tls: tls_inspector tests on a real ClientHello captured from Node's TLS client, plus plaintext and partial input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { inspectClientHello } from './inspector.ts';

async function captureHello(servername: string, alpn: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => {
      s.once('data', (b: Buffer) => { resolve(b); s.destroy(); srv.close(); });
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
      c.on('error', () => {});
      c.on('close', () => {});
      setTimeout(() => reject(new Error('no hello')), 5000).unref();
    });
  });
}

test('reads SNI and ALPN from a ClientHello; needs the whole record first', async () => {
  const hello = await captureHello('outbound_.80_._.reviews.default.svc.cluster.local', ['istio-peer-exchange', 'istio', 'h2']);
  assert.deepEqual(inspectClientHello(hello), { kind: 'tls', serverName: 'outbound_.80_._.reviews.default.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio', 'h2'] });
  assert.deepEqual(inspectClientHello(hello.subarray(0, 4)), { kind: 'more' });
  assert.deepEqual(inspectClientHello(hello.subarray(0, hello.length - 1)), { kind: 'more' });
});

test('plaintext is raw_buffer at the first byte', () => {
  assert.deepEqual(inspectClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'raw' });
  assert.deepEqual(inspectClientHello(Buffer.from('PRI * HTTP/2.0')), { kind: 'raw' });
  assert.deepEqual(inspectClientHello(Buffer.from([0x16, 0x01, 0x00])), { kind: 'raw' });
  assert.deepEqual(inspectClientHello(Buffer.alloc(0)), { kind: 'more' });
});
