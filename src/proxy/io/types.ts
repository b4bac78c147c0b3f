// proxy/io: the socket I/O interface the HTTP/1.1 and TCP paths use, so a fast path can replace stream events.
import type { Server, Socket } from 'node:net';

/** Receives bytes buf[start, end). The bytes are valid only during the call: copy what you keep. */
export type Reader = (buf: Buffer, start: number, end: number) => void;

export interface SocketIO {
  readonly mode: 'internal' | 'documented';
  /** Hand every connection the (listening) server accepts to `onSocket`, set up for this I/O path. */
  adoptServer(server: Server, onSocket: (s: Socket) => void): void;
  /** Open a client connection set up for this I/O path. */
  dial(host: string, port: number): Socket;
  /** Deliver received bytes to `reader` (replaces any previous reader). EOF/close arrive as socket events. */
  read(socket: Socket, reader: Reader): void;
  /** Write buf[start, end) — which may be a slice of a read buffer. False: wait for the socket's 'drain'. */
  write(socket: Socket, buf: Buffer, start: number, end: number): boolean;
  /** Write a latin1 head, optional body slice and latin1 tail, as one write when small. */
  writeParts(socket: Socket, head: string, buf?: Buffer, start?: number, end?: number, tail?: string): boolean;
}

/** Up to this many bytes, head + body + tail are copied into one buffer and written once. */
export const COALESCE_LIMIT = 32 * 1024;

/**
 * One reusable scratch buffer for coalesced writes. Allocating a fresh >4 KB buffer per response creates
 * external memory that only major GCs reclaim (they dominated the 16 KB benchmark); a write that keeps
 * referencing the scratch (it did not finish synchronously) retires it via `retainScratch`.
 */
let scratch = Buffer.allocUnsafe(2 * COALESCE_LIMIT);
/** The scratch's memory, read once per scratch (`.buffer` is a C++ builtin call on every read). */
let scratchMemory: ArrayBufferLike = scratch.buffer;
let scratchOffset = scratch.byteOffset;

type Latin1Writer = Buffer & { latin1Write(s: string, offset: number): number };

/** The last coalesced buffer is still referenced by a pending write: never reuse its memory. */
export function retainScratch(b: Uint8Array): void {
  if (b.buffer !== scratchMemory) return;
  scratch = Buffer.allocUnsafe(2 * COALESCE_LIMIT);
  scratchMemory = scratch.buffer;
  scratchOffset = scratch.byteOffset;
  view = undefined;
}

/** Copies src[start, start + n) to dst at `at`. */
export type ByteCopy = (src: Buffer, dst: Buffer, at: number, start: number, n: number) => void;

/** Buffer#copy (documented; builds a Uint8Array view of the source range per call). */
export const bufferCopy: ByteCopy = (src, dst, at, start, n) => { src.copy(dst, at, start, start + n); };

/**
 * Copies head, body slice and tail into the scratch, or, when they do not fit, a fresh buffer; returns which.
 * The head goes in with Buffer#latin1Write (Buffer#write first dispatches on the encoding in JS).
 */
function fill(head: string, buf: Buffer | undefined, start: number, n: number, tail: string, copy: ByteCopy): Buffer {
  const total = head.length + n + tail.length;
  // Writes run no JS synchronously (completion callbacks are deferred), so the scratch is free again here.
  const out = (total <= scratch.length ? scratch : Buffer.allocUnsafe(total)) as Latin1Writer;
  if (head.length) out.latin1Write(head, 0);
  if (n) copy(buf!, out, head.length, start, n);
  if (tail.length) out.latin1Write(tail, head.length + n);
  return out;
}

/**
 * Build one buffer from a latin1 head, a body slice and a latin1 tail. The result may be a view of the
 * shared scratch: write it at once and call retainScratch(result) if the write did not complete.
 */
export function coalesce(head: string, buf: Buffer | undefined, start: number, end: number, tail: string): Buffer {
  const n = buf ? end - start : 0;
  const out = fill(head, buf, start, n, tail, bufferCopy);
  return out === scratch ? scratch.subarray(0, head.length + n + tail.length) : out;
}

/** The last view coalesceBytes made of the scratch (reused while the scratch and the length are the same). */
let view: Uint8Array | undefined;

/**
 * coalesce() as a plain Uint8Array, for writes straight to a socket handle (which takes any byte view). Buffer's
 * subarray constructs through its species (a Uint8Array subclass: species lookup, derived constructor), ~4x the
 * cost of `new Uint8Array` on the same memory; stream writes would convert a non-Buffer back, so the stream paths
 * keep coalesce(). Messages of the length of the previous one (same-sized responses) reuse its view. `copy`: the
 * body copier (the internal path passes a faster one).
 */
export function coalesceBytes(head: string, buf: Buffer | undefined, start: number, end: number, tail: string, copy: ByteCopy = bufferCopy): Uint8Array {
  const n = buf ? end - start : 0;
  const out = fill(head, buf, start, n, tail, copy);
  if (out !== scratch) return out;
  const total = head.length + n + tail.length;
  if (view === undefined || view.length !== total) view = new Uint8Array(scratchMemory, scratchOffset, total);
  return view;
}

/**
 * One direction of a relay: bytes read from `from` (through `ioFrom`) are written to `to` (through `ioTo`), with
 * back-pressure; `from` ending or closing ends / closes `to`. The two directions may start at different times
 * (tcp_proxy's metadata exchange) and use different I/O paths (plain downstream, TLS upstream).
 */
export function pipe(ioFrom: SocketIO, from: import('node:net').Socket, ioTo: SocketIO, to: import('node:net').Socket, onActivity?: () => void): void {
  ioFrom.read(from, (buf, s, e) => {
    onActivity?.();
    if (!ioTo.write(to, buf, s, e)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
  from.on('close', () => { if (!to.destroyed) to.destroy(); });
  from.on('error', () => to.destroy());
  from.resume();
}

/**
 * Relay bytes both ways between two sockets through `io` (tcp_proxy, upgraded tunnels), with back-pressure;
 * either side ending or closing ends / closes the other.
 */
export function relay(io: SocketIO, a: import('node:net').Socket, b: import('node:net').Socket, onActivity?: () => void): void {
  pipe(io, a, io, b, onActivity);
  pipe(io, b, io, a, onActivity);
}
