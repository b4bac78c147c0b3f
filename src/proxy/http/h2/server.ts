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
import { HpackDecoder, HpackEncoder } from './hpack.ts';
import {
  DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Flag, Frame, FrameReader, FrameWriter, H2Error, MAX_WINDOW, PREFACE, Setting,
  frameHead, goawayFrame, headersFrames, readU32, rstFrame, settingsFrame, windowUpdateFrame,
} from './wire.ts';

/** What the listener hands HTTP/2 connections to (this server, or node:http2's in h2-downstream.ts). */
export interface H2ServerLike {
  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer, io?: SocketIO): void;
  drain(): void;
  destroy(): void;
  readonly sessions: { readonly size: number };
}

const MAX_STREAMS = 1024;
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
const MAX_HEADER_LIST = 60 * 1024;
/** A response's queued body beyond this makes sendData ask the exchange to wait for onDrain. */
const QUEUE_HIGH = 256 * 1024;
const NOOP = (): void => {};
const NO_EDITS: HeaderEdits = { add: [], remove: [] };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field value bytes nghttp2 refuses: NUL, CR, LF (and leading/trailing whitespace is not checked by it either). */
const BAD_VALUE = /[\0\r\n]/;

/** Connection-specific response fields HTTP/2 forbids (RFC 9113 8.2.2): dropped when a response is encoded. */
function forbidden(n: string): boolean {
  switch (n) {
    case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade': case 'host': case 'te':
      return true;
    default:
      return false;
  }
}

class ServerStream implements DownstreamResponder {
  readonly protocol = 'HTTP/2' as const;
  ex: Exchange | undefined;
  sendWindow: number;
  queue: Buffer[] = [];
  queued = 0;
  /** Trailers to send (null: a plain END_STREAM) once the queue is empty; undefined: the response goes on. */
  pendingEnd: string[] | null | undefined = undefined;
  /** The response head, encoded, not yet sent (it waits for the first body bytes or the end: one write). */
  head: string | undefined;
  headSent = false;
  /** HEAD request or a 1xx/204/304 response: no body frames. */
  noBody = false;
  isHead = false;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** Request body: declared length (-1 none), bytes seen, bytes not yet given back as window, paused. */
  expected = -1;
  received = 0;
  unacked = 0;
  paused = false;
  trailers: string[] | undefined;
  drainCb: () => void = NOOP;
  needDrain = false;

  constructor(readonly conn: ServerConnection, readonly id: number, window: number) { this.sendWindow = window; }

  sendHead(status: number, headers: string[], bodyLength: number): void {
    if (this.closed || this.headSent || this.head !== undefined) return;
    const h = this.conn.scratch;
    h.length = 0;
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n.charCodeAt(0) === 58 || forbidden(n)) continue;
      if (n === 'content-length') hasLength = true;
      h.push(n, headers[i + 1]!);
    }
    if (bodyLength > 0 && !hasLength) h.push('content-length', String(bodyLength));
    this.noBody = this.isHead || status === 204 || status === 304 || status < 200;
    this.head = this.conn.encodeBlock(status, h);
  }

  sendData(buf: Buffer, start: number, end: number): boolean {
    if (this.closed || this.localEnded) return true;
    if (this.noBody) return true;
    return this.conn.sendData(this, buf, start, end);
  }

  sendEnd(trailers: string[] | undefined): void {
    if (this.closed || this.localEnded || this.pendingEnd !== undefined) return;
    this.pendingEnd = trailers !== undefined && trailers.length > 0 && !this.noBody ? trailers : null;
    this.conn.flushStream(this);
  }

  onDrain(cb: () => void): void { this.drainCb = cb; }
  pauseRequest(): void { this.paused = true; }
  resumeRequest(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.giveBack(this, 0);
  }
  abort(): void { if (!this.closed) this.conn.reset(this, H2Error.INTERNAL_ERROR); }
  done(): void {}
}

/** One downstream HTTP/2 connection. */
class ServerConnection {
  readonly streams = new Map<number, ServerStream>();
  readonly scratch: string[] = [];
  private readonly reader = new FrameReader(DEFAULT_MAX_FRAME);
  private readonly out: FrameWriter;
  private readonly enc = new HpackEncoder();
  private readonly dec = new HpackDecoder();
  private prefaceLeft = PREFACE.length;
  private settingsSeen = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private sendWindow = DEFAULT_WINDOW;
  private connUnacked = 0;
  private blocked = new Set<ServerStream>();
  private lastStream = 0;
  private hdrStream = 0;
  private hdrEnd = false;
  private hdrBuf: Buffer[] = [];
  private stopped = false;
  closed = false;
  /** GOAWAY sent: no new streams; the connection ends when the last one does. */
  private draining = false;

