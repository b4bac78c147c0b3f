// proxy/http: a downstream HTTP/1.1 connection — parses requests (pipelining-safe), runs one Exchange at a time,
// writes responses (head + first body bytes in one write), keeps the connection alive, tunnels upgrades.
import type { Socket } from 'node:net';
import { parseRequestHead, ChunkedDecoder, serializeResponseHead, chunkHeader, CHUNK_TAIL, lastChunk, reasonPhrase } from './codec/index.ts';
import type { RawFields, RequestHead } from './codec/head.ts';
import { Exchange } from './exchange.ts';
import type { DownstreamResponder, IncomingRequest } from './exchange-types.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext, HttpChainRuntime } from '../listener/runtime.ts';
import { relay, type SocketIO } from '../io/types.ts';

const enum St { Head, BodyLength, BodyChunked, Wait, Tunnel, Closed }

/** Buffered pipelined bytes past this pause reading until the current response is done. */
const MAX_PIPELINE_BUFFER = 64 * 1024;
const NOOP = (): void => {};
/** How long an idle connection may stay open once draining starts. */
const IDLE_DRAIN_GRACE_MS = 1000;


/** A parsed RequestHead already is the exchange's protocol-neutral request (no copy on the hot path). */
function incoming(h: RequestHead): IncomingRequest { return h; }

export class H1Downstream implements DownstreamResponder {
  readonly protocol = 'HTTP/1.1' as const;
  private st = St.Head;
  private pending: Buffer | null = null;
  private ex: Exchange | null = null;
  private head: RequestHead | null = null;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private keepAlive = true;
  private resChunked = false;
  private resClose = false;
  private pendingHead = '';
  private processing = false;
  private paused = false;
  private drainCb: () => void = NOOP;
  private readonly sink = (b: Buffer, s: number, e: number): void => { this.ex?.requestData(b, s, e); };

  constructor(
    readonly socket: Socket,
    private readonly origin: ConnectionOrigin,
    private readonly runtime: () => HttpChainRuntime | undefined,
    private readonly ctx: EngineContext,
    private readonly isDraining: () => boolean,
    initial?: Buffer,
    private readonly io: SocketIO = ctx.io,
  ) {
    ctx.stats.downstream_cx_total++;
    ctx.stats.downstream_cx_active++;
    this.lastActivity = ctx.clock.now();
    socket.setNoDelay(true);
    io.read(socket, (b, s, e) => this.onData(b, s, e));
    socket.on('drain', () => { const cb = this.drainCb; this.drainCb = NOOP; cb(); });
    socket.on('error', NOOP);
    socket.on('close', () => this.onClose());
    if (initial && initial.length) this.onData(initial, 0, initial.length);
  }

  get idle(): boolean { return this.st === St.Head && this.ex === null && this.pending === null; }

  /** Last time bytes arrived or a response finished (for idle / stream-idle timeouts). */
  private lastActivity = 0;
  /** The clock's reading while a read is being processed (-1 otherwise): a request begun by it starts then. */
  private readAt = -1;

  /**
   * Timeouts, checked by a periodic sweep (no timer per request): a keep-alive connection idle for the HCM's
   * idle_timeout (default 1 h) is closed; a request stuck with no bytes for stream_idle_timeout (default 5 min)
   * gets 408 if its head never completed, or is reset mid-body. 0 disables either.
   */
  checkTimeouts(now: number): void {
    if (this.st === St.Closed || this.st === St.Tunnel) return;
    const h = this.runtime()?.handler;
    const idleMs = h?.idleTimeoutMs ?? 3_600_000;
    const streamMs = h?.streamIdleTimeoutMs ?? 300_000;
    const quiet = now - this.lastActivity;
    if (this.idle) { if (idleMs > 0 && quiet >= idleMs) this.close(); return; }
    if (streamMs <= 0 || quiet < streamMs) return;
    if (this.ex === null) { this.protocolError(408, 'request header timeout'); return; }
    if (this.st === St.BodyLength || this.st === St.BodyChunked) {
      const ex = this.ex;
      this.ex = null;
      ex.downstreamClosed();
      this.abort();
    }
  }

  /**
   * Drain: a busy connection closes after its current response (which says connection: close). An idle
   * keep-alive connection gets a grace period first: closing it at once races a request the client is
   * already sending on it, which would then be lost.
   */
  drain(): void {
    if (!this.idle) return;
    this.ctx.clock.setTimeout(() => { if (this.idle) this.close(); }, IDLE_DRAIN_GRACE_MS);
  }

