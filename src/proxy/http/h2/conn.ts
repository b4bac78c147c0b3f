// proxy/http/h2: what both HTTP/2 connection roles share — frame dispatch for the connection-level frames (SETTINGS,
// WINDOW_UPDATE, PING, PRIORITY), header blocks assembled from HEADERS + CONTINUATION, padding, and flow control both
// ways: sending a stream's body within the stream and connection windows (queueing the rest), ending it with
// trailers or END_STREAM, and giving received bytes back as window unless the stream is paused.
import type { Socket } from 'node:net';
import type { SocketIO } from '../../io/types.ts';
import { HpackDecoder, HpackEncoder } from './hpack.ts';
import {
  DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Flag, Frame, FrameReader, FrameWriter, H2Error, MAX_WINDOW, Setting,
  frameHead, headersFrames, readU32, rstFrame, settingsFrame, streamId, windowUpdateFrame,
} from './wire.ts';

/** Largest header list accepted from the peer (SETTINGS_MAX_HEADER_LIST_SIZE; Envoy's default is 60 KiB). */
export const MAX_HEADER_LIST = 60 * 1024;
/** A stream's queued body beyond this makes its writer wait for the drain callback. */
const QUEUE_HIGH = 256 * 1024;
export const NOOP = (): void => {};
/** The shared empty queue of streams that never queued (never pushed to: sendData gives a stream its own first). */
const NO_QUEUE: Buffer[] = [];

/**
 * Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2), and `host` (`:authority` carries it); `te` is allowed
 * only as "trailers", which callers handle. A switch, not a Set: header names are fresh strings, hashing one costs more.
 */
export function forbidden(n: string): boolean {
  switch (n) {
    case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade': case 'host': case 'te':
      return true;
    default:
      return false;
  }
}

/** The flow-control state every stream has, whichever side opened it. */
export class FlowStream {
  /** Our send window for this stream (the peer's initial window, moved by its WINDOW_UPDATEs and SETTINGS). */
  sendWindow: number;
  /** Body waiting for window: copies (callers' buffers are reused). Most streams never queue: no array until one does. */
  queue: Buffer[] = NO_QUEUE;
  queued = 0;
  /** Trailers (null: a plain END_STREAM) to send once the queue is empty; undefined: not ended yet. */
  pendingEnd: string[] | null | undefined = undefined;
  localEnded = false;
  remoteEnded = false;
  /** Finished for its owner (reset, failed or complete): no more window given back. */
  closed = false;
  /** Received bytes not yet given back as window (held while paused). */
  unacked = 0;
  paused = false;
  drainCb: () => void = NOOP;
  needDrain = false;
  constructor(readonly id: number, window: number) { this.sendWindow = window; }

  /** Called once the stream accepts body bytes again after a write returned false. */
  onDrain(cb: () => void): void { this.drainCb = cb; }

  /** Stop holding back received bytes; true when it was paused (the caller then gives back what it held). */
  protected unpause(): boolean {
    if (!this.paused) return false;
    this.paused = false;
    return true;
  }
}

export abstract class H2Connection<S extends FlowStream> {
  readonly streams = new Map<number, S>();
  protected readonly reader = new FrameReader(DEFAULT_MAX_FRAME);
  protected readonly out: FrameWriter;
  protected readonly enc = new HpackEncoder();
  protected readonly dec = new HpackDecoder();
  /** Scratch for decoded header blocks. */
  protected readonly fields: string[] = [];
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected peerMaxFrame = DEFAULT_MAX_FRAME;
  /** Connection-level send window, and received bytes not yet given back. */
  private sendWindow = DEFAULT_WINDOW;
  private connUnacked = 0;
  /** Streams waiting for connection window. */
  private readonly blocked = new Set<S>();
  private settingsSeen = false;
  /** A header block in progress: its stream, END_STREAM on its HEADERS, and its bytes so far. */
  private hdrStream = 0;
  private hdrEnd = false;
  private hdrBuf: Buffer[] = [];
  /** No more frames are processed (connection error or teardown). */
  protected stopped = false;
  /** The reader's check between frames (one closure per connection, not per read). */
  private readonly isStopped = (): boolean => this.stopped;

  constructor(protected readonly io: SocketIO, readonly socket: Socket, private readonly streamWindow: number, private readonly connectionWindow: number) {
    this.out = new FrameWriter(io, socket);
  }

  /** Our SETTINGS (plus the extra ones a role adds) and the connection window raise: the first frames either side sends. */
  protected initialFrames(extra: ReadonlyArray<readonly [number, number]>): string {
    return settingsFrame([...extra, [Setting.INITIAL_WINDOW_SIZE, this.streamWindow], [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST]])
      + windowUpdateFrame(0, this.connectionWindow - DEFAULT_WINDOW);
  }

