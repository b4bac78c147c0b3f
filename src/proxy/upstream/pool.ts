// proxy/upstream: per-endpoint pool of persistent HTTP/1.1 upstream connections (keep-alive, LIFO reuse, idle sweep).
// The cluster's circuit breaker bounds it as Envoy's does: a new connection takes a max_connections slot (held
// until it closes); at that limit a request waits for a free connection as a pending request (max_pending_requests),
// and past that it overflows (the engine answers 503 UO).
// A request that finds no idle connection waits in one FIFO queue, as Envoy's pending requests do, and a connection
// is dialled for it; whichever connection is free first serves the oldest waiter: a connection another request
// releases, or the dial. A request is therefore never stuck behind its own dial (a TLS handshake under load takes
// tens of ms) while pooled connections turn over every few ms, and a waiter that gives up leaves its dial to the
// pool instead of the new connection being destroyed.
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../common/clock.ts';
import { H1UpstreamConn, type ConnOwner } from '../http/h1-upstream.ts';
import type { SocketIO } from '../io/types.ts';
import type { PriorityBreaker, Release } from './circuit-breaker.ts';

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
  /** The cluster's breaker (read on every use: CDS updates replace it); absent = no connection or pending limits. */
  breaker?: () => PriorityBreaker;
}

/** overflow: the failure is the circuit breaker (max_pending_requests), not a connection problem. */
export type AcquireCallback = (conn: H1UpstreamConn | null, failure: string, overflow?: boolean) => void;

/** A request waiting for a connection; `release` frees its max_pending_requests slot (NOOP when it took none). */
interface Waiter { cb: AcquireCallback; release: Release }

const NOOP = (): void => {};

export interface PoolStats { active: number; idle: number; connecting: number; created: number; connectFailures: number; pending: number }

/** Connections to one host:port. Idle connections are reused most-recent-first (warmest socket, fewest stale). */
export class H1Pool implements ConnOwner {
  private readonly idleList: H1UpstreamConn[] = [];
  private readonly all = new Set<H1UpstreamConn>();
  private connecting = 0;
  /** Dials whose connection goes to the oldest waiter (or idle), not to one caller (open()). */
  private queueDials = 0;
  private created = 0;
  private connectFailures = 0;
  private sweepTimer: TimerHandle | undefined;
  private closing = false;
  /** Requests waiting for a connection (FIFO); those queued at max_connections hold a max_pending_requests slot. */
  private readonly waiters: Waiter[] = [];
  /** max_connections slots held by open or opening connections. */
  private readonly slots = new Map<H1UpstreamConn, Release>();

  constructor(readonly host: string, readonly port: number, private readonly opts: PoolOptions) {}

  stats(): PoolStats {
    return { active: this.all.size - this.idleList.length, idle: this.idleList.length, connecting: this.connecting, created: this.created, connectFailures: this.connectFailures, pending: this.waiters.length };
  }

  get pending(): number { return this.waiters.length; }

  /** An idle connection to use now, if there is one (acquire's synchronous case, without a callback). */
  idleConnection(): H1UpstreamConn | undefined { return this.closing ? undefined : this.takeIdle(); }

  /**
   * Callback fires synchronously when an idle connection is available (or on overflow), else with the first
   * connection that frees up or connects while this request is the oldest waiter. Returns a cancel function for a
   * request that stops waiting (its dial, if any, still completes and the connection joins the pool).
   */
  acquire(cb: AcquireCallback): () => void {
    const idle = this.takeIdle();
    if (idle) { cb(idle, ''); return NOOP; }
    if (this.closing) { cb(null, 'pool closed'); return NOOP; }
    // Every waiter should have a dial on its way unless it waits at max_connections: a waiter beyond the dials in
    // flight gets one (waiters served by released connections leave their dials for the next ones).
    let release = NOOP;
    if (this.waiters.length >= this.queueDials) {
      const slot = this.connectionSlot();
      if (slot) this.dial(undefined, slot);
      else {
        const b = this.opts.breaker!();
        const p = b.tryAcquire('pending');
        if (!p.ok) { cb(null, `max_pending_requests ${p.limit} reached (max_connections ${b.limit('connections')} in use)`, true); return NOOP; }
        release = p.release;
      }
    }
    const w: Waiter = { cb, release };
    this.waiters.push(w);
    return () => {
      const i = this.waiters.indexOf(w);
      if (i !== -1) { this.waiters.splice(i, 1); w.release(); }
    };
  }

  private takeIdle(): H1UpstreamConn | undefined {
    while (this.idleList.length > 0) {
      const c = this.idleList.pop()!;
      // lastUsed matters only while idle (the sweep reads it); released() sets it when the connection comes back.
      if (!c.closed && c.idle && !c.socket.destroyed) return c;
      this.all.delete(c);
    }
    return undefined;
  }

