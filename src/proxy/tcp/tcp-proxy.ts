// proxy/tcp: tcp_proxy (after network RBAC) — connect the downstream connection to an endpoint of a cluster and pipe bytes both ways.
import type { Socket } from 'node:net';
import type { NetworkFilterConfig, TcpHandlerConfig } from '../config/types.ts';
import { checkNetworkRbac } from './network-rbac.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext } from '../listener/runtime.ts';
import { relay, type SocketIO } from '../io/types.ts';
import { relayMixed } from '../tls/upstream.ts';

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
  // Telemetry: istio_tcp_* per connection (sent = bytes to the downstream, received = from it) and the access log.
  const tel = ctx.telemetry?.onTcpOpen?.({ inbound: name!.startsWith('inbound|'), cluster: name!, peerPrincipal: origin.peer?.principal });
  if (tel) {
    const startedAt = ctx.clock.now();
    const startMs = Date.now();
    down.once('close', () => tel(down.bytesWritten, down.bytesRead + (initial?.length ?? 0), () => ({
      startMs, flags: upstreamHost ? '-' : 'UF', bytesReceived: down.bytesRead + (initial?.length ?? 0), bytesSent: down.bytesWritten,
      durationMs: ctx.clock.now() - startedAt, upstreamHost, upstreamCluster: name,
      downstreamLocalAddress: `${origin.localAddress}:${origin.localPort}`, downstreamRemoteAddress: `${origin.remoteAddress}:${origin.remotePort}`,
      downstreamPeerUriSan: origin.peer?.principal,
    }), cfg.accessLog));
  }
  // Until the upstream connects, keep what the client sends (copies: read buffers may be reused).
  const pending: Buffer[] = initial?.length ? [initial] : [];
  io.read(down, (b, s, e) => { pending.push(Buffer.from(b.subarray(s, e))); if (pending.length > 16) down.pause(); });
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
    const upIo = cluster.config.type === 'ORIGINAL_DST' ? io : ctx.upstreams.dialIO(cluster, address, port);
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
      for (const b of pending) upIo.write(up, b, 0, b.length);
      let last = ctx.clock.now();
      if (upIo === io) relay(io, down, up, () => { last = ctx.clock.now(); });
      else relayMixed(io, down, upIo, up, () => { last = ctx.clock.now(); });
      if (cfg.idleTimeoutMs > 0) watchIdle(ctx, down, up, cfg.idleTimeoutMs, () => last);
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