  close(): void {
    if (this.st === St.Closed) return;
    this.st = St.Closed;
    this.socket.end();
    this.socket.destroySoon?.();
  }

  private onClose(): void {
    this.st = St.Closed;
    this.ctx.stats.downstream_cx_active--;
    const ex = this.ex;
    this.ex = null;
    ex?.downstreamClosed();
  }

  /** buf[start, end) is only valid during the call (the fast path reuses read buffers): copies are kept. */
  private onData(buf: Buffer, start: number, end: number): void {
    if (this.st === St.Closed || this.st === St.Tunnel) return;
    this.lastActivity = this.readAt = this.ctx.clock.now();
    try {
      this.onRead(buf, start, end);
    } finally {
      this.readAt = -1;
    }
  }

  private onRead(buf: Buffer, start: number, end: number): void {
    if (this.pending !== null) {
      this.pending = Buffer.concat([this.pending, buf.subarray(start, end)]);
      if (this.processing) return;
      const b = this.pending;
      this.pending = null;
      this.process(b, 0, b.length);
    } else {
      if (this.processing) { this.pending = Buffer.from(buf.subarray(start, end)); return; }
      this.process(buf, start, end);
    }
  }

  /** Consume buf[pos, end) as far as the state allows; keep (a copy of) the rest in `pending`. */
  private process(buf: Buffer, pos: number, end: number): void {
    this.processing = true;
    let rest: Buffer | undefined;
    try {
      for (let guard = 0; guard < 100_000 && pos < end; guard++) {
        if (this.st === St.Head) {
          if (this.ex !== null) break; // pipelined: wait for the current response
          const r = parseRequestHead(buf, pos, end);
          if (r.kind === 'incomplete') break;
          if (r.kind === 'error') { this.protocolError(r.status, r.reason); return; }
          pos += r.consumed;
          this.beginRequest(r.head);
        } else if (this.st === St.BodyLength) {
          const n = Math.min(this.remaining, end - pos);
          this.remaining -= n;
          this.sink(buf, pos, pos + n);
          pos += n;
          if (this.remaining === 0) this.requestBodyDone(undefined);
        } else if (this.st === St.BodyChunked) {
          const d = this.decoder!;
          pos += d.feed(buf, pos, end, this.sink);
          if (d.failed) { this.protocolError(400, `chunked request body: ${d.error}`); return; }
          if (d.done) { this.decoder = null; this.requestBodyDone(d.trailers); }
        } else break;
      }
      if (pos < end) rest = buf.subarray(pos, end);
    } finally {
      this.processing = false;
    }
    if (this.st === St.Closed || this.st === St.Tunnel) return;
    // Bytes that arrived re-entrantly while processing (queued in `pending`) go after what is left here.
    const arrived = this.pending;
    if (rest !== undefined) this.pending = arrived !== null ? Buffer.concat([rest, arrived]) : Buffer.from(rest);
    // Only new bytes can make progress: re-processing an incomplete head alone would loop forever.
    if (arrived !== null && this.st === St.Head && this.ex === null) {
      const b = this.pending!;
      this.pending = null;
      this.process(b, 0, b.length);
      return;
    }
    if (this.pending !== null && this.pending.length > MAX_PIPELINE_BUFFER && this.ex !== null && !this.paused) { this.paused = true; this.socket.pause(); }
  }

  private beginRequest(h: RequestHead): void {
    const rt = this.runtime();
    this.head = h;
    this.keepAlive = h.keepAlive;
    if (h.expectContinue && h.bodyKind !== 'none') this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    if (h.bodyKind === 'length') { this.st = St.BodyLength; this.remaining = h.contentLength; }
    else if (h.bodyKind === 'chunked') { this.st = St.BodyChunked; this.decoder = new ChunkedDecoder(); }
    else this.st = St.Wait;
    if (!rt) { this.protocolError(404, 'listener has no HTTP route configuration'); return; }
    if (h.method === 'CONNECT') { this.keepAlive = false; }
    const ex = new Exchange(this.ctx, this.origin, rt, incoming(h), this, this.readAt >= 0 ? this.readAt : this.ctx.clock.now());
    this.ex = ex;
    // Until the upstream is ready, request body bytes are buffered by the exchange (bounded).
    ex.start();
    if (h.bodyKind === 'none' && this.ex === ex) ex.requestEnd(undefined);
  }