  /**
   * A max_connections slot for a new connection, or undefined at the limit. Like Envoy, a pool with no connection
   * at all still gets one (other hosts may hold every slot), so its waiters cannot starve.
   */
  private connectionSlot(force = false): Release | undefined {
    const b = this.opts.breaker?.();
    if (!b) return NOOP;
    const r = b.tryAcquire('connections');
    if (r.ok) return r.release;
    return force || this.all.size + this.connecting === 0 ? NOOP : undefined;
  }

  /** Always a new connection, for this caller only (used after a stale keep-alive connection failed). */
  open(cb: AcquireCallback): void {
    if (this.closing) { cb(null, 'pool closed'); return; }
    this.dial(cb, this.connectionSlot(true)!);
  }

  /** Dial a connection: for `owner` alone (open), or, without one, for the waiters' queue. */
  private dial(owner: AcquireCallback | undefined, slot: Release): void {
    const { clock } = this.opts;
    const socket: Socket = this.opts.io.dial(this.host, this.port);
    this.connecting++;
    if (!owner) this.queueDials++;
    let done = false;
    const timer = this.opts.connectTimeoutMs > 0
      ? clock.setTimeout(() => finish(`connect timeout after ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs)
      : undefined;
    const finish = (err: string): void => {
      if (done) return;
      done = true;
      this.connecting--;
      if (!owner) this.queueDials--;
      clock.clearTimeout(timer);
      socket.removeListener('error', onErr);
      if (err) {
        this.connectFailures++;
        slot();
        socket.destroy();
        if (owner) owner(null, err);
        // Nothing left that could serve the waiters: they fail the same way (Envoy purges pending requests).
        if (this.all.size + this.connecting === 0) { for (const w of this.waiters.splice(0)) { w.release(); w.cb(null, err); } return; }
        // Else one failed dial fails one request, as when each request had its own dial (retries, outlier
        // detection and UF flags see connect failures as before) — unless released connections served them all.
        if (!owner && this.waiters.length > this.queueDials) { const w = this.waiters.shift()!; w.release(); w.cb(null, err); }
        return;
      }
      this.created++;
      const c = new H1UpstreamConn(socket, this, this.opts.io);
      c.lastUsed = clock.now();
      this.all.add(c);
      this.slots.set(c, slot);
      if (owner) owner(c, '');
      else this.give(c);
    };
    const onErr = (e: Error): void => finish(`connect to ${this.host}:${this.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
    socket.once('error', onErr);
    socket.once(socket.readyState === 'open' ? 'ready' : 'connect', () => finish(''));
    if (socket.readyState === 'open') queueMicrotask(() => finish(''));
  }

  /** A new connection from the queue's dial: the oldest waiter's, or idle when released connections served them all. */
  private give(c: H1UpstreamConn): void {
    if (this.closing) { c.destroy(); return; }
    const w = this.waiters.shift();
    if (w) { w.release(); w.cb(c, ''); return; }
    this.idleList.push(c);
    if (this.sweepTimer === undefined && this.opts.idleTimeoutMs > 0) this.scheduleSweep();
  }

  released(c: H1UpstreamConn): void {
    const max = this.opts.maxRequestsPerConnection;
    if (this.closing || (max > 0 && c.requests >= max)) { c.destroy(); return; }
    c.lastUsed = this.opts.clock.now();
    this.idleList.push(c);
    if (this.waiters.length > 0) {
      // Hand it over after the current response's callbacks have run (this is called from inside them).
      queueMicrotask(() => this.serveWaiters());
      return;
    }
    if (this.sweepTimer === undefined && this.opts.idleTimeoutMs > 0) this.scheduleSweep();
  }

  closed(c: H1UpstreamConn): void {
    this.all.delete(c);
    const i = this.idleList.indexOf(c);
    if (i !== -1) this.idleList.splice(i, 1);
    const slot = this.slots.get(c);
    if (slot) { this.slots.delete(c); slot(); }
    if (this.waiters.length > 0) queueMicrotask(() => this.serveWaiters());
  }

  /** Give idle connections to waiting requests, oldest first; then dial (within max_connections) for the rest. */
  private serveWaiters(): void {
    while (this.waiters.length > 0 && !this.closing) {
      const idle = this.takeIdle();
      if (!idle) break;
      const w = this.waiters.shift()!;
      w.release();
      w.cb(idle, '');
    }
    while (this.waiters.length > this.queueDials && !this.closing) {
      const slot = this.connectionSlot();
      if (!slot) return;
      this.dial(undefined, slot);
    }
    if (this.idleList.length > 0 && this.sweepTimer === undefined && this.opts.idleTimeoutMs > 0) this.scheduleSweep();
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
    for (const w of this.waiters.splice(0)) { w.release(); w.cb(null, 'pool closed'); }
  }

  /** Close everything, busy or not. */
  destroy(): void {
    this.close();
    for (const c of this.all) c.destroy();
    this.all.clear();
  }

  get size(): number { return this.all.size; }
}
