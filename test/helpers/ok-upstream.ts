// test/helpers: a raw-socket HTTP/1.1 upstream for connection-pool tests — on 127.0.0.1:0 it answers every request
// head it receives with a fixed "200 ok"; close() destroys the sockets still open (pooled keep-alive connections)
// so they cannot hold the server, and the test, open. roundTrip() sends one GET on a pooled connection.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { H1UpstreamConn } from '../../src/proxy/http/h1-upstream.ts';
import type { ResponseSink } from '../../src/proxy/http/exchange-types.ts';

export interface OkUpstream {
  /** The listening port; 0 until `ready` resolves. */
  readonly port: number;
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function okUpstream(): OkUpstream {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (b) => {
      // One response per request head in this chunk (the pool tests send heads without bodies).
      const n = b.toString('latin1').split('\r\n\r\n').length - 1;
      for (let i = 0; i < n; i++) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
  });
  let port = 0;
  const ready = new Promise<void>((r) => server.listen(0, '127.0.0.1', () => { port = (server.address() as AddressInfo).port; r(); }));
  return {
    get port() { return port; },
    ready,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** One bodiless GET / on `c`; resolves with the response status when the response has ended. */
export function roundTrip(c: H1UpstreamConn): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const sink: ResponseSink = {
      onHead: (s) => { status = s; },
      onData: () => {},
      onEnd: () => resolve(status),
      onError: (k, d) => reject(new Error(`${k}: ${d}`)),
    };
    c.start({ method: 'GET', path: '/', authority: 'x', scheme: 'http', headers: ['host', 'x'], bodyLength: 0, upgrade: '' }, sink, undefined, true);
  });
}
