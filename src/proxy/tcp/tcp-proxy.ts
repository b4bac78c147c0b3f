// proxy/tcp: tcp_proxy (after network RBAC) — connect the downstream connection to an endpoint of a cluster and pipe bytes both ways; Istio's TCP metadata exchange (mx.ts) first on mTLS connections that negotiated it.
import type { Socket } from 'node:net';
import type { NetworkFilterConfig, TcpHandlerConfig } from '../config/types.ts';
import { checkNetworkRbac } from './network-rbac.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext } from '../listener/runtime.ts';
import { pipe, type SocketIO } from '../io/types.ts';
import type { TLSSocket } from 'node:tls';
import type { UpstreamTlsConfig } from '../config/types.ts';
import type { ClusterState } from '../upstream/cluster-state.ts';
import { encodeMxFrame, MX_ALPN, MxReader, type MxPeer } from './mx.ts';

/** In-mesh TLS contexts with the exchange's ALPN put first (one per context, so TLS session resumption still works). */
const mxContexts = new WeakMap<UpstreamTlsConfig, UpstreamTlsConfig>();

/**
 * How tcp_proxy dials an endpoint. Istio gives in-mesh mTLS TCP clusters ALPN [istio-peer-exchange, istio] so the
 * metadata exchange can run; a context that offers Istio's in-mesh marker ("istio") without the exchange gets it
 * offered first here (TCP only: HTTP upstreams never run the exchange).
 */
function tcpDialIO(ctx: EngineContext, cluster: ClusterState, address: string, port: number): SocketIO {
  const tls = ctx.upstreams.tlsFor(cluster, address, port);
  if (!tls || !tls.alpnProtocols.includes('istio') || tls.alpnProtocols.includes(MX_ALPN)) return ctx.upstreams.dialIO(cluster, address, port);
  let mx = mxContexts.get(tls);
  if (!mx) { mx = { ...tls, alpnProtocols: [MX_ALPN, ...tls.alpnProtocols] }; mxContexts.set(tls, mx); }
  return ctx.upstreams.tlsDial(mx, false);
}

/** Sent when this engine has no telemetry (no node): a peer that negotiated the exchange still gets its frame. */
let anonymousFrame: Buffer | undefined;

/** Weighted pick over tcp_proxy weighted_clusters. */
export function pickWeighted(list: readonly { name: string; weight: number }[], r: number): string | undefined {
  const total = list.reduce((a, c) => a + c.weight, 0);
  if (total <= 0) return list[0]?.name;
  let x = r * total;
  for (const c of list) { x -= c.weight; if (x < 0) return c.name; }
  return list[list.length - 1]?.name;
}

/**
 * Handle one downstream connection. `initial` are bytes already read (protocol sniffing); `networkFilters` are the
 * chain's filters before tcp_proxy (network RBAC: a denied connection is closed before any upstream is dialled).
 */