  constructor(
    private readonly server: NativeH2Server, readonly socket: Socket, private readonly io: SocketIO,
    private readonly origin: ConnectionOrigin, private readonly runtime: () => HttpChainRuntime | undefined, initial: Buffer | undefined,
  ) {
    this.out = new FrameWriter(io, socket);
    this.out.text(settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, MAX_STREAMS], [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW], [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST]])
      + windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    socket.on('close', () => this.teardown());
    socket.on('error', NOOP);
    socket.on('drain', () => { this.out.congested = false; for (const s of this.streams.values()) if (s.needDrain) this.flushStream(s); });
    io.read(socket, (b, s, e) => this.onBytes(b, s, e));
    if (initial && initial.length) this.onBytes(initial, 0, initial.length);
    socket.resume();
  }

  encodeBlock(status: number | undefined, headers: readonly string[]): string { return this.enc.encodeLatin1(status, headers); }

  // ---- receiving ----

  private onBytes(b: Buffer, s: number, e: number): void {
    if (this.stopped) return;
    this.out.inRead = true;
    try {
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, e - s);
        const at = PREFACE.length - this.prefaceLeft;
        if (b.toString('latin1', s, s + n) !== PREFACE.slice(at, at + n)) { this.connectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface'); return; }
        this.prefaceLeft -= n;
        s += n;
        if (s === e) return;
      }
      const err = this.reader.push(b, s, e, this.onFrame, () => this.stopped);
      if (err !== undefined) this.connectionError(H2Error.FRAME_SIZE_ERROR, err);
    } finally {
      this.out.inRead = false;
      this.out.flush();
    }
  }

  private readonly onFrame = (type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void => {
    if (!this.settingsSeen && type !== Frame.SETTINGS) { this.connectionError(H2Error.PROTOCOL_ERROR, 'first frame is not SETTINGS'); return; }
    if (this.hdrStream !== 0 && type !== Frame.CONTINUATION) { this.connectionError(H2Error.PROTOCOL_ERROR, 'frame interleaved in a header block'); return; }
    switch (type) {
      case Frame.DATA: this.onData(flags, id, buf, start, end); return;
      case Frame.HEADERS: this.onHeaders(flags, id, buf, start, end); return;
      case Frame.CONTINUATION:
        if (id === 0 || id !== this.hdrStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without HEADERS'); return; }
        this.hdrBuf.push(Buffer.from(buf.subarray(start, end)));
        if (this.hdrBuf.reduce((n, x) => n + x.length, 0) > 4 * MAX_HEADER_LIST) { this.connectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large'); return; }
        if (flags & Flag.END_HEADERS) { const blk = Buffer.concat(this.hdrBuf); this.hdrBuf = []; this.headerBlock(blk, 0, blk.length); }
        return;
      case Frame.SETTINGS: this.onSettings(flags, id, buf, start, end); return;
      case Frame.WINDOW_UPDATE: this.onWindowUpdate(id, buf, start, end); return;
      case Frame.PING:
        if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream'); return; }
        if (end - start !== 8) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'PING of the wrong size'); return; }
        if (!(flags & Flag.ACK)) this.out.text(frameHead(8, Frame.PING, Flag.ACK, 0) + buf.toString('latin1', start, end));
        return;
      case Frame.RST_STREAM: {
        if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0'); return; }
        if (end - start !== 4) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size'); return; }
        if (id > this.lastStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream'); return; }
        const st = this.streams.get(id);
        if (st) this.closeStream(st, true);
        return;
      }
      case Frame.GOAWAY:
        if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream'); return; }
        // the client will open no more streams; those in flight finish
        this.draining = true;
        if (this.streams.size === 0) this.end();
        return;
      case Frame.PRIORITY:
        if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0'); return; }
        if (end - start !== 5) this.resetId(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case Frame.PUSH_PROMISE: this.connectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client'); return;
      default: return; // unknown frame types are ignored
    }
  };

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream'); return; }
    if (flags & Flag.ACK) {
      if (end !== start) this.connectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      else if (!this.settingsSeen) this.connectionError(H2Error.PROTOCOL_ERROR, 'first frame is a SETTINGS ACK');
      return;
    }
    this.settingsSeen = true;
    if ((end - start) % 6 !== 0) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6'); return; }
    for (let at = start; at < end; at += 6) {
      const key = (buf[at]! << 8) | buf[at + 1]!;
      const v = readU32(buf, at + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE: this.enc.setPeerMaxTableSize(v); break;
        case Setting.ENABLE_PUSH: if (v > 1) { this.connectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1'); return; } break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW) { this.connectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large'); return; }
          const delta = v - this.peerInitialWindow;
          this.peerInitialWindow = v;
          for (const s of this.streams.values()) s.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (v < DEFAULT_MAX_FRAME || v > 16_777_215) { this.connectionError(H2Error.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range'); return; }
          this.peerMaxFrame = v;
          break;
        default: break;
      }
    }
    this.out.text(settingsFrame([], true));
    for (const s of this.streams.values()) if (s.queue.length) this.flushStream(s);
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size'); return; }
    const inc = readU32(buf, start) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0'); return; }
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) { this.connectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow'); return; }
      const waiting = [...this.blocked];
      this.blocked.clear();
      for (const s of waiting) this.flushStream(s);
      return;
    }
    if (id > this.lastStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream'); return; }
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) { this.reset(s, H2Error.FLOW_CONTROL_ERROR); return; }
    this.flushStream(s);
  }

  private onHeaders(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0 or an even stream'); return; }
    let s0 = start, e0 = end;
    if (flags & Flag.PADDED) {
      if (e0 - s0 < 1) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its padding'); return; }
      const pad = buf[s0]!;
      s0++;
      if (pad > e0 - s0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame'); return; }
      e0 -= pad;
    }
    if (flags & Flag.PRIORITY) {
      if (e0 - s0 < 5) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority'); return; }
      if (streamDependency(buf, s0) === id) { this.resetId(id, H2Error.PROTOCOL_ERROR); }
      s0 += 5;
    }
    this.hdrStream = id;
    this.hdrEnd = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) { this.headerBlock(buf, s0, e0); return; }
    this.hdrBuf = [Buffer.from(buf.subarray(s0, e0))];
  }

  private headerBlock(buf: Buffer, start: number, end: number): void {
    const id = this.hdrStream, endStream = this.hdrEnd;
    this.hdrStream = 0;
    const fields: string[] = [];
    const err = this.dec.decode(buf, start, end, fields, MAX_HEADER_LIST);
    if (err !== undefined && err !== 'header list too large') { this.connectionError(H2Error.COMPRESSION_ERROR, `HPACK: ${err}`); return; }
    const existing = this.streams.get(id);
    if (existing !== undefined) { this.requestTrailers(existing, fields, endStream); return; }
    if (id <= this.lastStream) { this.connectionError(H2Error.STREAM_CLOSED, 'HEADERS on a closed stream'); return; }
    this.lastStream = id;
    if (this.draining) { this.out.text(rstFrame(id, H2Error.REFUSED_STREAM)); return; }
    if (this.streams.size >= MAX_STREAMS) { this.out.text(rstFrame(id, H2Error.REFUSED_STREAM)); return; }
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

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0'); return; }
    const frameLen = end - start;
    let s0 = start, e0 = end;
    if (flags & Flag.PADDED) {
      if (e0 - s0 < 1) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'DATA too short for its padding'); return; }
      const pad = buf[s0]!;
      s0++;
      if (pad > e0 - s0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame'); return; }
      e0 -= pad;
    }
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
    if (s.unacked + frameLen > STREAM_WINDOW) { this.reset(s, H2Error.FLOW_CONTROL_ERROR); return; }
    s.received += e0 - s0;
    if (s.expected >= 0 && s.received > s.expected) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    const end_ = (flags & Flag.END_STREAM) !== 0;
    if (end_ && s.expected >= 0 && s.received !== s.expected) { this.reset(s, H2Error.PROTOCOL_ERROR); return; }
    if (e0 > s0) s.ex?.requestData(buf, s0, e0);
    this.giveBack(s, frameLen);
    if (end_) {
      s.remoteEnded = true;
      s.ex?.requestEnd(undefined);
      this.maybeClose(s);
    }
  }

  giveBack(s: ServerStream | undefined, n: number): void {
    this.connUnacked += n;
    if (this.connUnacked >= CONNECTION_WINDOW / 2) { this.out.text(windowUpdateFrame(0, this.connUnacked)); this.connUnacked = 0; }
    if (s === undefined || s.closed || s.remoteEnded) return;
    s.unacked += n;
    if (s.paused) return;
    if (s.unacked >= STREAM_WINDOW / 2 || (n === 0 && s.unacked > 0)) { this.out.text(windowUpdateFrame(s.id, s.unacked)); s.unacked = 0; }
  }

  // ---- sending ----

  sendData(s: ServerStream, buf: Buffer, start: number, end: number): boolean {
    this.sendHeadIfPending(s);
    let n = end - start;
    if (s.queue.length === 0 && n > 0) {
      const can = Math.min(n, s.sendWindow, this.sendWindow);
      let at = start;
      while (at < start + can) {
        const len = Math.min(this.peerMaxFrame, start + can - at);
        this.out.data(frameHead(len, Frame.DATA, 0, s.id), buf, at, at + len);
        at += len;
      }
      s.sendWindow -= can;
      this.sendWindow -= can;
      start += can;
      n -= can;
    }
    if (n > 0) {
      s.queue.push(Buffer.from(buf.subarray(start, end)));
      s.queued += n;
      if (this.sendWindow <= 0) this.blocked.add(s);
    }
    if (s.queued > QUEUE_HIGH || this.out.congested || this.socket.writableLength > QUEUE_HIGH) { s.needDrain = true; return false; }
    return true;
  }

  private sendHeadIfPending(s: ServerStream): void {
    const h = s.head;
    if (h === undefined) return;
    s.head = undefined;
    s.headSent = true;
    this.out.text(headersFrames(s.id, h, false, this.peerMaxFrame));
  }

  flushStream(s: ServerStream): void {
    if (s.closed) return;
    while (s.queue.length && s.sendWindow > 0 && this.sendWindow > 0) {
      const b = s.queue[0]!;
      const can = Math.min(b.length, s.sendWindow, this.sendWindow, this.peerMaxFrame);
      this.out.data(frameHead(can, Frame.DATA, 0, s.id), b, 0, can);
      if (can === b.length) s.queue.shift();
      else s.queue[0] = b.subarray(can);
      s.queued -= can;
      s.sendWindow -= can;
      this.sendWindow -= can;
    }
    if (s.queue.length && this.sendWindow <= 0) this.blocked.add(s);
    if (s.queue.length === 0 && s.pendingEnd !== undefined && !s.localEnded) {
      s.localEnded = true;
      const t = s.pendingEnd;
      const h = s.head;
      if (h !== undefined && t === null) {
        // head and end together: END_STREAM on the HEADERS frame
        s.head = undefined;
        s.headSent = true;
        this.out.text(headersFrames(s.id, h, true, this.peerMaxFrame));
      } else {
        this.sendHeadIfPending(s);
        if (t !== null) this.out.text(headersFrames(s.id, this.enc.encodeLatin1(undefined, t), true, this.peerMaxFrame));
        else if (!this.out.endStreamOnLastData(s.id)) this.out.text(frameHead(0, Frame.DATA, Flag.END_STREAM, s.id));
      }
      this.maybeClose(s);
    }
    if (s.needDrain && s.queued <= QUEUE_HIGH / 2 && !this.out.congested && this.socket.writableLength <= QUEUE_HIGH) {
      s.needDrain = false;
      const f = s.drainCb;
      s.drainCb = NOOP;
      f();
    }
  }

  // ---- stream and connection ends ----

  /** Both sides ended: the stream is done. */
  private maybeClose(s: ServerStream): void {
    if (!s.localEnded) return;
    if (!s.remoteEnded) {
      // The response is complete while the request body still comes: tell the client to stop (RST NO_ERROR).
      this.out.text(rstFrame(s.id, H2Error.NO_ERROR));
    }
    this.closeStream(s, false);
  }

  /** Reset a stream (RST_STREAM to the client) and end its exchange. */
  reset(s: ServerStream, code: number): void {
    if (s.closed) return;
    this.out.text(rstFrame(s.id, code));
    this.closeStream(s, true);
  }

  private resetId(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s) this.reset(s, code);
    else this.out.text(rstFrame(id, code));
  }

  private closeStream(s: ServerStream, abnormal: boolean): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (abnormal && s.ex !== undefined && !s.ex.isFinished) s.ex.downstreamClosed();
    if (this.draining && this.streams.size === 0) this.end();
  }

  private connectionError(code: number, why: string): void {
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
    this.streams.clear();
    this.blocked.clear();
    for (const s of left) { s.closed = true; if (s.ex !== undefined && !s.ex.isFinished) s.ex.downstreamClosed(); }
    if (!this.socket.destroyed) this.socket.destroy();
    this.server.sessions.delete(this);
  }
}

function streamDependency(b: Buffer, at: number): number {
  return ((b[at]! & 0x7f) * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** The engine's native HTTP/2 server: one ServerConnection per attached socket. */
export class NativeH2Server implements H2ServerLike {
  readonly sessions = new Set<ServerConnection>();
  constructor(readonly ctx: EngineContext) {}

  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer, io?: SocketIO): void {
    this.ctx.stats.downstream_cx_total++;
    this.sessions.add(new ServerConnection(this, socket, io ?? this.ctx.io, origin, runtime, initial));
  }

  drain(): void { for (const c of this.sessions) c.drain(); }
  destroy(): void { for (const c of [...this.sessions]) c.teardown(); }
}
