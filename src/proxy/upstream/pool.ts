// proxy/upstream: per-endpoint pool of persistent HTTP/1.1 upstream connections (keep-alive, LIFO reuse, idle sweep).
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../common/clock.ts';
import { H1UpstreamConn, type ConnOwner } from '../http/h1-upstream.ts';
import type { SocketIO } from '../io/types.ts';

export interface PoolOptions {
  clock: Clock;
  /** Cluster connect_timeout; Envoy default 5000 ms. */
  connectTimeoutMs: number;
  /** Close connections idle this long; Envoy default 1 h. */
  idleTimeoutMs: number;
  /** 0 = unlimited. */
  maxRequestsPerConnection: number;
  /** Socket I/O path (documented or internal fast path); it also opens connections. */
  io: SocketIO;
}

export type AcquireCallback = (conn: H1UpstreamConn | null, failure: string) => void;

export interface PoolStats { active: number; idle: number; connecting: number; created: number; connectFailures: number }

/** Connections to one host:port. Idle connections are reused most-recent-first (warmest socket, fewest stale). */
export class H1Pool implements ConnOwner {
  private readonly idleList: H1UpstreamConn[] = [];
  private readonly all = new Set<H1UpstreamConn>();
  private connecting = 0;
  private created = 0;
  private connectFailures = 0;
  private sweepTimer: TimerHandle | undefined;
  private closing = false;

  constructor(readonly host: string, readonly port: number, private readonly opts: PoolOptions) {}

  stats(): PoolStats {
    return { active: this.all.size - this.idleList.length, idle: this.idleList.length, connecting: this.connecting, created: this.created, connectFailures: this.connectFailures };
  }

  /** Callback fires synchronously when an idle connection is available, else after connect. */
  acquire(cb: AcquireCallback): void {
    while (this.idleList.length > 0) {
      const c = this.idleList.pop()!;
      if (!c.closed && c.idle && !c.socket.destroyed) {
        c.lastUsed = this.opts.clock.now();
        cb(c, '');
        return;
      }
      this.all.delete(c);
    }
    this.open(cb);
  }

  /** Always a new connection (used after a stale keep-alive connection failed). */
  open(cb: AcquireCallback): void {
    if (this.closing) { cb(null, 'pool closed'); return; }
    const { clock } = this.opts;
    const socket: Socket = this.opts.io.dial(this.host, this.port);
    this.connecting++;
    let done = false;
    const timer = this.opts.connectTimeoutMs > 0
      ? clock.setTimeout(() => finish(`connect timeout after ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs)
      : undefined;
    const finish = (err: string): void => {
      if (done) return;
      done = true;
      this.connecting--;
      clock.clearTimeout(timer);
      socket.removeListener('error', onErr);
      if (err) {
        this.connectFailures++;
        socket.destroy();
        cb(null, err);
        return;
      }
      this.created++;
      const c = new H1UpstreamConn(socket, this, this.opts.io);
      c.lastUsed = clock.now();
      this.all.add(c);
      cb(c, '');
    };
    const onErr = (e: Error): void => finish(`connect to ${this.host}:${this.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
    socket.once('error', onErr);
    socket.once(socket.readyState === 'open' ? 'ready' : 'connect', () => finish(''));
    if (socket.readyState === 'open') queueMicrotask(() => finish(''));
  }

  released(c: H1UpstreamConn): void {
    const max = this.opts.maxRequestsPerConnection;
    if (this.closing || (max > 0 && c.requests >= max)) { c.destroy(); return; }
    c.lastUsed = this.opts.clock.now();
    this.idleList.push(c);
    if (this.sweepTimer === undefined && this.opts.idleTimeoutMs > 0) this.scheduleSweep();
  }

  closed(c: H1UpstreamConn): void {
    this.all.delete(c);
    const i = this.idleList.indexOf(c);
    if (i !== -1) this.idleList.splice(i, 1);
  }

  /** One timer per pool (not per request) closes connections idle past the timeout. */
  private scheduleSweep(): void {
    const every = Math.max(50, Math.min(this.opts.idleTimeoutMs / 2, 60_000));
    this.sweepTimer = this.opts.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      const now = this.opts.clock.now();
      for (const c of [...this.idleList]) if (now - c.lastUsed >= this.opts.idleTimeoutMs) c.destroy();
      if (this.idleList.length > 0) this.scheduleSweep();
    }, every);
  }

  /** Stop handing out connections: idle ones close now, busy ones close when their response ends. */
  close(): void {
    this.closing = true;
    this.opts.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const c of this.idleList.splice(0)) c.destroy();
  }

  /** Close everything, busy or not. */
  destroy(): void {
    this.close();
    for (const c of this.all) c.destroy();
    this.all.clear();
  }

  get size(): number { return this.all.size; }
}