export function tcpProxy(ctx: EngineContext, cfg: TcpHandlerConfig, origin: ConnectionOrigin, down: Socket, io: SocketIO, initial?: Buffer, networkFilters?: readonly NetworkFilterConfig[]): void {
  ctx.stats.tcp_cx_total++;
  const name = cfg.cluster ?? (cfg.weightedClusters ? pickWeighted(cfg.weightedClusters, ctx.random()) : undefined);
  if (networkFilters !== undefined && networkFilters.length > 0) {
    const d = checkNetworkRbac(ctx.stats, networkFilters, origin);
    if (!d.allowed) { rbacDenied(ctx, cfg, origin, down, name ?? '', d.details ?? 'rbac_access_denied'); return; }
  }
  const cluster = name !== undefined ? ctx.upstreams.cluster(name) : undefined;
  down.on('error', () => {});
  if (!cluster) { down.destroy(); return; }
  let upstreamHost = '';
  const inbound = name!.startsWith('inbound|');
  // Istio's TCP metadata exchange: on mTLS connections that negotiated ALPN istio-peer-exchange each side sends its
  // node metadata first (mx.ts); the peer's frame is read off the stream before any byte is relayed.
  const frame = ctx.telemetry?.mxFrame ?? (anonymousFrame ??= encodeMxFrame({ id: '', metadata: {} }));
  const mxDown = origin.alpn === MX_ALPN;
  let downPeer: MxPeer | undefined, upPeer: MxPeer | undefined;
  let mxBytesIn = 0, mxBytesOut = 0;
  // Telemetry: istio_tcp_* per connection (sent = bytes to the downstream, received = from it) and the access log.
  // The series is opened once the exchange is over (its labels name the peer), or at close.
  type Closer = ReturnType<NonNullable<NonNullable<EngineContext['telemetry']>['onTcpOpen']>>;
  let tel: Closer | undefined, opened = false;
  const open = (): void => {
    if (opened) return;
    opened = true;
    tel = ctx.telemetry?.onTcpOpen?.({ inbound, cluster: name!, peerPrincipal: origin.peer?.principal, peer: inbound ? downPeer : upPeer });
  };
  if (ctx.telemetry?.onTcpOpen) {
    const startedAt = ctx.clock.now();
    const startMs = Date.now();
    down.once('close', () => {
      open();
      if (!tel) return;
      const received = down.bytesRead + (initial?.length ?? 0) - mxBytesIn, sent = down.bytesWritten - mxBytesOut;
      tel(sent, received, () => ({
        startMs, flags: upstreamHost ? '-' : 'UF', bytesReceived: received, bytesSent: sent,
        durationMs: ctx.clock.now() - startedAt, upstreamHost, upstreamCluster: name,
        downstreamLocalAddress: `${origin.localAddress}:${origin.localPort}`, downstreamRemoteAddress: `${origin.remoteAddress}:${origin.remotePort}`,
        downstreamPeerUriSan: origin.peer?.principal,
      }), cfg.accessLog);
    });
  }
  // Until the upstream connects, keep what the client sends (copies: read buffers may be reused).
  const pending: Buffer[] = [];
  let downReady = !mxDown;
  let onDownReady: (() => void) | undefined;
  const keep = (b: Buffer): void => { pending.push(b); if (pending.length > 16) down.pause(); };
  if (mxDown) {
    io.write(down, frame, 0, frame.length);
    mxBytesOut = frame.length;
    const rd = new MxReader();
    const first = (chunk: Buffer): void => {
      const r = rd.push(chunk);
      if (!r) return;
      downReady = true;
      mxBytesIn = r.bytes ?? 0;
      if (r.peer) downPeer = r.peer;
      else if (r.bytes === undefined && r.rest.length === 0) { down.destroy(); return; } // an oversized frame
      if (r.rest.length) pending.push(r.rest);
      onDownReady?.();
    };
    if (initial?.length) first(Buffer.from(initial));
    io.read(down, (b, s, e) => { const c = Buffer.from(b.subarray(s, e)); if (downReady) keep(c); else first(c); });
  } else {
    if (initial?.length) pending.push(initial);
    io.read(down, (b, s, e) => keep(Buffer.from(b.subarray(s, e))));
  }
  let attempts = 0;
  const maxAttempts = Math.max(1, cfg.maxConnectAttempts);

  const tryConnect = (): void => {
    attempts++;
    let address: string, port: number;
    if (cluster.config.type === 'ORIGINAL_DST') {
      // Only captured connections have somewhere else to go; an explicit listener's "destination" is itself.
      if (origin.kind !== 'original-dst') { down.destroy(); return; }
      address = origin.destination.address; port = origin.destination.port;
    }
    else {
      const h = cluster.pick({}).host;
      if (!h) { down.destroy(); return; }
      address = h.address; port = h.port;
    }
    // TLS clusters (mesh mTLS) dial through the TLS path; the relay then reads each side its own way
    const upIo = cluster.config.type === 'ORIGINAL_DST' ? io : tcpDialIO(ctx, cluster, address, port);
    const up = upIo.dial(address, port);
    let connected = false;
    const timer = ctx.clock.setTimeout(() => { if (!connected) up.destroy(new Error('connect timeout')); }, cluster.config.connectTimeoutMs);
    up.once('error', () => {
      ctx.clock.clearTimeout(timer);
      if (!connected) {
        ctx.stats.upstream_cx_connect_fail++;
        if (attempts < maxAttempts && !down.destroyed) tryConnect(); else down.destroy();
      } else down.destroy();
    });
    up.once('connect', () => {
      connected = true;
      upstreamHost = `${address}:${port}`;
      ctx.clock.clearTimeout(timer);
      if (down.destroyed) { up.destroy(); return; }
      const mxUp = upIo !== io && (up as TLSSocket).alpnProtocol === MX_ALPN;
      let last = ctx.clock.now();
      const touch = (): void => { last = ctx.clock.now(); };
      // The client's side starts once its frame (if any) is off the stream; the series opens once both peers are known.
      let upDone = !mxUp;
      const clientSide = (): void => {
        if (!downReady || down.destroyed || up.destroyed) return;
        if (upDone) open();
        for (const b of pending) upIo.write(up, b, 0, b.length);
        pending.length = 0;
        pipe(io, down, upIo, up, touch);
        if (cfg.idleTimeoutMs > 0) watchIdle(ctx, down, up, cfg.idleTimeoutMs, () => last);
      };
      onDownReady = clientSide;
      if (!mxUp) {
        // The upstream's bytes flow at once, even while the client's frame is still being read (server-first
        // protocols: the client may wait for them before it sends anything).
        pipe(upIo, up, io, down, touch);
        clientSide();
        return;
      }
      // The exchange upstream: our frame goes first; the client's bytes follow without waiting for the peer's frame
      // (a server-first peer that does not send one must not stall them); the peer's frame is cut off its stream.
      upIo.write(up, frame, 0, frame.length);
      const rd = new MxReader();
      upIo.read(up, (b, st, e) => {
        if (upDone) return;
        const r = rd.push(Buffer.from(b.subarray(st, e)));
        if (!r) return;
        upDone = true;
        if (r.peer) upPeer = r.peer;
        else if (r.bytes === undefined && r.rest.length === 0) { up.destroy(); down.destroy(); return; } // an oversized frame
        if (r.rest.length) io.write(down, r.rest, 0, r.rest.length);
        touch();
        if (downReady) open();
        pipe(upIo, up, io, down, touch);
      });
      up.once('close', () => { if (!upDone) down.destroy(); });
      up.once('error', () => down.destroy());
      clientSide();
    });
  };
  tryConnect();
}

