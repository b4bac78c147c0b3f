// proxy/http/codec: the HTTP/1.1 serializer writes header values as given; values that reach it from HTTP/2 never
// hold CR, LF or NUL because node's HTTP/2 layer (nghttp2) drops such fields on receipt. This pins that guarantee.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal header field without indexing, new name (RFC 7541 6.2.2); names and values under 127 bytes. */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1'), v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

test('a request header value with CR, LF or NUL never reaches an HTTP/2 stream handler', async () => {
  const server = http2.createServer();
  const seen = new Map<string, string | undefined>();
  server.on('stream', (s, h) => {
    seen.set(String(h['x-id']), h['x-v'] as string | undefined);
    s.respond({ ':status': 200 });
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const values = ['plain', 'a\nb', 'a\rb', 'a\0b', 'a\r\nx-evil: 1'];
  try {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('data', () => {});
    const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))];
    values.forEach((v, k) => {
      const block = Buffer.concat([literal(':method', 'GET'), literal(':path', '/'), literal(':scheme', 'http'), literal(':authority', 'a'),
        literal('x-id', String(k)), literal('x-v', v)]);
      frames.push(frame(1, 0x5 /* END_STREAM | END_HEADERS */, 2 * k + 1, block));
    });
    sock.write(Buffer.concat(frames));
    for (let i = 0; i < 100 && seen.size < values.length; i++) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    assert.equal(seen.get('0'), 'plain');
    // Each stream with a bad value either never reached the handler or arrived without the field.
    for (let k = 1; k < values.length; k++) assert.equal(seen.get(String(k)), undefined, JSON.stringify(values[k]));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
