// proxy/http/h2: the native HTTP/2 client — upstream streams over one multiplexed connection per endpoint, on the
// proxy's own socket I/O (src/proxy/io), framing (wire.ts) and HPACK (hpack.ts), instead of node:http2's session and
// stream objects (node 20 builds an AsyncResource, listeners and a Duplex per stream: ~23% of a client sidecar's
// instructions on the h2 mesh hop). Envoy's codec behaviour is the spec: flow control both ways, the peer's
// SETTINGS honoured, GOAWAY retires a connection (streams it did not take fail as retriable resets), RST_STREAM
// ends one stream, a malformed response is an upstream protocol error.
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../../common/clock.ts';
import type { ClusterState } from '../../upstream/cluster-state.ts';
import type { SocketIO } from '../../io/types.ts';
import type { OutgoingRequest, ResponseSink, UpstreamFailure, UpstreamRequest } from '../exchange-types.ts';
import type { H2UpstreamFactory } from '../h2-upstream.ts';
import { HpackDecoder, HpackEncoder } from './hpack.ts';
import {
  DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Flag, Frame, FrameReader, FrameWriter, H2Error, MAX_WINDOW, PREFACE, Setting,
  errorName, frameHead, goawayFrame, headersFrames, readU32, rstFrame, settingsFrame, windowUpdateFrame,
} from './wire.ts';

/** Our receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection (raised at start). */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
/** Largest response header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE; Envoy's default is 60 KiB). */
const MAX_HEADER_LIST = 60 * 1024;
/** A stream's queued request body beyond this makes write() ask the caller to wait for onDrain. */
const QUEUE_HIGH = 256 * 1024;
const NOOP = (): void => {};

/** Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2); `te` is kept only as "trailers". */
function forbidden(n: string): boolean {
  switch (n) {
    case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade': case 'host': case 'te':
      return true;
    default:
      return false;
  }
}

class ClientStream implements UpstreamRequest {
  /** Our send window for this stream (the peer's initial window, moved by its WINDOW_UPDATEs and SETTINGS). */
  sendWindow: number;
  /** Request body waiting for window: copies (the caller's buffers are reused). */
  queue: Buffer[] = [];
  queued = 0;
  /** END_STREAM (or trailers) to send once the queue is empty; undefined: not ended yet. */
  pendingEnd: string[] | null | undefined = undefined;
  localEnded = false;
  remoteEnded = false;
  gotHead = false;
  /** Response bytes received and not yet given back as window (held while paused). */
  unacked = 0;
  paused = false;
  /** content-length of the response, -1 if none; bytes of DATA seen. */
  expected = -1;
  received = 0;
  /** A HEADERS block being assembled from CONTINUATION frames (connection-level state points here). */
  done = false;
  drainCb: () => void = NOOP;
  needDrain = false;

  constructor(readonly conn: ClientConnection, readonly id: number, readonly sink: ResponseSink, window: number) {
    this.sendWindow = window;
  }

  write(buf: Buffer, start: number, end: number): boolean {
    if (this.done || this.localEnded) return true;
    return this.conn.sendData(this, buf, start, end);
  }
  end(trailers?: string[]): void {
    if (this.done || this.localEnded || this.pendingEnd !== undefined) return;
    this.pendingEnd = trailers && trailers.length ? trailers : null;
    this.conn.flushStream(this);
  }
  abort(): void {
    if (this.done) return;
    this.conn.reset(this, H2Error.CANCEL);
  }
  onDrain(cb: () => void): void { this.drainCb = cb; }
  pauseResponse(): void { this.paused = true; }
  resumeResponse(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.giveBack(this, 0);
  }

  /** Finish with a failure (once). */
  fail(kind: UpstreamFailure, detail: string): void {
    if (this.done) return;
    this.done = true;
    this.sink.onError(kind, detail);
  }
}

/** One HTTP/2 connection to an endpoint. */
export class ClientConnection {
  readonly streams = new Map<number, ClientStream>();
  private nextId = 1;
  private readonly reader = new FrameReader(DEFAULT_MAX_FRAME);
  private readonly out: FrameWriter;
  private readonly enc = new HpackEncoder();
  private readonly dec = new HpackDecoder();
  /** Peer settings. */
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  /** The peer's MAX_CONCURRENT_STREAMS; before its SETTINGS, what another connection to it learned, else 100. */
  peerMaxStreams = 100;
  /** Connection-level send window, and received bytes not yet given back. */
  private sendWindow = DEFAULT_WINDOW;
  private connUnacked = 0;
  /** Streams waiting for connection window. */
  private blocked = new Set<ClientStream>();
  /** A header block in progress: its stream, whether END_STREAM came on its HEADERS, and its bytes so far. */
  private hdrStream = 0;
  private hdrEnd = false;
  private hdrBuf: Buffer[] = [];
  private readonly scratch: string[] = [];
  /** Set once the peer's SETTINGS arrived (the connection is usable at full settings). */
  connected = false;
  /** No new streams: GOAWAY received or sent, or the connection failed. */
  retired = false;
  closed = false;
  private stopped = false;
  private connectTimer: TimerHandle | undefined;
  private lastGoaway = MAX_WINDOW;

