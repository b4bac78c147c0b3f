// proxy/http/h2: HTTP/2 framing (RFC 9113 section 4, 6) — frame and error constants, frame headers built as latin1
// text (so frames join a body in one coalesced write), a reader that splits a byte stream into frames without copying
// whole frames, and the batching writer both connection roles use.
import type { Socket } from 'node:net';
import type { SocketIO } from '../../io/types.ts';

export const enum Frame { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9 }
export const enum Flag { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY = 0x20 }
export const enum H2Error {
  NO_ERROR = 0, PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, FLOW_CONTROL_ERROR = 3, SETTINGS_TIMEOUT = 4, STREAM_CLOSED = 5,
  FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9, CONNECT_ERROR = 10, ENHANCE_YOUR_CALM = 11,
  INADEQUATE_SECURITY = 12, HTTP_1_1_REQUIRED = 13,
}
export const enum Setting { HEADER_TABLE_SIZE = 1, ENABLE_PUSH = 2, MAX_CONCURRENT_STREAMS = 3, INITIAL_WINDOW_SIZE = 4, MAX_FRAME_SIZE = 5, MAX_HEADER_LIST_SIZE = 6 }

const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
/** An error code's RFC name (for logs and failure details). */
export function errorName(code: number): string { return ERROR_NAMES[code] ?? `0x${code.toString(16)}`; }

export const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;

const ch = String.fromCharCode;
/** A 32-bit big-endian integer as 4 latin1 characters. */
export function u32(v: number): string { return ch((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff); }

/** The 9-byte frame header as latin1 text. */
export function frameHead(length: number, type: number, flags: number, stream: number): string {
  return ch((length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type, flags) + u32(stream);
}

/** A SETTINGS frame with the given [id, value] pairs (empty: an ACK when `ack`). */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>, ack = false): string {
  let body = '';
  for (const [id, v] of pairs) body += ch(id >> 8, id & 0xff) + u32(v);
  return frameHead(body.length, Frame.SETTINGS, ack ? Flag.ACK : 0, 0) + body;
}
export const windowUpdateFrame = (stream: number, increment: number): string => frameHead(4, Frame.WINDOW_UPDATE, 0, stream) + u32(increment);
export const rstFrame = (stream: number, code: number): string => frameHead(4, Frame.RST_STREAM, 0, stream) + u32(code);
export const goawayFrame = (lastStream: number, code: number, debug = ''): string => frameHead(8 + debug.length, Frame.GOAWAY, 0, 0) + u32(lastStream) + u32(code) + debug;

/**
 * A header block as HEADERS (+ CONTINUATION frames when it is larger than the peer's frame size), latin1 text.
 * `block` is HPACK output as latin1 characters.
 */
export function headersFrames(stream: number, block: string, endStream: boolean, maxFrame: number): string {
  const es = endStream ? Flag.END_STREAM : 0;
  if (block.length <= maxFrame) return frameHead(block.length, Frame.HEADERS, es | Flag.END_HEADERS, stream) + block;
  let out = frameHead(maxFrame, Frame.HEADERS, es, stream) + block.slice(0, maxFrame);
  for (let at = maxFrame; at < block.length; at += maxFrame) {
    const part = block.slice(at, at + maxFrame);
    out += frameHead(part.length, Frame.CONTINUATION, at + maxFrame >= block.length ? Flag.END_HEADERS : 0, stream) + part;
  }
  return out;
}

/** Receives one complete frame: its payload is buf[start, end), valid only during the call. */
export type FrameHandler = (type: number, flags: number, stream: number, buf: Buffer, start: number, end: number) => void;

/**
 * Splits received bytes into frames. Frames wholly inside one read are handed over in place; only a frame cut by a
 * read boundary is copied (read buffers are reused). `maxFrame`: our SETTINGS_MAX_FRAME_SIZE — a larger frame is a
 * FRAME_SIZE_ERROR (returned, not thrown).
 */
export class FrameReader {
  private pending: Buffer | undefined;
  private pendingLen = 0;
  constructor(public maxFrame = DEFAULT_MAX_FRAME) {}

  /** Feed buf[start, end); returns an error text when the stream of frames is malformed (connection error). */
  push(buf: Buffer, start: number, end: number, onFrame: FrameHandler, stopped: () => boolean): string | undefined {
    if (this.pending !== undefined) {
      // Complete the cut frame first: append until its header and payload are whole.
      const need = this.need();
      const take = Math.min(end - start, Math.max(need, 9) - this.pendingLen);
      this.append(buf, start, start + take);
      start += take;
      const total = this.need();
      if (this.pendingLen < 9 || this.pendingLen < total) return start < end ? this.push(buf, start, end, onFrame, stopped) : undefined;
      const p = this.pending;
      this.pending = undefined;
      this.pendingLen = 0;
      const err = this.check(p, 0);
      if (err) return err;
      onFrame(p[3]!, p[4]!, streamId(p, 5), p, 9, total);
      if (stopped()) return undefined;
    }
    while (end - start >= 9) {
      const len = (buf[start]! << 16) | (buf[start + 1]! << 8) | buf[start + 2]!;
      const err = this.check(buf, start);
      if (err) return err;
      if (end - start < 9 + len) break;
      onFrame(buf[start + 3]!, buf[start + 4]!, streamId(buf, start + 5), buf, start + 9, start + 9 + len);
      if (stopped()) return undefined;
      start += 9 + len;
    }
    if (start < end) this.append(buf, start, end);
    return undefined;
  }

  private check(b: Buffer, at: number): string | undefined {
    const len = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
    return len > this.maxFrame ? `frame of ${len} bytes exceeds the maximum frame size ${this.maxFrame}` : undefined;
  }

  /** Bytes the pending frame needs in all (header + payload), once its header is in. */
  private need(): number {
    const p = this.pending!;
    if (this.pendingLen < 9) return 9;
    return 9 + ((p[0]! << 16) | (p[1]! << 8) | p[2]!);
  }

  private append(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.pending === undefined) { this.pending = Buffer.allocUnsafe(Math.max(n, 9 + 16)); this.pendingLen = 0; }
    const want = this.pendingLen + n;
    if (want > this.pending.length) {
      const total = this.pendingLen >= 9 ? this.need() : want;
      const grown = Buffer.allocUnsafe(Math.max(want, total));
      this.pending.copy(grown, 0, 0, this.pendingLen);
      this.pending = grown;
    }
    buf.copy(this.pending, this.pendingLen, start, end);
    this.pendingLen = want;
  }
}

