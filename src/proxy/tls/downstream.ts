// proxy/tls: the accept side — the tls_inspector step (read until the first bytes say TLS or plaintext, with SNI
// and ALPN for chain matching; bounded in bytes and time) and terminating TLS on the chosen chain, with the peer
// identity for the request path.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { realClock, type Clock } from '../../common/clock.ts';
import type { DownstreamTlsConfig } from '../config/types.ts';
import type { SocketIO } from '../io/types.ts';
import { inspectClientHello, MAX_CLIENT_HELLO } from './inspector.ts';
import { serverTlsOptions, type SecretSource } from './context.ts';
import { terminateTls } from './stream.ts';
import { tlsIO, tlsReusedReadsIO } from './io.ts';
import { adoptReads } from '../io/internal.ts';
import { peerIdentity, type PeerIdentity } from './peer.ts';

export interface Inspected {
  transportProtocol: 'tls' | 'raw_buffer';
  serverName?: string;
  applicationProtocols: string[];
  /** Bytes read while inspecting; the chosen handler must see them first. */
  initial: Buffer;
}

export const LISTENER_TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';

/**
 * Read the connection's first bytes through `io` until they decide TLS vs plaintext (Envoy's tls_inspector).
 * A client that sends nothing within `timeoutMs` (server-first protocols) is treated as plaintext, as Envoy does.
 */
export function inspectConnection(socket: Socket, io: SocketIO, timeoutMs = 1000, clock: Clock = realClock): Promise<Inspected> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: Omit<Inspected, 'initial'>): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      // the next owner installs its reader in the promise continuation (a microtask), before the socket can
      // deliver more bytes (an I/O callback), so nothing is lost between inspection and hand-off
      resolve({ ...r, initial: buf });
    };
    const timer = clock.setTimeout(() => finish({ transportProtocol: 'raw_buffer', applicationProtocols: [] }), timeoutMs);
    socket.once('close', () => finish({ transportProtocol: 'raw_buffer', applicationProtocols: [] }));
    io.read(socket, (b, s, e) => {
      if (done) return;
      buf = Buffer.concat([buf, b.subarray(s, e)]);
      const r = inspectClientHello(buf);
      if (r.kind === 'more' && buf.length < MAX_CLIENT_HELLO) return;
      if (r.kind === 'tls') finish({ transportProtocol: 'tls', serverName: r.serverName, applicationProtocols: r.alpn });
      else if (r.kind === 'raw') finish({ transportProtocol: 'raw_buffer', applicationProtocols: [] });
      else finish({ transportProtocol: 'tls', applicationProtocols: [] });
    });
    socket.resume();
  });
}

/**
 * The error code of a TLS context that cannot be built yet (an SDS secret not here, an unreadable file): every
 * connection on it fails the same way until the context changes. Upstream dials fail with it too (upstream.ts).
 */
export const TLS_CONTEXT = 'TLS_CONTEXT';

/**
 * Terminate TLS for a chain's DownstreamTlsContext; resolves with the TLS socket, who the peer is and the I/O to
 * use on it; a context that cannot be built rejects with code TLS_CONTEXT. `reuseReads` (the caller reads through
 * io.read on the internal I/O path): the TLS socket decrypts into reused per-socket buffers instead of a new Buffer
 * and a 'data' event per read (io/internal.ts adoptReads); the returned io reads that way. Callers that read the
 * socket themselves (node:http2) must not ask for it.
 */
export async function acceptTls(socket: Socket, initial: Buffer | undefined, cfg: DownstreamTlsConfig, secrets: SecretSource, io: SocketIO, clock: Clock = realClock, reuseReads = false): Promise<{ tls: TLSSocket; peer: PeerIdentity; io: SocketIO }> {
  const p = serverTlsOptions(cfg, secrets);
  if ('error' in p) { socket.destroy(); throw Object.assign(new Error(`downstream TLS: ${p.error}`), { code: TLS_CONTEXT }); }
  let reused = false;
  const tls = await terminateTls(socket, initial, p.options, p.sans, io, 10_000, clock, reuseReads ? (t) => { reused = adoptReads(t); } : undefined);
  return { tls, peer: peerIdentity(tls, p.options.secureContext), io: reused ? tlsReusedReadsIO : tlsIO };
}
