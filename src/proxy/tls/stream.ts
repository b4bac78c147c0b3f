// proxy/tls: TLS on the proxy's own sockets — terminating on an accepted connection whose first bytes the
// inspector already read (they are replayed into the handshake), and originating on a dialled upstream socket
// with the peer SAN check. Both resolve once the handshake is done or fail with a reason.
import { Duplex } from 'node:stream';
import { TLSSocket, connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TlsOptions } from 'node:tls';
import type { Socket } from 'node:net';
import type { Reader } from '../io/types.ts';
import type { StringMatch } from '../config/types.ts';
import { realClock, type Clock } from '../../common/clock.ts';
import { sanAllowed } from './context.ts';
import { rememberPeerCertificate } from './peer.ts';

/** Reads a socket through the proxy's I/O path (which may not emit 'data'). */
export interface ByteReader { read(socket: Socket, reader: Reader): void }

/** A duplex over `socket` whose readable side starts with `initial` (bytes already taken off the socket). */
export class ReplaySocket extends Duplex {
  constructor(private readonly s: Socket, initial: Buffer | undefined, io: ByteReader) {
    super();
    if (initial?.length) this.push(initial);
    io.read(s, (b, st, e) => { if (!this.push(Buffer.from(b.subarray(st, e)))) s.pause(); });
    // end, not destroy, on close: bytes already pushed (a client's last handshake flight) must still be read
    let ended = false;
    const end = (): void => { if (!ended) { ended = true; this.push(null); } };
    s.on('end', end);
    s.on('close', end);
    s.on('error', (err) => this.destroy(err));
    s.resume();
  }
  override _read(): void { this.s.resume(); }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void { this.s.write(chunk, cb); }
  override _final(cb: (e?: Error | null) => void): void { this.s.end(); cb(); }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void { this.s.destroy(); cb(err); }
}

/**
 * The transport under a server-side TLS socket. A net.Socket with a handle is given to TLSSocket as is, so Node's
 * C++ TLSWrap sits straight on the TCP handle: records are read and written there, and one TLS write (all records
 * of a message) is one writev. The bytes the inspector already took (the ClientHello) go back into the socket's
 * readable buffer, which TLSSocket feeds to the handshake before its first read. Only a socket without a handle
 * (a test's stream) goes through the JS ReplaySocket, at the price of a JS stream layer per record.
 */
function serverTransport(socket: Socket, initial: Buffer | undefined, io: ByteReader): Duplex {
  // Nagle must be off on the TCP socket itself: a small TLS record written while a large one is unacknowledged
  // (a response body's last bytes) would otherwise wait for the peer's delayed ACK, ~40 ms per response.
  if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
  if (!(socket as { _handle?: unknown })._handle) return initial?.length ? new ReplaySocket(socket, initial, io) : socket;
  // paused, so that unshift buffers the bytes instead of emitting them to the inspector's 'data' reader
  socket.pause();
  if (initial?.length) socket.unshift(initial);
  return socket;
}

/**
 * Whether the client's certificate is unacceptable, and why. Node verifies the chain during the handshake but,
 * outside a tls.Server, never acts on the result: a certificate from any other CA would pass. As Envoy does, a
 * presented certificate must chain to our trust bundle; no certificate is refused only when one is required.
 * Sets `authorized` (which tls.Server would have set) for what follows.
 */
function clientCertProblem(tls: TLSSocket, peer: PeerCertificate, required: boolean): string | undefined {
  const presented = !!peer && Object.keys(peer).length > 0;
  const err = (tls as unknown as { _handle?: { verifyError?(): Error & { code?: string } | null } })._handle?.verifyError?.();
  tls.authorized = presented && !err;
  if (presented && err) return `client certificate not trusted (${err.code ?? err.message})`;
  if (!presented && required) return 'client certificate required';
  return undefined;
}

/**
 * Server-side TLS on an accepted socket. `initial`: bytes already read (the ClientHello the inspector saw).
 * Resolves with the TLS socket after the handshake (client cert verified when required, SANs checked).
 * `created` runs synchronously on the new TLS socket, before it delivers anything (to change how it reads), when it
 * sits on the accepted socket's TCP handle (not over a ReplaySocket).
 */
export function terminateTls(socket: Socket, initial: Buffer | undefined, options: TlsOptions, sans: readonly StringMatch[], io: ByteReader, timeoutMs = 10_000, clock: Clock = realClock, created?: (tls: TLSSocket) => void): Promise<TLSSocket> {
  const under = serverTransport(socket, initial, io);
  const tls = new TLSSocket(under as Socket, { ...options, isServer: true });
  if (under === socket && (socket as { _handle?: unknown })._handle) created?.(tls);
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs);
    const fail = (e: Error): void => { clock.clearTimeout(timer); tls.destroy(); socket.destroy(); reject(e); };
    const closed = (): void => fail(new Error('connection closed during the TLS handshake'));
    tls.once('error', fail);
    tls.once('close', closed);
    // over a replayed stream the TLS socket may not notice the peer left: watch the raw socket too
    socket.once('close', closed);
    tls.once('secure', () => {
      clock.clearTimeout(timer);
      tls.removeListener('error', fail);
      tls.removeListener('close', closed);
      socket.removeListener('close', closed);
      // A TLSSocket made without a tls.Server never clears secureConnecting (the server does it when it emits
      // 'secureConnection'); node:http2 would then wait for a 'secureConnect' that never comes and crash on the
      // bytes already buffered. The handshake is done: say so.
      (tls as unknown as { secureConnecting: boolean }).secureConnecting = false;
      tls.on('error', () => socket.destroy());
      // read once: the checks here and peerIdentity share it (each read converts and hashes the whole certificate)
      const peer = options.requestCert ? tls.getPeerCertificate() : undefined;
      const refused = peer ? clientCertProblem(tls, peer, options.rejectUnauthorized === true) : undefined;
      if (refused) { fail(new Error(refused)); return; }
      if (peer && sans.length && !sanAllowed(sans, peer)) { fail(new Error('client SAN not allowed')); return; }
      if (peer) rememberPeerCertificate(tls, peer);
      resolve(tls);
    });
  });
}

/** Client-side TLS over an already dialled (connected or connecting) socket; resolves once secure. */
export function originateTls(socket: Socket, options: ConnectionOptions, timeoutMs = 10_000, clock: Clock = realClock): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ ...options, socket });
    const timer = clock.setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs);
    const fail = (e: Error): void => { clock.clearTimeout(timer); tls.destroy(); socket.destroy(); reject(e); };
    const closed = (): void => fail(new Error('connection closed during the TLS handshake'));
    tls.once('error', fail);
    tls.once('close', closed);
    tls.once('secureConnect', () => {
      clock.clearTimeout(timer);
      tls.removeListener('error', fail);
      tls.removeListener('close', closed);
      resolve(tls);
    });
  });
}