export function streamId(b: Buffer, at: number): number {
  return ((b[at]! & 0x7f) * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}
export function readU32(b: Buffer, at: number): number {
  return (b[at]! * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** A settled promise: its reactions are FrameWriter's flush microtasks. */
const RESOLVED = Promise.resolve();

/**
 * Batches a connection's outgoing frames into as few socket writes as possible: frames are latin1 text; one body
 * slice at a time rides between them (frames before it, frames after it), so a HEADERS + DATA pair with its body is
 * one write. Everything queued is written at flush(), which callers run at the end of a read (all frames a read set
 * off) or from a microtask (frames queued from outside a read).
 */
export class FrameWriter {
  private before = '';
  /** The pending DATA frame's payload (its header is made at flush, so END_STREAM can still be set on it). */
  private body: Buffer | undefined;
  private bodyStart = 0;
  private bodyEnd = 0;
  private bodyStream = 0;
  private bodyFlags = 0;
  private after = '';
  private scheduled = false;
  /** Set while the owner processes a read: flush happens at its end, not from a microtask. */
  inRead = false;
  constructor(private readonly io: SocketIO, private readonly socket: Socket) {}

  /** Queue frames (latin1). */
  text(s: string): void {
    if (this.body === undefined) this.before += s;
    else this.after += s;
    this.schedule();
  }

  /** Queue a DATA frame of `stream` (no flags yet) carrying buf[start, end), after the frames queued so far. */
  data(stream: number, buf: Buffer, start: number, end: number): void {
    if (this.body !== undefined) this.flush();
    this.body = buf;
    this.bodyStart = start;
    this.bodyEnd = end;
    this.bodyStream = stream;
    this.bodyFlags = 0;
    this.schedule();
  }

  /**
   * Set END_STREAM on the last queued frame when it is the pending DATA frame of `stream` (a response whose end comes
   * in the same turn as its last bytes: no separate empty DATA frame). False: not possible.
   */
  endStreamOnLastData(stream: number): boolean {
    if (this.body === undefined || this.after !== '' || this.bodyStream !== stream) return false;
    this.bodyFlags |= Flag.END_STREAM;
    return true;
  }

  /**
   * The last write asked to wait for the socket's 'drain' (a slow reader): streams stop accepting body bytes until
   * it comes (the owner clears this on 'drain'). Flow-control windows alone would let a client that advertises a huge
   * window and reads nothing fill the proxy's memory.
   */
  congested = false;

  /** Write what is queued; false when the socket asks to wait for 'drain'. */
  flush(): boolean {
    const body = this.body, after = this.after;
    if (this.before === '' && body === undefined) return true;
    const before = body === undefined ? this.before : this.before + frameHead(this.bodyEnd - this.bodyStart, Frame.DATA, this.bodyFlags, this.bodyStream);
    this.before = '';
    this.after = '';
    this.body = undefined;
    if (this.socket.destroyed) return false;
    const ok = body === undefined ? this.io.writeParts(this.socket, before) : this.io.writeParts(this.socket, before, body, this.bodyStart, this.bodyEnd, after);
    if (!ok) this.congested = true;
    return ok;
  }

  private schedule(): void {
    if (this.scheduled || this.inRead) return;
    this.scheduled = true;
    // A reaction on a settled promise, not queueMicrotask: that one makes an AsyncResource and a bound function per
    // call and runs it in an async scope (~200 bytes per response here, by bench/proxy/alloc-profile.ts).
    void RESOLVED.then(this.flushScheduled);
  }

  /** The microtask schedule() queues (one closure per writer, not per schedule). */
  private readonly flushScheduled = (): void => { this.scheduled = false; this.flush(); };
}
