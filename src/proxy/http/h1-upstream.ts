// proxy/http: one persistent HTTP/1.1 connection to an upstream endpoint — writes a request, parses the response.
import type { Socket } from 'node:net';
import { parseResponseHead, ChunkedDecoder, chunkHeader, CHUNK_TAIL, lastChunk, serializeRequestHead } from './codec/index.ts';
import type { OutgoingRequest, ResponseSink, UpstreamRequest } from './exchange-types.ts';
import type { SocketIO } from '../io/types.ts';

const enum St { Idle, Head, BodyLength, BodyChunked, BodyClose, Upgraded, Closed }

const NOOP = (): void => {};

/** Called by the connection when it is free again (keep-alive) or gone. */
export interface ConnOwner {
  released(c: H1UpstreamConn): void;
  closed(c: H1UpstreamConn): void;
}

export class H1UpstreamConn implements UpstreamRequest {
  private st = St.Idle;
  private sink: ResponseSink | null = null;
  private method = '';
  private pending: Buffer | null = null;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  private reqChunked = false;
  private reqDone = true;
  private keepAlive = true;
  private sawResponseBytes = false;
  private upgrade = '';
  private drainCb: () => void = NOOP;
  /** Reading paused for downstream back-pressure; must be undone before the connection is reused. */
  private paused = false;
  /** Requests sent on this connection; >1 means the next failure may be a stale keep-alive race. */
  requests = 0;
  lastUsed = 0;
  constructor(readonly socket: Socket, private readonly owner: ConnOwner, private readonly io: SocketIO) {
    io.read(socket, (b, s, e) => this.onData(b, s, e));
    socket.on('drain', () => { const cb = this.drainCb; this.drainCb = NOOP; cb(); });
    socket.on('error', NOOP);
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean { return this.st === St.Closed; }
  get idle(): boolean { return this.st === St.Idle; }

  /** Send a request head (and, if given, the first/whole body bytes) in one write. */
  start(req: OutgoingRequest, sink: ResponseSink, body?: Buffer, bodyEnd = false): void {
    this.sink = sink;
    this.method = req.method;
    this.requests++;
    this.upgrade = req.upgrade;
    this.sawResponseBytes = false;
    this.keepAlive = true;
    this.st = St.Head;
    this.reqChunked = req.bodyLength < 0;
    this.reqDone = req.bodyLength === 0 || bodyEnd;
    const kind = req.bodyLength < 0 ? 'chunked' : req.bodyLength > 0 ? 'length' : 'none';
    const head = serializeRequestHead(req.method, req.path, req.headers, kind, req.bodyLength, req.upgrade ? 'upgrade' : undefined);
    const s = this.socket;
    if (body === undefined || body.length === 0) {
      this.io.writeParts(s, this.reqChunked && bodyEnd ? head + lastChunk() : head);
      return;
    }
    if (this.reqChunked) this.io.writeParts(s, head + chunkHeader(body.length), body, 0, body.length, bodyEnd ? CHUNK_TAIL + lastChunk() : CHUNK_TAIL);
    else this.io.writeParts(s, head, body, 0, body.length);
  }

  write(buf: Buffer, start: number, end: number): boolean {
    if (this.st === St.Closed) return true;
    if (!this.reqChunked) return this.io.write(this.socket, buf, start, end);
    return this.io.writeParts(this.socket, chunkHeader(end - start), buf, start, end, CHUNK_TAIL);
  }

  end(trailers?: string[]): void {
    if (this.reqDone) return;
    this.reqDone = true;
    if (this.st === St.Closed) return;
    if (this.reqChunked) this.io.writeParts(this.socket, lastChunk(trailers));
    // Response may already be complete (early response); only now can the connection be reused.
    if (this.st === St.Idle && this.sink === null) this.finishReuse();
  }

  abort(): void {
    this.sink = null;
    this.destroy();
  }

  onDrain(cb: () => void): void { this.drainCb = cb; }
  pauseResponse(): void { this.paused = true; this.socket.pause(); }
  resumeResponse(): void { if (this.paused) { this.paused = false; this.socket.resume(); } }

  destroy(): void {
    if (this.st === St.Closed) return;
    this.st = St.Closed;
    this.socket.destroy();
  }

  private onClose(): void {
    const was = this.st;
    this.st = St.Closed;
    const sink = this.sink;
    this.sink = null;
    this.owner.closed(this);
    if (!sink) return;
    if (was === St.BodyClose) { sink.onEnd(undefined); return; }
    if (was === St.Head) sink.onError('reset-before-response', this.sawResponseBytes ? 'upstream closed mid-head' : 'upstream connection closed');
    else if (was !== St.Idle && was !== St.Upgraded) sink.onError('reset-after-response', 'upstream connection closed mid-body');
  }

  /** Feed response bytes; buf[start,end) belongs to the caller only for the duration of the call. */
  onData(buf: Buffer, start: number, end: number): void {
    while (start < end) {
      switch (this.st) {
        case St.Head: {
          this.sawResponseBytes = true;
          let b: Buffer, s: number, e: number;
          if (this.pending) { b = Buffer.concat([this.pending, buf.subarray(start, end)]); s = 0; e = b.length; this.pending = null; }
          else { b = buf; s = start; e = end; }
          const r = parseResponseHead(b, s, e, this.method);
          if (r.kind === 'incomplete') { this.pending = Buffer.from(b.subarray(s, e)); return; }
          const sink = this.sink;
          if (r.kind === 'error') {
            this.sink = null;
            this.destroy();
            sink?.onError('protocol-error', r.reason);
            return;
          }
          const h = r.head;
          buf = b; start = s + r.consumed; end = e;
          if (h.status < 200 && h.status !== 101) continue; // interim (100 Continue): Envoy answers 100 itself
          if (h.status === 101 && this.upgrade) {
            this.st = St.Upgraded;
            this.sink = null;
            this.io.read(this.socket, NOOP); // the tunnel installs its own reader
            this.owner.closed(this); // the socket now belongs to the tunnel
            const rest = start < end ? Buffer.from(buf.subarray(start, end)) : undefined;
            sink?.onUpgrade?.(101, h.headers, this.socket, rest);
            return;
          }
          this.keepAlive = h.keepAlive;
          if (h.bodyKind === 'none') {
            this.st = St.Idle;
            // A HEAD response's Content-Length is the GET body's length (RFC 9110 8.6): the downstream head says the
            // same, not "0" (Envoy forwards it too).
            let len = 0;
            if (this.method === 'HEAD') for (let k = 0; k < h.headers.length; k += 2) if (h.headers[k] === 'content-length') { len = h.contentLength; break; }
            sink?.onHead(h.status, h.reason, h.headers, len, true, h);
            this.complete(undefined);
            if (start < end) { this.destroy(); } // bytes after a complete response: not reusable
            return;
          }
          if (h.bodyKind === 'length') { this.st = St.BodyLength; this.remaining = h.contentLength; }
          else if (h.bodyKind === 'chunked') { this.st = St.BodyChunked; this.decoder = new ChunkedDecoder(); }
          else this.st = St.BodyClose;
          sink?.onHead(h.status, h.reason, h.headers, h.bodyKind === 'length' ? h.contentLength : -1, false, h);
          break;
        }
        case St.BodyLength: {
          const n = Math.min(this.remaining, end - start);
          this.remaining -= n;
          this.sink?.onData(buf, start, start + n);
          start += n;
          if (this.remaining === 0) {
            this.st = St.Idle;
            this.complete(undefined);
            if (start < end) this.destroy();
            return;
          }
          break;
        }
        case St.BodyChunked: {
          const d = this.decoder!;
          const sink = this.sink;
          const n = d.feed(buf, start, end, sink ? (b, s, e) => sink.onData(b, s, e) : NOOP);
          start += n;
          if (d.failed) {
            this.sink = null;
            this.destroy();
            sink?.onError('protocol-error', `upstream chunked body: ${d.error}`);
            return;
          }
          if (d.done) {
            this.decoder = null;
            this.st = St.Idle;
            this.complete(d.trailers);
            if (start < end) this.destroy();
            return;
          }
          break;
        }
        case St.BodyClose:
          this.sink?.onData(buf, start, end);
          return;
        case St.Idle:
          // Bytes with no request outstanding: the upstream is confused; never reuse it.
          this.destroy();
          return;
        default:
          return;
      }
    }
  }

  private complete(trailers: string[] | undefined): void {
    const sink = this.sink;
    this.sink = null;
    if (this.reqDone) this.finishReuse();
    sink?.onEnd(trailers);
  }

  private finishReuse(): void {
    // The response is complete: a pause for the old exchange's back-pressure must not outlive it, or the
    // next request on this connection would never see its response.
    this.drainCb = NOOP;
    this.resumeResponse();
    if (this.keepAlive && this.st === St.Idle) this.owner.released(this);
    else this.destroy();
  }
}