/** Network RBAC said no: close the connection unanswered; metrics and the access log still see it (with the reason). */
function rbacDenied(ctx: EngineContext, cfg: TcpHandlerConfig, origin: ConnectionOrigin, down: Socket, cluster: string, details: string): void {
  down.on('error', () => {});
  const tel = ctx.telemetry?.onTcpOpen?.({ inbound: cluster.startsWith('inbound|'), cluster, peerPrincipal: origin.peer?.principal });
  tel?.(0, 0, () => ({
    startMs: Date.now(), flags: '-', bytesReceived: 0, bytesSent: 0, durationMs: 0, upstreamCluster: cluster,
    downstreamLocalAddress: `${origin.localAddress}:${origin.localPort}`, downstreamRemoteAddress: `${origin.remoteAddress}:${origin.remotePort}`,
    downstreamPeerUriSan: origin.peer?.principal, connectionTerminationDetails: details,
  }), cfg.accessLog);
  down.destroy();
}

/** Close both sides after no bytes in either direction for `ms` (one clock timer, re-armed lazily). */
function watchIdle(ctx: EngineContext, a: Socket, b: Socket, ms: number, lastActivity: () => number): void {
  let timer: ReturnType<EngineContext['clock']['setTimeout']> | undefined;
  const check = (): void => {
    timer = undefined;
    if (a.destroyed && b.destroyed) return;
    const idle = ctx.clock.now() - lastActivity();
    if (idle >= ms) { a.destroy(); b.destroy(); return; }
    timer = ctx.clock.setTimeout(check, ms - idle);
  };
  timer = ctx.clock.setTimeout(check, ms);
  // The timer must not outlive the connection (it would keep the process alive for up to `ms`).
  const stop = (): void => { ctx.clock.clearTimeout(timer); timer = undefined; };
  a.once('close', stop);
  b.once('close', stop);
}
