// proxy/http/h2: the native HTTP/2 server for downstream connections (h2c by preface or prior knowledge, TLS with ALPN
// h2) — our own framing (wire.ts) and HPACK on the proxy's socket I/O, each stream an Exchange, instead of node:http2
// (whose per-stream Duplex, AsyncResource, header objects and an Error per response cost ~3x nginx before any proxy
// work). Request validation follows nghttp2 as Envoy's codec applies it: a malformed header block resets its stream
// (PROTOCOL_ERROR), a request Envoy would refuse at the HTTP layer (requestProblem) gets a 400 on its stream.
import type { Socket } from 'node:net';
import { Exchange } from '../exchange.ts';
import type { DownstreamResponder } from '../exchange-types.ts';
import type { HeaderEdits } from '../route-types.ts';
import { H2Request, requestProblem } from '../h2-downstream.ts';
import type { ConnectionOrigin } from '../../listener/origin.ts';
import type { EngineContext, HttpChainRuntime } from '../../listener/runtime.ts';
import type { SocketIO } from '../../io/types.ts';
import { FlowStream, H2Connection, MAX_HEADER_LIST, NOOP, forbidden } from './conn.ts';
import { Flag, Frame, H2Error, PREFACE, Setting, goawayFrame, headersFrames, rstFrame } from './wire.ts';

/** What the listener hands HTTP/2 connections to (this server, or node:http2's in h2-downstream.ts). */
export interface H2ServerLike {
  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer, io?: SocketIO): void;
  drain(): void;
  destroy(): void;
  readonly sessions: { readonly size: number };
  /** The codec reads its sockets through io.read (true: native), not through their stream API (node:http2). */
  readonly readsThroughIO: boolean;
}

const MAX_STREAMS = 1024;
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
const NO_EDITS: HeaderEdits = { add: [], remove: [] };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field value bytes nghttp2 refuses: NUL, CR, LF (and leading/trailing whitespace is not checked by it either). */
const BAD_VALUE = /[\0\r\n]/;

class ServerStream extends FlowStream implements DownstreamResponder {
  readonly protocol = 'HTTP/2' as const;
  ex: Exchange | undefined;
  /**
   * The response head not yet sent (it waits for the first body bytes or the end: one write): its fields, encoded
   * only when it is written, so the HPACK table never holds entries of a head that was dropped (a reset stream).
   */
  head: string[] | undefined;
  headStatus = 0;
  headSent = false;
  /** HEAD request or a 1xx/204/304 response: no body frames. */
  noBody = false;
  isHead = false;
  /** Request body: declared length (-1 none) and bytes seen. */
  expected = -1;
  received = 0;

  constructor(readonly conn: ServerConnection, id: number, window: number) { super(id, window); }

  sendHead(status: number, headers: string[], bodyLength: number): void {
    if (this.closed || this.headSent || this.head !== undefined) return;
    const h: string[] = [];
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n.charCodeAt(0) === 58 || forbidden(n)) continue;
      if (n === 'content-length') hasLength = true;
      h.push(n, headers[i + 1]!);
    }
    if (bodyLength > 0 && !hasLength) h.push('content-length', String(bodyLength));
    this.noBody = this.isHead || status === 204 || status === 304 || status < 200;
    this.headStatus = status;
    this.head = h;
  }

  sendData(buf: Buffer, start: number, end: number): boolean {
    if (this.closed || this.localEnded || this.noBody) return true;
    return this.conn.sendData(this, buf, start, end);
  }

  sendEnd(trailers: string[] | undefined): void {
    if (this.closed || this.localEnded || this.pendingEnd !== undefined) return;
    this.pendingEnd = trailers !== undefined && trailers.length > 0 && !this.noBody ? trailers : null;
    this.conn.flushStream(this);
  }

  pauseRequest(): void { this.paused = true; }
  resumeRequest(): void { if (this.unpause()) this.conn.giveBack(this, 0); }
  abort(): void { if (!this.closed) this.conn.reset(this, H2Error.INTERNAL_ERROR); }
  done(): void {}
}

/** One downstream HTTP/2 connection. */
class ServerConnection extends H2Connection<ServerStream> {
  private prefaceLeft = PREFACE.length;
  private lastStream = 0;
  closed = false;
  /** GOAWAY sent or received: no new streams; the connection ends when the last one does. */
  private draining = false;

