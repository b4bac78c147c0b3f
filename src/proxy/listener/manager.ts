// proxy/listener: binds a net.Server per ListenerConfig, picks a filter chain per connection and hands it to
// HTTP/1.1, HTTP/2 or tcp_proxy. Updates are hitless: same name + address keeps the socket and swaps config;
// a removed listener stops accepting and its connections drain.
import { createServer, type Server, type Socket } from 'node:net';
import type { FilterChainConfig, ListenerConfig } from '../config/types.ts';
import { originOf, type ConnectionOrigin } from './origin.ts';
import { selectFilterChain } from './chain-match.ts';
import type { EngineContext, HttpChainRuntime } from './runtime.ts';
import { H1Downstream } from '../http/h1-downstream.ts';
import { H2_PREFACE } from '../http/h2-downstream.ts';
import type { H2ServerLike } from '../http/h2/server.ts';
import { tcpProxy } from '../tcp/tcp-proxy.ts';
import type { Logger } from '../../common/logger.ts';
import type { SocketIO } from '../io/index.ts';
import { acceptTls, inspectConnection, LISTENER_TLS_INSPECTOR, TLS_CONTEXT } from '../tls/downstream.ts';
import { NO_SECRETS } from '../tls/context.ts';
import type { TimerHandle } from '../../common/clock.ts';

/** Where a transparently captured connection was going (SO_ORIGINAL_DST); undefined when not captured. */
export type OriginalDstResolver = (socket: Socket) => { address: string; port: number } | undefined;

export interface ListenerDeps {
  ctx: EngineContext;
  h2: H2ServerLike;
  /** HTTP runtime (handler + compiled router) for a filter chain of the current config. */
  httpRuntime: (listener: string, chain: FilterChainConfig) => HttpChainRuntime | undefined;
  /** Listener to hand an original-dst connection to (Istio's virtual listeners), by destination. */
  byDestination: (address: string, port: number) => ActiveListener | undefined;
  originalDst?: OriginalDstResolver;
  /** Local mode: bind wildcard listeners (0.0.0.0 / ::) to this address instead. */
  bindAddress?: string;
  /** Local mode: listen on another port than the config says (e.g. a gateway's 8080 -> a free port). */
  portMap?: ReadonlyMap<number, number>;
  log?: Logger;
}

/**
 * A connection accepted while its listener warms (bound during LDS, its RDS/SDS not yet applied) waits this long for
 * the listener to become active before it is closed. The xDS client serves a warming listener anyway after its
 * initial fetch timeout (15 s), so this only bounds a listener that never activates.
 */
export const WARMING_HOLD_MS = 20_000;
/** At most this many connections wait per warming listener; more are closed (startup only, memory bound). */
const MAX_HELD = 4096;

/** Sniffing waits at most this long for the first bytes before assuming HTTP/1.1 (server-first protocols). */
const SNIFF_BYTES = H2_PREFACE.length;

export class ActiveListener {
  server: Server | undefined;
  draining = false;
  /**
   * False while the socket is bound for an LDS update whose snapshot is not applied yet (warming). Envoy does not
   * listen() before a listener is warm, so a client sees a refused (retried) connect; our socket already listens (a
   * bind failure must NACK the LDS), so a connection that arrives now is held, unread, until activate(), instead of
   * being accepted and closed unanswered (the client's 503 UC, which is not retried).
   */
  active = true;
  /** Connections held while warming, with their give-up timers. */
  private readonly held = new Map<Socket, TimerHandle>();
  readonly connections = new Set<Socket>();
  readonly h1 = new Set<H1Downstream>();
  boundPort = 0;

  /** When a context-not-ready warning was last logged (clock ms). */
  private contextWarnedAt = -Infinity;
  constructor(public config: ListenerConfig, private readonly deps: ListenerDeps) {}

  /** Where bind() listens: local mode may move wildcard addresses and ports. */
  bindTarget(): { host: string; port: number } {
    const wildcard = this.config.address === '0.0.0.0' || this.config.address === '::';
    const host = wildcard && this.deps.bindAddress ? this.deps.bindAddress : this.config.address;
    return { host, port: this.deps.portMap?.get(this.config.port) ?? this.config.port };
  }

