// proxy/tls: TLS origination for upstream pools and tcp_proxy — a SocketIO whose dial() returns a TLS socket that
// reports 'connect' only once the handshake (and the peer SAN check) is done, so callers that wait for 'connect'
// never send on an unauthenticated connection; a context that cannot be built yet (SDS secret missing) fails the
// dial like a refused connection. TLS sockets are read and written through the documented stream API (tlsIO).
import { Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ClusterConfig, EndpointConfig, UpstreamTlsConfig } from '../config/types.ts';
import { endpointTls } from '../config/decode-cluster.ts';
import { tlsIO } from './io.ts';
import type { Reader, SocketIO } from '../io/types.ts';
import { clientTlsOptions, type SecretSource } from './context.ts';

/** The TLS context for one endpoint of a cluster (transport_socket_matches on its metadata, else the default). */
export function tlsForEndpoint(c: ClusterConfig, ep: EndpointConfig | undefined): UpstreamTlsConfig | undefined {
  if (!ep) return c.tls ?? (c.transportSocketMatches.length ? endpointTls(c, { metadata: {} } as EndpointConfig) : undefined);
  return endpointTls(c, ep);
}

function failedSocket(message: string): Socket {
  const s = new Socket();
  queueMicrotask(() => s.destroy(Object.assign(new Error(message), { code: 'TLS_CONTEXT' })));
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

/** A SocketIO dialling TLS with `cfg`; secrets are read at each dial (rotations apply to new connections). */
export function tlsDialIO(cfg: UpstreamTlsConfig, secrets: SecretSource, http2 = false): SocketIO {
  return {
    ...tlsIO,
    dial(host: string, port: number): Socket {
      const p = clientTlsOptions(cfg, secrets, http2);
      if ('error' in p) return failedSocket(`upstream TLS: ${p.error}`);
      // TLS over a plain connection we dial; 'connect' is reported once the handshake (and the SAN check)
      // succeeded, so callers waiting for it never send on an unauthenticated connection
      const raw = netConnect({ host, port, noDelay: true });
      const cache = sessionsFor(cfg);
      const key = host + ':' + port;
      const gen = secrets.generation;
      const hit = cache.get(key);
      const t: TLSSocket = tlsConnect({ ...p.options, socket: raw, ...(hit && hit.gen === gen ? { session: hit.session } : {}) });
      t.on('session', (session: Buffer) => { cache.set(key, { gen, session }); });
      raw.on('error', (e) => t.destroy(e));
      // The TLS socket re-emits the TCP 'connect' of the wrapped socket, and starts its handshake from its own
      // listener for it. Run that listener straight from the wrapped socket's event, and show callers 'connect'
      // only once the handshake is done.
      const internal = t.rawListeners('connect') as ((this: unknown) => void)[];
      t.removeAllListeners('connect');
      raw.once('connect', () => { for (const l of internal) l.call(t); });
      const emit = t.emit.bind(t) as (ev: string | symbol, ...a: unknown[]) => boolean;
      let secure = false;
      (t as unknown as { emit: typeof emit }).emit = (ev, ...a) => (ev === 'connect' && !secure ? false : emit(ev, ...a));
      t.once('secureConnect', () => { secure = true; emit('connect'); });
      return t;
    },
  };
}

/** Relay bytes both ways when the two sides use different I/O paths (plain fast-path downstream, TLS upstream). */
export function relayMixed(ioA: SocketIO, a: Socket, ioB: SocketIO, b: Socket, onActivity?: () => void): void {
  const one = (ioFrom: SocketIO, from: Socket, ioTo: SocketIO, to: Socket): void => {
    const r: Reader = (buf, s, e) => {
      onActivity?.();
      if (!ioTo.write(to, buf, s, e)) { from.pause(); to.once('drain', () => from.resume()); }
    };
    ioFrom.read(from, r);
    from.on('end', () => to.end());
    from.on('close', () => { if (!to.destroyed) to.destroy(); });
    from.on('error', () => to.destroy());
    from.resume();
  };
  one(ioA, a, ioB, b);
  one(ioB, b, ioA, a);
}