  constructor(
    private readonly server: NativeH2Server, socket: Socket, io: SocketIO,
    private readonly origin: ConnectionOrigin, private readonly runtime: () => HttpChainRuntime | undefined, initial: Buffer | undefined,
  ) {
    super(io, socket, STREAM_WINDOW, CONNECTION_WINDOW);
    this.out.text(this.initialFrames([[Setting.MAX_CONCURRENT_STREAMS, MAX_STREAMS]]));
    socket.on('close', () => this.teardown());
    socket.on('error', NOOP);
    socket.on('drain', () => this.onSocketDrain());
    io.read(socket, (b, s, e) => this.onBytes(b, s, e));
    if (initial && initial.length) this.onBytes(initial, 0, initial.length);
    socket.resume();
  }

  // ---- receiving ----

  private onBytes(b: Buffer, s: number, e: number): void {
    if (this.stopped) return;
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, e - s);
      const at = PREFACE.length - this.prefaceLeft;
      if (b.toString('latin1', s, s + n) !== PREFACE.slice(at, at + n)) { this.connectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface'); return; }
      this.prefaceLeft -= n;
      s += n;
      if (s === e) return;
    }
    this.readFrames(b, s, e);
  }

  protected isIdle(id: number): boolean { return id > this.lastStream; }

  protected otherFrame(type: number, _flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (type === Frame.RST_STREAM) {
      if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0'); return; }
      if (end - start !== 4) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size'); return; }
      if (id > this.lastStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream'); return; }
      const st = this.streams.get(id);
      if (st) this.closeStream(st, true);
      return;
    }
    if (type === Frame.GOAWAY) {
      if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream'); return; }
      // the client will open no more streams; those in flight finish
      this.draining = true;
      if (this.streams.size === 0) this.end();
      return;
    }
    void buf;
    this.connectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
  }

  protected headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void {
    // decoded into a reused array: what is kept is copied out of it (headers, trailers)
    const fields = this.fields;
    fields.length = 0;
    const err = this.dec.decode(buf, start, end, fields, MAX_HEADER_LIST);
    if (err !== undefined && err !== 'header list too large') { this.connectionError(H2Error.COMPRESSION_ERROR, `HPACK: ${err}`); return; }
    const existing = this.streams.get(id);
    if (existing !== undefined) { this.requestTrailers(existing, fields, endStream); return; }
    if (id <= this.lastStream) { this.connectionError(H2Error.STREAM_CLOSED, 'HEADERS on a closed stream'); return; }
    this.lastStream = id;
    if (this.draining || this.streams.size >= MAX_STREAMS) { this.out.text(rstFrame(id, H2Error.REFUSED_STREAM)); return; }
    const s = new ServerStream(this, id, this.peerInitialWindow);
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.newRequest(s, fields, err !== undefined);
  }

  /** Validate a request head (nghttp2's rules) and start its exchange. */
  private newRequest(s: ServerStream, fields: string[], tooLarge: boolean): void {
    let method: string | undefined, scheme: string | undefined, path: string | undefined, authority: string | undefined, protocol: string | undefined;
    const headers: string[] = [];
    let regular = false, bad: string | undefined, cookie: string | undefined, cl: string | undefined, host: string | undefined;
    for (let i = 0; i < fields.length && bad === undefined; i += 2) {
      const n = fields[i]!, v = fields[i + 1]!;
      if (n.charCodeAt(0) === 58 /* : */) {
        if (regular) { bad = 'pseudo-header after a regular header'; break; }
        switch (n) {
          case ':method': if (method !== undefined) bad = 'repeated :method'; method = v; break;
          case ':scheme': if (scheme !== undefined) bad = 'repeated :scheme'; scheme = v; break;
          case ':path': if (path !== undefined) bad = 'repeated :path'; path = v; break;
          case ':authority': if (authority !== undefined) bad = 'repeated :authority'; authority = v; break;
          case ':protocol': protocol = v; break;
          default: bad = `unknown pseudo-header ${n}`;
        }
        if (BAD_VALUE.test(v)) bad = `invalid value of ${n}`;
        continue;
      }
      regular = true;
      if (!TOKEN.test(n) || n !== n.toLowerCase()) { bad = `invalid header name ${JSON.stringify(n)}`; break; }
      if (BAD_VALUE.test(v)) { bad = `invalid value of ${n}`; break; }
      switch (n) {
        case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade':
          bad = `connection-specific header ${n}`; break;
        case 'te': if (v !== 'trailers') bad = 'te other than "trailers"'; else headers.push(n, v); break;
        case 'cookie': cookie = cookie === undefined ? v : cookie + '; ' + v; break;
        case 'content-length': if (cl !== undefined && cl !== v) bad = 'conflicting content-length'; cl = v; break;
        case 'host': host = v; break;
        default: headers.push(n, v);
      }
    }
    if (bad === undefined) {
      if (method === undefined) bad = 'missing :method';
      else if (method === 'CONNECT') { if (protocol !== undefined) bad = 'extended CONNECT is not supported'; else if (authority === undefined || path !== undefined || scheme !== undefined) bad = 'malformed CONNECT'; }
      else if (scheme === undefined || path === undefined || path === '') bad = 'missing :scheme or :path';
      else if (protocol !== undefined) bad = ':protocol without CONNECT';
      else if (!TOKEN.test(method)) bad = 'method is not a token';
      if (cl !== undefined && !/^[0-9]+$/.test(cl)) bad = 'invalid content-length';
    }
    if (bad !== undefined) { this.server.ctx.stats.downstream_cx_protocol_error++; this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    if (cookie !== undefined) headers.push('cookie', cookie);
    if (cl !== undefined) headers.push('content-length', cl);
    if (host !== undefined && authority === undefined) authority = host;
    s.isHead = method === 'HEAD';
    s.expected = cl !== undefined ? Number(cl) : -1;
    if (s.remoteEnded && s.expected > 0) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    const rt = this.runtime();
    if (!rt) { this.reset(s, H2Error.REFUSED_STREAM); return; }
    const req = new H2Request(method!, method === 'CONNECT' ? '' : path!, authority ?? '', scheme ?? 'http', headers, s.remoteEnded ? 0 : s.expected);
    const ex = new Exchange(this.server.ctx, this.origin, rt, req, s);
    s.ex = ex;
    const problem = tooLarge ? 'header list too large' : requestProblem(method!, method === 'CONNECT' ? '/' : path!);
    if (problem) {
      ex.flags.push('DPE');
      if (tooLarge) ex.localReply(431, 'Request Header Fields Too Large', NO_EDITS);
      else ex.localReply(400, `Bad Request: ${problem}`, NO_EDITS);
      return;
    }
    ex.start();
    if (s.remoteEnded && !s.closed) ex.requestEnd(undefined);
  }

  private requestTrailers(s: ServerStream, fields: string[], endStream: boolean): void {
    if (s.remoteEnded) { this.reset(s, H2Error.STREAM_CLOSED); return; }
    if (!endStream) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    const trailers: string[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      const n = fields[i]!;
      if (n.charCodeAt(0) === 58 || !TOKEN.test(n) || n !== n.toLowerCase() || BAD_VALUE.test(fields[i + 1]!)) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
      trailers.push(n, fields[i + 1]!);
    }
    if (s.expected >= 0 && s.received !== s.expected) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    s.remoteEnded = true;
    s.ex?.requestEnd(trailers);
    this.maybeClose(s);
  }

  protected onData(flags: number, id: number, buf: Buffer, s0: number, e0: number, frameLen: number): void {
    const s = this.streams.get(id);
    if (!s || s.remoteEnded) {
      // Counted against the connection window either way. DATA after the client's END_STREAM is a stream error;
      // DATA on a stream we already closed (reset, or answered and told to stop) is ignored, as RFC 9113 5.1 asks
      // of frames that were in flight when the RST_STREAM went out.
      this.giveBack(undefined, frameLen);
      if (id > this.lastStream) this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      else if (s) this.reset(s, H2Error.STREAM_CLOSED);
      return;
    }
    if (!this.withinWindow(s, frameLen)) { this.reset(s, H2Error.FLOW_CONTROL_ERROR); return; }
    s.received += e0 - s0;
    if (s.expected >= 0 && s.received > s.expected) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    const ends = (flags & Flag.END_STREAM) !== 0;
    if (ends && s.expected >= 0 && s.received !== s.expected) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    if (e0 > s0) s.ex?.requestData(buf, s0, e0);
    this.giveBack(s, frameLen);
    if (ends) {
      s.remoteEnded = true;
      s.ex?.requestEnd(undefined);
      this.maybeClose(s);
    }
  }

  // ---- sending ----

  /** The held response head goes before the first body bytes. */
  protected override beforeData(s: ServerStream): void {
    const h = s.head;
    if (h === undefined) return;
    s.head = undefined;
    s.headSent = true;
    this.out.text(headersFrames(s.id, this.enc.encodeLatin1(s.headStatus, h), false, this.peerMaxFrame));
  }

  /** A response that ends with its head still held ends on the HEADERS frame. */
  protected override writeEnd(s: ServerStream, trailers: string[] | null): void {
    const h = s.head;
    if (h !== undefined && trailers === null) {
      s.head = undefined;
      s.headSent = true;
      this.out.text(headersFrames(s.id, this.enc.encodeLatin1(s.headStatus, h), true, this.peerMaxFrame));
      return;
    }
    this.beforeData(s);
    super.writeEnd(s, trailers);
  }

  protected localEnd(s: ServerStream): void { this.maybeClose(s); }

  // ---- stream and connection ends ----

  /** Both sides ended: the stream is done. */
  private maybeClose(s: ServerStream): void {
    if (!s.localEnded) return;
    // The response is complete while the request body still comes: tell the client to stop (RST NO_ERROR).
    if (!s.remoteEnded) this.out.text(rstFrame(s.id, H2Error.NO_ERROR));
    this.closeStream(s, false);
  }

  /** Reset a stream (RST_STREAM to the client) and end its exchange. */
  reset(s: ServerStream, code: number): void {
    if (s.closed) return;
    this.out.text(rstFrame(s.id, code));
    this.closeStream(s, true);
  }

  protected streamError(s: ServerStream, code: number): void { this.reset(s, code); }

  private closeStream(s: ServerStream, abnormal: boolean): void {
    if (s.closed) return;
    s.closed = true;
    this.forget(s);
    if (abnormal && s.ex !== undefined && !s.ex.isFinished) s.ex.downstreamClosed();
    if (this.draining && this.streams.size === 0) this.end();
  }

  protected connectionError(code: number, why: string): void {
    if (this.stopped) return;
    this.server.ctx.stats.downstream_cx_protocol_error++;
    this.out.text(goawayFrame(this.lastStream, code, why.slice(0, 64)));
    this.end();
  }

  /** GOAWAY (drain): streams in flight finish, then the connection closes. */
  drain(): void {
    if (this.draining || this.stopped) return;
    this.draining = true;
    this.out.text(goawayFrame(this.lastStream, H2Error.NO_ERROR));
    if (!this.out.inRead) this.out.flush();
    if (this.streams.size === 0) this.end();
  }

  /** Flush, then close once the bytes are out (the socket's 'close' tears the connection down). */
  private end(): void {
    this.out.flush();
    this.stopped = true;
    const sock = this.socket;
    sock.end(() => sock.destroy());
  }

  teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    const left = [...this.streams.values()];
    for (const s of left) this.forget(s);
    for (const s of left) { s.closed = true; if (s.ex !== undefined && !s.ex.isFinished) s.ex.downstreamClosed(); }
    if (!this.socket.destroyed) this.socket.destroy();
    this.server.sessions.delete(this);
  }
}

/** The engine's native HTTP/2 server: one ServerConnection per attached socket. */
export class NativeH2Server implements H2ServerLike {
  readonly readsThroughIO = true;
  readonly sessions = new Set<ServerConnection>();
  constructor(readonly ctx: EngineContext) {}

  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer, io?: SocketIO): void {
    this.ctx.stats.downstream_cx_total++;
    this.sessions.add(new ServerConnection(this, socket, io ?? this.ctx.io, origin, runtime, initial));
  }

  drain(): void { for (const c of this.sessions) c.drain(); }
  destroy(): void { for (const c of [...this.sessions]) c.teardown(); }
}