  async bind(): Promise<void> {
    if (!this.config.bindToPort) return;
    const server = createServer({ noDelay: true, pauseOnConnect: false });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => { if (this.server === server) this.server = undefined; reject(e); });
      const { host, port } = this.bindTarget();
      server.listen({ host, port, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        const a = server.address();
        this.boundPort = typeof a === 'object' && a ? a.port : this.config.port;
        // The I/O path decides how accepted sockets read (internal fast path: into preallocated buffers).
        this.deps.ctx.io.adoptServer(server, (s) => this.accept(s));
        resolve();
      });
    });
    server.on('error', (e) => this.deps.log?.error({ err: e.message, listener: this.config.name }, 'listener error'));
  }

  accept(socket: Socket, handedOff?: ConnectionOrigin): void {
    socket.on('error', () => {});
    if (!this.active) { this.hold(socket); return; }
    let origin = handedOff;
    if (!origin) {
      const od = this.config.useOriginalDst ? this.deps.originalDst?.(socket) : undefined;
      origin = originOf(socket, this.config.name, false, od);
      if (od && this.config.useOriginalDst) {
        const target = this.deps.byDestination(od.address, od.port);
        if (target && target !== this) { target.accept(socket, { ...origin, listenerName: target.config.name }); return; }
      }
    }
    if (this.draining) { socket.destroy(); return; }
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    if (this.config.listenerFilters.includes(LISTENER_TLS_INSPECTOR)) { void this.inspectAndDispatch(socket, origin); return; }
    const chain = selectFilterChain(this.config, {
      destinationPort: origin.destination.port, destinationAddress: origin.destination.address,
      transportProtocol: 'raw_buffer', applicationProtocols: [], sourceAddress: origin.remoteAddress, sourcePort: origin.remotePort,
    }) ?? selectTlsChain(this.config, origin);
    if (!chain) { socket.destroy(); return; }
    if (chain.tls) { this.acceptTls(socket, origin, chain); return; }
    this.dispatch(socket, origin, chain, undefined, this.deps.ctx.io);
  }

  /** Keep a connection that arrived while warming: paused (nothing read), served by activate(), closed on give-up. */
  private hold(socket: Socket): void {
    if (this.draining || this.held.size >= MAX_HELD) { socket.destroy(); return; }
    socket.pause();
    const clock = this.deps.ctx.clock;
    const timer = clock.setTimeout(() => { if (this.held.delete(socket)) socket.destroy(); }, WARMING_HOLD_MS);
    this.held.set(socket, timer);
    socket.once('close', () => { if (this.held.delete(socket)) clock.clearTimeout(timer); });
  }

  /** Connections waiting for this warming listener. */
  get heldConnections(): number { return this.held.size; }

  /** The listener's snapshot is applied: serve from now on, starting with the connections held while it warmed. */
  activate(): void {
    this.active = true;
    const held = [...this.held];
    this.held.clear();
    for (const [socket, timer] of held) {
      this.deps.ctx.clock.clearTimeout(timer);
      if (socket.destroyed) continue;
      // resume() before the handler's reader is set is safe: both I/O paths deliver bytes only on a later turn.
      socket.resume();
      this.accept(socket);
    }
  }

  private dropHeld(): void {
    for (const [socket, timer] of this.held) { this.deps.ctx.clock.clearTimeout(timer); socket.destroy(); }
    this.held.clear();
  }

  /**
   * Envoy's tls_inspector: read the first bytes (TLS or plaintext, SNI, ALPN), pick the chain with them, then hand
   * the connection on with those bytes. A TLS chain terminates TLS; plaintext to a listener that only has TLS
   * chains (PeerAuthentication STRICT) finds no chain and is closed.
   */
  private async inspectAndDispatch(socket: Socket, origin: ConnectionOrigin): Promise<void> {
    const r = await inspectConnection(socket, this.deps.ctx.io, 5000, this.deps.ctx.clock);
    if (socket.destroyed) return;
    const chain = selectFilterChain(this.config, {
      destinationPort: origin.destination.port, destinationAddress: origin.destination.address, serverName: r.serverName,
      transportProtocol: r.transportProtocol, applicationProtocols: r.applicationProtocols, sourceAddress: origin.remoteAddress, sourcePort: origin.remotePort,
    });
    if (!chain || (chain.tls && r.transportProtocol !== 'tls')) { socket.destroy(); return; }
    if (r.serverName) origin = { ...origin, sni: r.serverName }; // RBAC requested_server_name (Istio connection.sni)
    if (chain.tls) { this.acceptTls(socket, origin, chain, r.initial); return; }
    this.dispatch(socket, origin, chain, r.initial.length ? r.initial : undefined, this.deps.ctx.io);
  }

  private acceptTls(socket: Socket, origin: ConnectionOrigin, chain: FilterChainConfig, initial?: Buffer): void {
    // On the internal I/O path the TLS socket decrypts into reused buffers, unless an HTTP chain may hand it to
    // node:http2 (ALPN h2), which reads the socket itself.
    const reuseReads = this.deps.ctx.io.mode === 'internal' && (chain.handler.kind !== 'http' || this.deps.h2.readsThroughIO);
    acceptTls(socket, initial, chain.tls!, this.deps.ctx.secrets ?? NO_SECRETS, this.deps.ctx.io, this.deps.ctx.clock, reuseReads).then(({ tls, peer, io }) => {
      tls.on('error', () => socket.destroy());
      const o: ConnectionOrigin = { ...origin, tls: true, peer: peer.hash ? peer : undefined, alpn: tls.alpnProtocol || undefined };
      if (chain.handler.kind === 'http' && tls.alpnProtocol === 'h2') {
        const rt = (): HttpChainRuntime | undefined => this.deps.httpRuntime(this.config.name, chain);
        this.deps.h2.attach(tls as unknown as Socket, o, rt, undefined, io);
      } else this.dispatch(tls as unknown as Socket, o, chain, undefined, io);
    }, (e: Error) => {
      socket.destroy();
      // The chain's context cannot be built (an SDS secret not here yet, an unreadable file): every handshake on the
      // chain fails the same way, so it is counted (Envoy's downstream_context_secrets_not_ready) and said at warn
      // level, at most every 30 s per listener.
      if ((e as Error & { code?: string }).code === TLS_CONTEXT) {
        this.deps.ctx.stats.downstream_context_secrets_not_ready++;
        const now = this.deps.ctx.clock.now();
        if (now - this.contextWarnedAt >= 30_000) {
          this.contextWarnedAt = now;
          this.deps.log?.warn({ listener: this.config.name, err: e.message }, 'closing TLS connections: the filter chain\'s TLS context is not ready');
        }
        return;
      }
      this.deps.log?.debug({ listener: this.config.name, err: e.message }, 'downstream TLS handshake failed');
    });
  }

  private dispatch(socket: Socket, origin: ConnectionOrigin, chain: FilterChainConfig, initial: Buffer | undefined, io: SocketIO): void {
    const h = chain.handler;
    if (h.kind === 'tcp') { tcpProxy(this.deps.ctx, h, origin, socket, io, initial, chain.networkFilters); return; }
    const name = this.config.name;
    const rt = (): HttpChainRuntime | undefined => this.deps.httpRuntime(name, chain);
    if (h.codecType === 'HTTP2') { this.deps.h2.attach(socket, origin, rt, initial, io); return; }
    if (h.codecType === 'HTTP1') { this.startH1(socket, origin, rt, initial, io); return; }
    // AUTO: an HTTP/2 client starts with the connection preface; anything else is HTTP/1.1.
    let decided = false;
    const sniff = (b: Buffer, s: number, e: number): void => {
      if (decided) return;
      const all = initial ? Buffer.concat([initial, b.subarray(s, e)]) : Buffer.from(b.subarray(s, e));
      const n = Math.min(all.length, SNIFF_BYTES);
      if (all.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        if (all.length < SNIFF_BYTES) { initial = all; return; }
        decided = true;
        socket.pause();
        this.deps.h2.attach(socket, origin, rt, all, io);
        return;
      }
      decided = true;
      this.startH1(socket, origin, rt, all, io);
    };
    io.read(socket, sniff);
    // bytes an inspector already read may be all the client sends before waiting for an answer: decide on them now
    if (initial?.length) { const first = initial; initial = undefined; sniff(first, 0, first.length); }
  }

  private startH1(socket: Socket, origin: ConnectionOrigin, rt: () => HttpChainRuntime | undefined, initial: Buffer | undefined, io: SocketIO): void {
    const c = new H1Downstream(socket, origin, rt, this.deps.ctx, () => this.draining, initial, io);
    this.h1.add(c);
    socket.once('close', () => this.h1.delete(c));
  }

  /** Stop accepting; idle HTTP connections close now, busy ones after their response. */
  drain(): void {
    this.draining = true;
    this.server?.close();
    this.dropHeld();
    for (const c of this.h1) c.drain();
  }

  destroy(): void {
    this.draining = true;
    this.server?.close();
    this.dropHeld();
    for (const s of this.connections) s.destroy();
  }
}

/** Envoy's wording for a listener socket that cannot bind: "cannot bind '127.0.0.1:9080': Address already in use". */
export function bindError(at: { host: string; port: number }, e: NodeJS.ErrnoException): string {
  const addr = at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
  return `cannot bind '${addr}': ${STRERROR[e.code ?? ''] ?? e.message}`;
}

const STRERROR: Record<string, string> = {
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EINVAL: 'Invalid argument',
};

function selectTlsChain(l: ListenerConfig, origin: ConnectionOrigin): FilterChainConfig | undefined {
  return selectFilterChain(l, {
    destinationPort: origin.destination.port, destinationAddress: origin.destination.address,
    transportProtocol: 'tls', applicationProtocols: [], sourceAddress: origin.remoteAddress, sourcePort: origin.remotePort,
  });
}