  // ---- role hooks ----
  protected abstract connectionError(code: number, why: string): void;
  /** A complete header block for stream `id` (HPACK not yet decoded). */
  protected abstract headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void;
  /** A DATA frame's payload (padding removed); `frameLen` counts against flow control. */
  protected abstract onData(flags: number, id: number, buf: Buffer, start: number, end: number, frameLen: number): void;
  /** RST_STREAM, GOAWAY, PUSH_PROMISE. */
  protected abstract otherFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void;
  /** A stream-level error on a live stream (reset it and tell its owner). */
  protected abstract streamError(s: S, code: number, why: string): void;
  /** Neither side has opened stream `id` yet. */
  protected abstract isIdle(id: number): boolean;
  /** The stream sent its end (both ends may now be done). */
  protected abstract localEnd(s: S): void;
  /** A peer setting beyond the common ones (MAX_CONCURRENT_STREAMS for a client). */
  protected onPeerSetting(_key: number, _value: number): void {}
  /** The peer's SETTINGS were applied (and acknowledged). */
  protected afterPeerSettings(): void {}
  /** Frames queued before a stream's first body bytes (the server's held response head). */
  protected beforeData(_s: S): void {}

  // ---- receiving ----

  /** Process received bytes as frames; everything they set off leaves in one write at the end. */
  protected readFrames(b: Buffer, s: number, e: number): void {
    this.out.inRead = true;
    try {
      const err = this.reader.push(b, s, e, this.onFrame, this.isStopped);
      if (err !== undefined) this.connectionError(H2Error.FRAME_SIZE_ERROR, err);
    } finally {
      this.out.inRead = false;
      this.out.flush();
    }
  }