  private requestBodyDone(trailers: string[] | undefined): void {
    this.st = St.Wait;
    const ex = this.ex;
    if (ex) ex.requestEnd(trailers);
    else this.st = St.Head; // response already finished (early reply); the body was consumed
  }

  private protocolError(status: number, reason: string): void {
    this.ctx.stats.downstream_cx_protocol_error++;
    this.ctx.stats.countStatus(status);
    const body = reasonPhrase(status);
    if (this.ex === null) {
      this.socket.end(serializeResponseHead(status, '', ['content-type', 'text/plain', 'x-rig-error', reason.replace(/[^\x20-\x7e]/g, '?')], 'length', body.length, 'close') + body, 'latin1');
    } else {
      const ex = this.ex;
      this.ex = null;
      ex.downstreamClosed();
      this.socket.destroy();
    }
    this.st = St.Closed;
  }

  // ----- DownstreamResponder

  sendHead(status: number, headers: string[], bodyLength: number, raw?: RawFields): void {
    const h = this.head!;
    const noBody = h.method === 'HEAD' || status === 204 || status === 304;
    let kind: 'length' | 'chunked' | 'none' = 'length';
    this.resChunked = false;
    this.resClose = false;
    if (bodyLength < 0) {
      if (noBody) kind = 'none';
      else if (h.versionMinor === 1) { kind = 'chunked'; this.resChunked = true; }
      else { kind = 'none'; this.resClose = true; this.keepAlive = false; }
    } else if (noBody && bodyLength === 0 && h.method !== 'HEAD') kind = 'none';
    // The request body was not fully read (early response): the connection cannot be reused.
    if (this.st === St.BodyLength || this.st === St.BodyChunked) this.keepAlive = false;
    if (this.isDraining() || this.ctx.draining) this.keepAlive = false;
    let conn: string | undefined;
    if (!this.keepAlive) conn = 'close';
    else if (h.versionMinor === 0) conn = 'keep-alive';
    this.pendingHead = serializeResponseHead(status, '', headers, kind, bodyLength < 0 ? 0 : bodyLength, conn, raw);
  }

  /** The head waits for the first body bytes so both leave in one write (see io writeParts). */
  sendData(buf: Buffer, start: number, end: number): boolean {
    if (this.st === St.Closed) return true;
    const io = this.io;
    const head = this.pendingHead;
    this.pendingHead = '';
    if (this.resChunked) return io.writeParts(this.socket, head + chunkHeader(end - start), buf, start, end, CHUNK_TAIL);
    if (head !== '') return io.writeParts(this.socket, head, buf, start, end);
    return io.write(this.socket, buf, start, end);
  }

  sendEnd(trailers: string[] | undefined): void {
    if (this.st === St.Closed) return;
    let tail = this.pendingHead;
    this.pendingHead = '';
    if (this.resChunked) tail += lastChunk(trailers);
    if (tail !== '') this.io.writeParts(this.socket, tail);
  }

  onDrain(cb: () => void): void { this.drainCb = cb; }
  pauseRequest(): void { if (!this.paused) { this.paused = true; this.socket.pause(); } }
  resumeRequest(): void { if (this.paused) { this.paused = false; this.socket.resume(); } }
  abort(): void { this.st = St.Closed; this.socket.destroy(); }

  tunnel(status: number, headers: string[], upstream: Socket, head: Buffer | undefined): void {
    const s = this.socket;
    this.st = St.Tunnel;
    const io = this.io;
    io.writeParts(s, serializeResponseHead(status, '', headers, 'none', 0, 'upgrade'), head, 0, head ? head.length : 0);
    if (this.pending) { io.write(upstream, this.pending, 0, this.pending.length); this.pending = null; }
    // Raw bytes both ways; either side closing closes the other.
    relay(io, s, upstream);
    this.paused = false;
  }

  done(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = null;
    this.lastActivity = ex.endedAt;
    this.drainCb = NOOP; // a finished exchange's back-pressure callback must not fire for the next one
    if (this.st === St.Tunnel || this.st === St.Closed) return;
    if (this.resClose || !this.keepAlive) {
      this.st = St.Closed;
      this.socket.end();
      return;
    }
    if (this.st === St.Wait) this.st = St.Head;
    if (this.paused) { this.paused = false; this.socket.resume(); }
    if (this.st === St.Head && this.pending !== null && !this.processing) {
      const b = this.pending;
      this.pending = null;
      this.process(b, 0, b.length);
    }
    if (this.idle && (this.isDraining() || this.ctx.draining)) this.drain();
  }
}
