// proxy/tls: TLS origination for upstream pools and tcp_proxy — a SocketIO whose dial() returns a TLS socket that
// reports 'connect' only once the handshake (and the peer SAN check) is done, so callers that wait for 'connect'
// never send on an unauthenticated connection; a context that cannot be built yet (SDS secret missing) fails the
// dial like a refused connection. TLS sockets are read and written through the documented stream API (tlsIO).
import { Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { ClusterConfig, EndpointConfig, UpstreamTlsConfig } from '../config/types.ts';
import { endpointTls } from '../config/decode-cluster.ts';
import { tlsIO, tlsReusedReadsIO } from './io.ts';
import { heldReads } from '../io/internal.ts';
import type { SocketIO } from '../io/types.ts';
import { clientTlsOptions, type SecretSource } from './context.ts';
import { TLS_CONTEXT } from './downstream.ts';

/** The TLS context for one endpoint of a cluster (transport_socket_matches on its metadata, else the default). */
export function tlsForEndpoint(c: ClusterConfig, ep: EndpointConfig | undefined): UpstreamTlsConfig | undefined {
  if (!ep) return c.tls ?? (c.transportSocketMatches.length ? endpointTls(c, { metadata: {} } as EndpointConfig) : undefined);
  return endpointTls(c, ep);
}

function failedSocket(message: string): Socket {
  const s = new Socket();
  queueMicrotask(() => s.destroy(Object.assign(new Error(message), { code: TLS_CONTEXT })));
  return s;
}

/**
 * The newest TLS session per upstream TLS config and address, offered when dialling it again: a resumed handshake
 * skips signing and verifying certificates on both sides (a pool growing under load, reconnects). Keyed by the
 * config object (a config update starts afresh) and dropped when the secrets change (a rotated certificate).
 */
const sessions = new WeakMap<UpstreamTlsConfig, Map<string, { gen: number; session: Buffer }>>();

function sessionsFor(cfg: UpstreamTlsConfig): Map<string, { gen: number; session: Buffer }> {
  let m = sessions.get(cfg);
  if (!m) { m = new Map(); sessions.set(cfg, m); }
  return m;
}

/**
 * Show callers 'connect' only once the handshake (and the SAN check) succeeded, so that callers waiting for it
 * never send on an unauthenticated connection. The TLS socket's own listeners for the TCP 'connect' (which start
 * the handshake) run from `tcpConnect` (the wrapped socket's event) or, without one, from the TCP 'connect' itself.
 */
function connectWhenSecure(t: TLSSocket, tcp?: Socket): void {
  const internal = t.rawListeners('connect') as ((this: unknown) => void)[];
  t.removeAllListeners('connect');
  const emit = t.emit.bind(t) as (ev: string | symbol, ...a: unknown[]) => boolean;
  let secure = false;
  if (tcp) tcp.once('connect', () => { for (const l of internal) l.call(t); });
  (t as unknown as { emit: typeof emit }).emit = (ev, ...a) => {
    if (ev !== 'connect' || secure) return emit(ev, ...a);
    if (!tcp) for (const l of internal) l.call(t);
    return false;
  };
  t.once('secureConnect', () => { secure = true; emit('connect'); });
}

/**
 * A SocketIO dialling TLS with `cfg`; secrets are read at each dial (rotations apply to new connections).
 * `reuseReads` (callers reading through io.read on the internal I/O path: HTTP/1.1, TCP, the native HTTP/2 codec):
 * the TLS socket decrypts into per-socket reusable buffers handed to the reader (net's onread, shared with the
 * internal path's buffer locking) instead of a new Buffer and a 'data' event per read. Callers that read the socket
 * themselves (node:http2) keep the stream API.
 */
export function tlsDialIO(cfg: UpstreamTlsConfig, secrets: SecretSource, http2 = false, reuseReads = false): SocketIO {
  return {
    ...(reuseReads ? tlsReusedReadsIO : tlsIO),
    dial(host: string, port: number): Socket {
      const p = clientTlsOptions(cfg, secrets, http2);
      if ('error' in p) return failedSocket(`upstream TLS: ${p.error}`);
      const cache = sessionsFor(cfg);
      const key = host + ':' + port;
      const gen = secrets.generation;
      const hit = cache.get(key);
      const session = hit && hit.gen === gen ? { session: hit.session } : {};
      let t: TLSSocket;
      if (reuseReads) {
        // TLS dials its own TCP connection (net's onread is only honoured then)
        const { onread, attach } = heldReads();
        t = tlsConnect({ ...p.options, host, port, onread, ...session } as unknown as ConnectionOptions);
        attach(t);
        t.setNoDelay(true);
        connectWhenSecure(t);
      } else {
        // TLS over a plain connection we dial
        const raw = netConnect({ host, port, noDelay: true });
        t = tlsConnect({ ...p.options, socket: raw, ...session });
        raw.on('error', (e) => t.destroy(e));
        connectWhenSecure(t, raw);
      }
      t.on('session', (s: Buffer) => { cache.set(key, { gen, session: s }); });
      return t;
    },
  };
}