  private readonly onFrame = (type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void => {
    // Each side's first frame is its SETTINGS (RFC 9113 3.4).
    if (!this.settingsSeen && type !== Frame.SETTINGS) { this.connectionError(H2Error.PROTOCOL_ERROR, 'first frame is not SETTINGS'); return; }
    if (this.hdrStream !== 0 && type !== Frame.CONTINUATION) { this.connectionError(H2Error.PROTOCOL_ERROR, 'frame interleaved in a header block'); return; }
    switch (type) {
      case Frame.DATA: {
        if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0'); return; }
        if (!this.unpad(flags, buf, start, end)) return;
        this.onData(flags, id, buf, this.payStart, this.payEnd, end - start);
        return;
      }
      case Frame.HEADERS: {
        if (id === 0 || (id & 1) === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0 or an even stream'); return; }
        if (!this.unpad(flags, buf, start, end)) return;
        let s0 = this.payStart;
        const e0 = this.payEnd;
        if (flags & Flag.PRIORITY) {
          if (e0 - s0 < 5) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority'); return; }
          if (streamId(buf, s0) === id) { this.resetId(id, H2Error.PROTOCOL_ERROR); return; } // depends on itself
          s0 += 5;
        }
        this.hdrEnd = (flags & Flag.END_STREAM) !== 0;
        if (flags & Flag.END_HEADERS) { this.headerBlock(id, this.hdrEnd, buf, s0, e0); return; }
        this.hdrStream = id;
        this.hdrBuf = [Buffer.from(buf.subarray(s0, e0))];
        return;
      }
      case Frame.CONTINUATION: {
        if (id === 0 || id !== this.hdrStream) { this.connectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without HEADERS'); return; }
        this.hdrBuf.push(Buffer.from(buf.subarray(start, end)));
        if (this.hdrBuf.reduce((n, x) => n + x.length, 0) > 4 * MAX_HEADER_LIST) { this.connectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large'); return; }
        if (flags & Flag.END_HEADERS) {
          const block = Buffer.concat(this.hdrBuf);
          this.hdrBuf = [];
          this.hdrStream = 0;
          this.headerBlock(id, this.hdrEnd, block, 0, block.length);
        }
        return;
      }
      case Frame.SETTINGS: this.onSettings(flags, id, buf, start, end); return;
      case Frame.WINDOW_UPDATE: this.onWindowUpdate(id, buf, start, end); return;
      case Frame.PING:
        if (id !== 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream'); return; }
        if (end - start !== 8) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'PING of the wrong size'); return; }
        if (!(flags & Flag.ACK)) this.out.text(frameHead(8, Frame.PING, Flag.ACK, 0) + buf.toString('latin1', start, end));
        return;
      case Frame.PRIORITY:
        if (id === 0) { this.connectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0'); return; }
        if (end - start !== 5) this.resetId(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case Frame.RST_STREAM: case Frame.GOAWAY: case Frame.PUSH_PROMISE:
        this.otherFrame(type, flags, id, buf, start, end);
        return;
      default: return; // unknown frame types are ignored (RFC 9113 4.1)
    }
  };

  /** Payload bounds after unpad(). */
  private payStart = 0;
  private payEnd = 0;
  /** Remove a PADDED frame's padding into payStart/payEnd; false after a connection error. */
  private unpad(flags: number, buf: Buffer, start: number, end: number): boolean {
    if (!(flags & Flag.PADDED)) { this.payStart = start; this.payEnd = end; return true; }
    if (end - start < 1) { this.connectionError(H2Error.FRAME_SIZE_ERROR, 'frame too short for its padding'); return false; }
    const pad = buf[start]!;
    if (pad > end - start - 1) { this.connectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame'); return false; }
    this.payStart = start + 1;
    this.payEnd = end - pad;
    return true;
  }

  /** Reset stream `id` whether or not it is live. */
  protected resetId(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s) this.streamError(s, code, 'stream error');
    else this.out.text(rstFrame(id, code));
  }

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
        default: this.onPeerSetting(key, v);
      }
    }
    this.out.text(settingsFrame([], true));
    this.afterPeerSettings();
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
    if (this.isIdle(id)) { this.connectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream'); return; }
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0'); return; }
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) { this.streamError(s, H2Error.FLOW_CONTROL_ERROR, 'stream window overflow'); return; }
    this.flushStream(s);
  }

  /** Received bytes go back as window: the connection's always, the stream's unless it is paused (or done). */
  giveBack(s: S | undefined, n: number): void {
    this.connUnacked += n;
    if (this.connUnacked >= this.connectionWindow / 2) { this.out.text(windowUpdateFrame(0, this.connUnacked)); this.connUnacked = 0; }
    if (s === undefined || s.closed || s.remoteEnded) return;
    s.unacked += n;
    if (s.paused) return;
    if (s.unacked >= this.streamWindow / 2 || (n === 0 && s.unacked > 0)) { this.out.text(windowUpdateFrame(s.id, s.unacked)); s.unacked = 0; }
  }

  /** Whether a DATA frame of `frameLen` bytes stays within what we allowed the stream. */
  protected withinWindow(s: S, frameLen: number): boolean { return s.unacked + frameLen <= this.streamWindow; }

  /** The streams waiting for the connection window no longer include `s`. */
  protected forget(s: S): void { this.streams.delete(s.id); this.blocked.delete(s); }

  // ---- sending ----

  /** Send body bytes as far as the windows allow, queue the rest; false: the writer should wait for its drain callback. */
  sendData(s: S, buf: Buffer, start: number, end: number): boolean {
    this.beforeData(s);
    let n = end - start;
    if (s.queue.length === 0 && n > 0) {
      const can = Math.min(n, s.sendWindow, this.sendWindow);
      let at = start;
      while (at < start + can) {
        const len = Math.min(this.peerMaxFrame, start + can - at);
        this.out.data(s.id, buf, at, at + len);
        at += len;
      }
      s.sendWindow -= can;
      this.sendWindow -= can;
      start += can;
      n -= can;
    }
    if (n > 0) {
      if (s.queue === NO_QUEUE) s.queue = [];
      s.queue.push(Buffer.from(buf.subarray(start, end)));
      s.queued += n;
      if (this.sendWindow <= 0) this.blocked.add(s);
    }
    if (s.queued > QUEUE_HIGH || this.out.congested || this.socket.writableLength > QUEUE_HIGH) { s.needDrain = true; return false; }
    return true;
  }

  /** Send what a stream has queued as far as the windows allow, then its end once nothing is queued. */
  flushStream(s: S): void {
    while (s.queue.length && s.sendWindow > 0 && this.sendWindow > 0) {
      const b = s.queue[0]!;
      const can = Math.min(b.length, s.sendWindow, this.sendWindow, this.peerMaxFrame);
      this.out.data(s.id, b, 0, can);
      if (can === b.length) s.queue.shift();
      else s.queue[0] = b.subarray(can);
      s.queued -= can;
      s.sendWindow -= can;
      this.sendWindow -= can;
    }
    if (s.queue.length && this.sendWindow <= 0) this.blocked.add(s);
    if (s.queue.length === 0 && s.pendingEnd !== undefined && !s.localEnded) {
      s.localEnded = true;
      this.writeEnd(s, s.pendingEnd);
      this.localEnd(s);
    }
    if (s.needDrain && s.queued <= QUEUE_HIGH / 2 && !this.out.congested && this.socket.writableLength <= QUEUE_HIGH) {
      s.needDrain = false;
      const f = s.drainCb;
      s.drainCb = NOOP;
      f();
    }
  }

  /** A stream's end: trailers as a HEADERS frame, else END_STREAM on its last queued DATA frame or an empty one. */
  protected writeEnd(s: S, trailers: string[] | null): void {
    if (trailers !== null) this.out.text(headersFrames(s.id, this.enc.encodeLatin1(undefined, trailers), true, this.peerMaxFrame));
    else if (!this.out.endStreamOnLastData(s.id)) this.out.text(frameHead(0, Frame.DATA, Flag.END_STREAM, s.id));
  }

  /** The socket drained: streams that were told to wait may go on. */
  protected onSocketDrain(): void {
    this.out.congested = false;
    for (const s of this.streams.values()) if (s.needDrain) this.flushStream(s);
  }
}