  constructor(readonly socket: Socket, private readonly io: SocketIO, private readonly clock: Clock, connectTimeoutMs: number, private readonly onClosed: (c: ClientConnection) => void) {
    this.out = new FrameWriter(io, socket);
    if (connectTimeoutMs > 0) this.connectTimer = clock.setTimeout(() => { if (!this.connected) this.destroy('connect-failure', 'connect timeout'); }, connectTimeoutMs);
    // Preface and our settings go first; writes made before the socket connects are buffered by it.
    this.out.text(PREFACE + settingsFrame([[Setting.ENABLE_PUSH, 0], [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW], [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST]])
      + windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    io.read(socket, (b, s, e) => this.onBytes(b, s, e));
    socket.on('close', () => this.destroy(this.connected ? 'reset-before-response' : 'connect-failure', this.connected ? 'connection closed' : 'connection failed'));
    socket.on('error', NOOP);
    socket.on('drain', () => this.onSocketDrain());
    socket.resume();
  }

  /** Can take another stream now. */
  get available(): boolean { return !this.retired && !this.closed && this.streams.size < this.peerMaxStreams && this.nextId < MAX_WINDOW; }

  request(req: OutgoingRequest, sink: ResponseSink): ClientStream {
    const id = this.nextId;
    this.nextId += 2;
    const s = new ClientStream(this, id, sink, this.peerInitialWindow);
    this.streams.set(id, s);
    const h = this.scratch;
    h.length = 0;
    h.push(':method', req.method, ':scheme', req.scheme, ':authority', req.authority);
    if (req.method !== 'CONNECT') h.push(':path', req.path);
    const flat = req.headers;
    let te = false;
    for (let i = 0; i < flat.length; i += 2) {
      const n = flat[i]!;
      if (n.charCodeAt(0) === 58 /* : */) continue;
      if (forbidden(n)) { if (n === 'te' && /trailers/i.test(flat[i + 1]!)) te = true; continue; }
      h.push(n, flat[i + 1]!);
    }
    if (te) h.push('te', 'trailers');
    const noBody = req.bodyLength === 0;
    if (noBody) { s.localEnded = true; s.pendingEnd = null; }
    this.out.text(headersFrames(id, this.enc.encodeLatin1(undefined, h), noBody, this.peerMaxFrame));
    return s;
  }

  // ---- sending ----

  sendData(s: ClientStream, buf: Buffer, start: number, end: number): boolean {
    let n = end - start;
    if (s.queue.length === 0 && n > 0) {
      // As much as the windows allow goes now, in frames of the peer's maximum size.
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

  /** Send what a stream has queued as far as the windows allow; then its end, once nothing is queued. */
  flushStream(s: ClientStream): void {
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
      this.out.text(t === null ? frameHead(0, Frame.DATA, Flag.END_STREAM, s.id) : headersFrames(s.id, this.enc.encodeLatin1(undefined, t), true, this.peerMaxFrame));
      this.maybeClose(s);
    }
    if (s.needDrain && s.queued <= QUEUE_HIGH / 2 && !this.out.congested && this.socket.writableLength <= QUEUE_HIGH) {
      s.needDrain = false;
      const f = s.drainCb;
      s.drainCb = NOOP;
      f();
    }
  }

  private onSocketDrain(): void {
    this.out.congested = false;
    for (const s of this.streams.values()) if (s.needDrain) this.flushStream(s);
  }

  /** Give received response bytes back as window (stream and connection), unless the stream is paused. */
  giveBack(s: ClientStream | undefined, n: number): void {
    this.connUnacked += n;
    if (this.connUnacked >= CONNECTION_WINDOW / 2) { this.out.text(windowUpdateFrame(0, this.connUnacked)); this.connUnacked = 0; }
    if (!s || s.done || s.remoteEnded) return;
    s.unacked += n;
    if (!s.paused && s.unacked >= STREAM_WINDOW / 2 || (!s.paused && n === 0 && s.unacked > 0)) { this.out.text(windowUpdateFrame(s.id, s.unacked)); s.unacked = 0; }
  }

  reset(s: ClientStream, code: number): void {
    s.done = true;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (!this.closed) this.out.text(rstFrame(s.id, code));
    this.afterStreamGone();
  }

  private maybeClose(s: ClientStream): void {
    if (!s.localEnded || !s.remoteEnded) return;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.afterStreamGone();
  }

  private afterStreamGone(): void {
    if (this.retired && this.streams.size === 0) this.close();
  }

  // ---- receiving ----

  private onBytes(b: Buffer, s: number, e: number): void {
    this.out.inRead = true;
    try {
      const err = this.reader.push(b, s, e, this.onFrame, () => this.stopped);
      if (err !== undefined) this.connectionError(H2Error.FRAME_SIZE_ERROR, err);
    } finally {
      this.out.inRead = false;
      this.out.flush();
    }
  }

  private readonly onFrame = (type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void => {
    if (this.hdrStream !== 0 && type !== Frame.CONTINUATION) { this.connectionError(H2Error.PROTOCOL_ERROR, 'frame interleaved in a header block'); return; }
    switch (type) {
      case Frame.DATA: this.onData(flags, id, buf, start, end); return;
      case Frame.HEADERS: this.onHeaders(flags, id, buf, start, end); return;
      case Frame.CONTINUATION:
        if (id === 0 || id !== this.hdrStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without HEADERS'); return; }
        this.hdrBuf.push(Buffer.from(buf.subarray(start, end)));
        if (flags & Flag.END_HEADERS) this.endHeaderBlock();
        return;
      case Frame.SETTINGS: this.onSettings(flags, id, buf, start, end); return;
      case Frame.WINDOW_UPDATE: this.onWindowUpdate(id, buf, start, end); return;
      case Frame.PING:
        if (id !== 0 || end - start !== 8) { this.connectionError(id !== 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'bad PING'); return; }
        if (!(flags & Flag.ACK)) this.out.text(frameHead(8, Frame.PING, Flag.ACK, 0) + buf.toString('latin1', start, end));
        return;
      case Frame.RST_STREAM: {
        if (id === 0 || end - start !== 4) { this.connectionError(id === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'bad RST_STREAM'); return; }
        const st = this.streams.get(id);
        if (!st) return;
        const code = readU32(buf, start);
        this.streams.delete(id);
        this.blocked.delete(st);
        if (st.remoteEnded) { st.done = true; this.afterStreamGone(); return; }
        // A reset with NO_ERROR after the whole response means "stop sending the request": the response stands.
        st.fail(st.gotHead ? 'reset-after-response' : 'reset-before-response', `upstream reset the stream (${errorName(code)})`);
        this.afterStreamGone();
        return;
      }
      case Frame.GOAWAY: {
        if (id !== 0 || end - start < 8) { this.connectionError(H2Error.PROTOCOL_ERROR, 'bad GOAWAY'); return; }
        const last = readU32(buf, start) & 0x7fffffff;
        const code = readU32(buf, start + 4);
        this.retired = true;
        this.lastGoaway = Math.min(this.lastGoaway, last);
        // Streams the peer did not take were never processed: they fail as retriable resets.
        for (const st of [...this.streams.values()]) {
          if (st.id > last) {
            this.streams.delete(st.id);
            st.fail('reset-before-response', `upstream sent GOAWAY (${errorName(code)}) before taking the stream`);
          }
        }
        this.afterStreamGone();
        return;
      }
      case Frame.PUSH_PROMISE: this.connectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled'); return;
      case Frame.PRIORITY:
        if (id === 0 || end - start !== 5) this.connectionError(id === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'bad PRIORITY');
        return;
      default: return; // unknown frame types are ignored (RFC 9113 4.1)
    }
  };

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream'); return; }
    if (flags & Flag.ACK) { if (end !== start) this.connectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload'); return; }
    if ((end - start) % 6 !== 0) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6'); return; }
    for (let at = start; at < end; at += 6) {
      const key = (buf[at]! << 8) | buf[at + 1]!;
      const v = readU32(buf, at + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE: this.enc.setPeerMaxTableSize(v); break;
        case Setting.ENABLE_PUSH: if (v > 1) { this.connectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1'); return; } break;
        case Setting.MAX_CONCURRENT_STREAMS: this.peerMaxStreams = v; break;
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
    if (!this.connected) { this.connected = true; this.clock.clearTimeout(this.connectTimer); }
    for (const s of this.streams.values()) if (s.queue.length) this.flushStream(s);
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE'); return; }
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
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0) { this.streamError(s, 'WINDOW_UPDATE of 0'); return; }
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) { this.streamError(s, 'stream window overflow'); return; }
    this.flushStream(s);
  }

  private onHeaders(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0 or a server-initiated stream'); return; }
    let s0 = start, e0 = end;
    if (flags & Flag.PADDED) {
      const pad = buf[s0]!;
      s0++;
      if (pad > e0 - s0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame'); return; }
      e0 -= pad;
    }
    if (flags & Flag.PRIORITY) { s0 += 5; if (s0 > e0) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority'); return; } }
    this.hdrStream = id;
    this.hdrEnd = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) {
      // the whole block in this frame: decode in place
      this.decodeBlock(buf, s0, e0);
      return;
    }
    this.hdrBuf = [Buffer.from(buf.subarray(s0, e0))];
  }

  private endHeaderBlock(): void {
    const b = Buffer.concat(this.hdrBuf);
    this.hdrBuf = [];
    this.decodeBlock(b, 0, b.length);
  }

  private decodeBlock(buf: Buffer, start: number, end: number): void {
    const id = this.hdrStream, endStream = this.hdrEnd;
    this.hdrStream = 0;
    const fields: string[] = [];
    const err = this.dec.decode(buf, start, end, fields, MAX_HEADER_LIST);
    const s = this.streams.get(id);
    if (err !== undefined && err !== 'header list too large') { this.connectionError(H2Error.COMPRESSION_ERROR, `HPACK: ${err}`); return; }
    if (!s) { if (id >= this.nextId) this.connectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on an idle stream'); return; }
    if (err !== undefined) { this.streamError(s, 'response header list too large'); return; }
    if (!s.gotHead) {
      // the response head (or an informational one): :status first, no other pseudo-header
      if (fields[0] !== ':status' || !/^[1-5][0-9][0-9]$/.test(fields[1]!)) { this.streamError(s, 'response without a valid :status'); return; }
      const status = Number(fields[1]);
      const headers: string[] = [];
      for (let i = 2; i < fields.length; i += 2) {
        const n = fields[i]!;
        if (n.charCodeAt(0) === 58 || n !== n.toLowerCase() || forbidden(n) && n !== 'te') { this.streamError(s, `malformed response header ${JSON.stringify(n)}`); return; }
        headers.push(n, fields[i + 1]!);
      }
      if (status < 200) {
        if (endStream) this.streamError(s, 'informational response ends the stream');
        return; // 1xx: wait for the final head
      }
      let len = -1;
      for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-length') { len = /^[0-9]+$/.test(headers[i + 1]!) ? Number(headers[i + 1]) : -2; break; }
      if (len === -2) { this.streamError(s, 'invalid content-length'); return; }
      s.gotHead = true;
      s.expected = len;
      if (endStream) {
        if (len > 0) { this.streamError(s, 'content-length without a body'); return; }
        s.remoteEnded = true;
        s.done = true;
        s.sink.onHead(status, '', headers, 0, true);
        s.sink.onEnd(undefined);
        this.endOfResponse(s);
        return;
      }
      s.sink.onHead(status, '', headers, len, false);
      return;
    }
    // trailers: must end the stream, no pseudo-headers
    if (!endStream) { this.streamError(s, 'second header block without END_STREAM'); return; }
    const trailers: string[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i]!.charCodeAt(0) === 58) { this.streamError(s, 'pseudo-header in trailers'); return; }
      trailers.push(fields[i]!, fields[i + 1]!);
    }
    if (s.expected >= 0 && s.received !== s.expected) { this.streamError(s, 'body shorter than content-length'); return; }
    s.remoteEnded = true;
    s.done = true;
    s.sink.onEnd(trailers);
    this.endOfResponse(s);
  }

  /** The response is complete: a request still sending is told to stop (RST NO_ERROR), as Envoy does. */
  private endOfResponse(s: ClientStream): void {
    if (!s.localEnded) { this.reset(s, H2Error.NO_ERROR); return; }
    this.maybeClose(s);
  }

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0'); return; }
    const frameLen = end - start;
    let s0 = start, e0 = end;
    if (flags & Flag.PADDED) {
      const pad = buf[s0]!;
      s0++;
      if (pad > e0 - s0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame'); return; }
      e0 -= pad;
    }
    const s = this.streams.get(id);
    if (!s || s.done) {
      // a stream we reset or finished: count it against the connection window only
      this.giveBack(undefined, frameLen);
      if (!s && id >= this.nextId) this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      return;
    }
    if (!s.gotHead) { this.streamError(s, 'DATA before the response head'); return; }
    s.received += e0 - s0;
    if (s.expected >= 0 && s.received > s.expected) { this.streamError(s, 'body longer than content-length'); return; }
    if (e0 > s0) s.sink.onData(buf, s0, e0);
    if (s.done) return; // the sink aborted meanwhile
    this.giveBack(s, frameLen);
    if (flags & Flag.END_STREAM) {
      if (s.expected >= 0 && s.received !== s.expected) { this.streamError(s, 'body shorter than content-length'); return; }
      s.remoteEnded = true;
      s.done = true;
      s.sink.onEnd(undefined);
      this.endOfResponse(s);
    }
  }

  // ---- errors and teardown ----

  /** A malformed response on one stream: reset it, the upstream protocol error goes to the exchange (UPE). */
  private streamError(s: ClientStream, why: string): void {
    this.reset(s, H2Error.PROTOCOL_ERROR);
    s.sink.onError('protocol-error', `HTTP/2 upstream: ${why}`);
  }

  private connectionError(code: number, why: string): void {
    if (this.closed) return;
    this.out.text(goawayFrame(0, code, why.slice(0, 64)));
    this.out.flush();
    this.destroy('protocol-error', `HTTP/2 upstream connection error (${errorName(code)}): ${why}`);
  }

  /** Close gracefully (no streams left on a retired connection, or pool shutdown). */
  close(): void {
    if (this.closed) return;
    if (this.streams.size > 0) { this.retired = true; this.out.text(goawayFrame(0, H2Error.NO_ERROR)); return; }
    this.out.text(goawayFrame(0, H2Error.NO_ERROR));
    this.out.flush();
    this.destroy('reset-before-response', 'connection closed');
  }

  destroy(kind: UpstreamFailure, detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.retired = true;
    this.stopped = true;
    this.clock.clearTimeout(this.connectTimer);
    const left = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of left) s.fail(s.gotHead ? 'reset-after-response' : kind, detail);
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClosed(this);
  }
}

/**
 * Connections per endpoint: a request takes the first that has room (the peer's MAX_CONCURRENT_STREAMS) and opens
 * another when none has; retired ones (GOAWAY) finish their streams and leave.
 */
export class H2ClientPool implements H2UpstreamFactory {
  private readonly conns = new Map<string, ClientConnection[]>();
  /**
   * `plain`: the I/O path for plaintext (h2c) endpoints; `tlsDial`: how to open a TLS connection to an endpoint of a
   * cluster with a TLS transport socket (undefined: plaintext).
   */
  constructor(private readonly clock: Clock, private readonly plain: () => SocketIO, private readonly tlsDial?: (cluster: ClusterState, address: string, port: number) => SocketIO | undefined) {}

  request(cluster: ClusterState, address: string, port: number, req: OutgoingRequest, sink: ResponseSink): UpstreamRequest {
    const tls = this.tlsDial?.(cluster, address, port);
    const key = (tls ? 'tls|' : '') + address + ':' + port;
    let list = this.conns.get(key);
    if (!list) { list = []; this.conns.set(key, list); }
    let c: ClientConnection | undefined;
    for (let i = 0; i < list.length; i++) if (list[i]!.available) { c = list[i]; break; }
    if (!c) {
      const io = tls ?? this.plain();
      const conn: ClientConnection = new ClientConnection(io.dial(address, port), io, this.clock, cluster.config.connectTimeoutMs, (gone) => {
        const l = this.conns.get(key);
        const i = l ? l.indexOf(gone) : -1;
        if (i >= 0) l!.splice(i, 1);
        if (l && l.length === 0) this.conns.delete(key);
      });
      if (tls) {
        // TLS must negotiate h2: anything else cannot carry these frames
        conn.socket.once('connect', () => {
          const alpn = (conn.socket as unknown as { alpnProtocol?: string | false }).alpnProtocol;
          if (alpn !== 'h2') conn.destroy('connect-failure', `upstream TLS did not negotiate h2 (ALPN ${alpn || 'none'})`);
        });
      }
      // Until its own SETTINGS arrive, a new connection assumes the limit another connection to the same peer
      // learned (streams beyond the peer's real limit would be refused).
      for (const o of list) if (o.connected) conn.peerMaxStreams = o.peerMaxStreams;
      list.push(conn);
      c = conn;
    }
    return c.request(req, sink);
  }

  /** The engine is closing: every connection goes now (streams still open fail as resets). */
  close(): void {
    for (const list of this.conns.values()) for (const c of [...list]) c.destroy('reset-before-response', 'proxy shutting down');
    this.conns.clear();
  }

  /** Open connections (for tests and stats). */
  get connectionCount(): number {
    let n = 0;
    for (const l of this.conns.values()) n += l.length;
    return n;
  }
}
