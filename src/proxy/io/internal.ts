// proxy/io: the fast path on Node internals — accepted and dialled sockets read into per-socket preallocated
// buffers (net's `onread`, reached for accepted sockets through the server handle's onconnection, and given to TLS
// sockets that wrap accepted ones by adoptReads), and writes go straight to the socket handle (WriteWrap), skipping
// the stream layers. Everything internal is in this file; probe() checks the pieces exist and work at start-up, else
// the documented path is used.
//
// Buffer safety: a read buffer is reused for the socket's next read. If a write of a slice of it cannot finish
// synchronously, libuv keeps pointing at those bytes, so the buffer is marked locked and the socket gets a fresh
// one for its next read (the onread buffer generator runs after every read).
import { connect, Socket, type Server } from 'node:net';
import { beginTurn, endTurn } from '../../common/clock.ts';
import { COALESCE_LIMIT, bufferCopy, coalesceBytes, retainScratch, type ByteCopy, type Reader, type SocketIO } from './types.ts';

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}
interface WriteReq { handle: unknown; oncomplete: (status: number) => void; async: boolean; bytes: number; buffer: unknown; socket?: Socket }
interface StreamHandle {
  writeBuffer(req: WriteReq, b: Uint8Array): number;
  writeLatin1String(req: WriteReq, s: string): number;
  onconnection?: (err: number, handle: unknown) => void;
}

const READ_BUFFER_SIZE = 16 * 1024;
/**
 * A socket whose read fills its buffer gets one twice the size for its next reads, up to this. A 16 KB body with its
 * head (16.5 KB) otherwise arrives in two reads and leaves in two writes, every response (one more syscall each way,
 * a 153-byte segment on the wire); sockets that never fill their buffer keep 16 KB.
 */
const MAX_READ_BUFFER_SIZE = 64 * 1024;
const READS = Symbol('rig.reads');
const PENDING = Symbol('rig.pendingWrites');
type FastSocket = Socket & { [READS]?: ReadState; [PENDING]?: number; _handle?: StreamHandle | null };

/**
 * A socket's reader, held by its onread callback (no lookup on the socket per read). `held`: bytes that arrived
 * before any reader was set, kept (copied) for the first one — an adopted TLS socket can decrypt application data
 * in the same native call that finished the handshake, before its owner's promise continuation sets the reader.
 */
interface ReadState { reader: Reader | undefined; held?: Buffer[] }

/** Lock marks on read buffers, keyed by their memory. */
const locked = new WeakSet<ArrayBufferLike>();
/** Bumped on every lock: a read buffer is looked up in `locked` only when something was locked since its last check. */
let locks = 0;
function lock(memory: ArrayBufferLike): void { locked.add(memory); locks++; }

/**
 * How many sockets have an asynchronous direct write in flight. While none has, direct() skips reading the
 * socket's own count (a megamorphic symbol load: sockets come in many shapes).
 */
let pendingSockets = 0;

function binding(): StreamWrapBinding {
  // process.binding is deprecated (DEP0111) but still provides stream_wrap on Node 20; probe() verifies it.
  return (process as unknown as { binding(n: string): StreamWrapBinding }).binding('stream_wrap');
}

let sw: StreamWrapBinding | undefined;
/** A request object of a finished synchronous write, free for the next one. */
let spare: WriteReq | undefined;

function onDirectComplete(this: WriteReq, status: number): void {
  const s = this.socket as FastSocket;
  this.buffer = null;
  const left = (s[PENDING] ?? 1) - 1;
  s[PENDING] = left;
  if (left === 0) pendingSockets--; // also for a failed write: the count gates every socket's check in direct()
  if (status < 0) { s.destroy(new Error(`write failed (${status})`)); return; }
  if (left === 0) s.emit('drain');
}

/** Write on the handle. undefined: not possible now (fall back to socket.write); else whether it finished. */
function direct(socket: FastSocket, data: Uint8Array | string): boolean | undefined {
  const h = socket._handle;
  if (!h || !sw || socket.destroyed || socket.connecting || socket.writableLength > 0 || socket.writableCorked || socket.writableEnded || (pendingSockets > 0 && (socket[PENDING] ?? 0) > 0)) return undefined;
  // A write that completes synchronously never binds its request object to a native WriteWrap (libuv's try-write
  // took all bytes), so that object is reused for the next write; an async one keeps its own.
  const req = spare ?? new sw.WriteWrap();
  spare = undefined;
  req.handle = h;
  req.oncomplete = onDirectComplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  const err = typeof data === 'string' ? h.writeLatin1String(req, data) : h.writeBuffer(req, data);
  if (err !== 0) { socket.destroy(new Error(`write failed (${err})`)); return true; }
  if (sw.streamBaseState[sw.kLastWriteWasAsync]) {
    req.buffer = data; // keep the memory alive until libuv is done with it
    req.socket = socket;
    const was = socket[PENDING] ?? 0;
    if (was === 0) pendingSockets++;
    socket[PENDING] = was + 1;
    return false;
  }
  req.handle = null;
  spare = req;
  return true;
}

/** net's onread option for one socket: its read buffer generator and callback, delivering to the reader in `state`. */
export function readerFor(state: ReadState): { buffer: () => Buffer; callback: (n: number, b: Buffer) => boolean } {
  let cur = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  let seen = locks;
  let grow = false;
  return {
    buffer: () => {
      if (grow) {
        // The old buffer is not reused: what still refers to it (a locked write) keeps it alive.
        grow = false;
        cur = Buffer.allocUnsafe(cur.length * 2);
      } else if (seen !== locks) {
        seen = locks;
        if (locked.has(cur.buffer)) cur = Buffer.allocUnsafe(cur.length);
      }
      return cur;
    },
    callback: (n: number, b: Buffer) => {
      if (n === b.length && b === cur && n < MAX_READ_BUFFER_SIZE) grow = true;
      const r = state.reader;
      if (r) {
        // One clock reading serves everything this read sets off (src/common/clock.ts).
        beginTurn();
        try { r(b, 0, n); } finally { endTurn(); }
      } else if (state.held !== undefined) {
        // keep it for the first reader, and stop reading until one comes (false: net stops the handle's reads)
        state.held.push(Buffer.from(b.subarray(0, n)));
        return false;
      }
      return true;
    },
  };
}

/** net's own property keys for a socket's onread state (kBuffer, kBufferCb, kBufferGen), found by probe(). */
let onreadKeys: { buf: symbol; cb: symbol; gen: symbol } | undefined;

function probeOnread(): typeof onreadKeys {
  const s = new Socket({ onread: { buffer: () => Buffer.alloc(1), callback: () => true } } as unknown as ConstructorParameters<typeof Socket>[0]);
  const by = new Map(Object.getOwnPropertySymbols(s).map((k) => [k.description, k] as const));
  const buf = by.get('kBuffer'), cb = by.get('kBufferCb'), gen = by.get('kBufferGen');
  const o = s as unknown as Record<symbol, unknown>;
  s.destroy();
  if (!buf || !cb || !gen || o[buf] !== true || typeof o[cb] !== 'function' || typeof o[gen] !== 'function') return undefined;
  return { buf, cb, gen };
}

/**
 * Reads for a TLS socket whose first bytes may come before its owner sets a reader (TLSWrap decrypts application data
 * in the same native call that completes the handshake): `onread` for a socket still to be made (tls.connect dials
 * its own TCP socket), and `attach` to call on the socket once made. Bytes that arrive before read() sets a reader
 * are held for it, and reading waits until it comes.
 */
export function heldReads(): { onread: ReturnType<typeof readerFor>; attach(socket: Socket): void } {
  const reads: ReadState = { reader: undefined, held: [] };
  return { onread: readerFor(reads), attach: (socket) => { (socket as FastSocket)[READS] = reads; } };
}

/**
 * Give an existing socket the reads an `onread` socket has (decrypted bytes into reused per-socket buffers, handed
 * to the reader read() sets; no Buffer and no 'data' event per read), with heldReads' holding. For TLS sockets
 * wrapping an accepted TCP socket: `new TLSSocket(socket, { onread })` ignores onread, so this does what net does
 * with it at construction — the three properties and the handle's useUserBuffer. Call it synchronously after
 * construction (before any read is delivered). False (the socket keeps the stream API): this Node lacks the pieces,
 * or the socket has no handle.
 */
export function adoptReads(socket: Socket): boolean {
  const k = onreadKeys;
  const h = (socket as unknown as { _handle?: { useUserBuffer?(b: Uint8Array): void } | null })._handle;
  if (!k || !h || typeof h.useUserBuffer !== 'function') return false;
  const { onread, attach } = heldReads();
  const first = onread.buffer();
  const o = socket as unknown as Record<symbol, unknown>;
  o[k.buf] = first;
  o[k.gen] = onread.buffer;
  o[k.cb] = onread.callback;
  h.useUserBuffer(first);
  attach(socket);
  return true;
}

/**
 * Hand what was held to the reader just set, from a microtask (read() is often called from a constructor that is
 * not finished yet; no read can come between: I/O callbacks run after microtasks), then read on unless the reader
 * paused the socket. Holding ends with the first reader.
 */
function deliverHeld(socket: Socket, reads: ReadState): void {
  const held = reads.held!;
  reads.held = undefined;
  if (held.length === 0) return;
  queueMicrotask(() => {
    for (const b of held) {
      const r = reads.reader;
      if (!r || socket.destroyed) return;
      beginTurn();
      try { r(b, 0, b.length); } finally { endTurn(); }
    }
    if (!socket.destroyed && !socket.isPaused()) socket.resume();
  });
}

function write(socket: Socket, buf: Buffer, start: number, end: number): boolean {
  const s = socket as FastSocket;
  const slice = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  const r = direct(s, slice);
  if (r === true) return true;
  if (r === false) { lock(buf.buffer); return false; }
  const ok = socket.write(slice);
  if (socket.writableLength > 0) lock(buf.buffer);
  return ok;
}

export const internalIO: SocketIO = {
  mode: 'internal',
  adoptServer(server: Server, onSocket: (s: Socket) => void): void {
    const h = (server as unknown as { _handle?: StreamHandle })._handle;
    if (!h || typeof h.onconnection !== 'function') { server.on('connection', onSocket); return; }
    const srv = server as unknown as { _connections: number; maxConnections?: number };
    h.onconnection = (err: number, clientHandle: unknown) => {
      if (err || !clientHandle) return;
      if (srv.maxConnections !== undefined && srv._connections >= srv.maxConnections) { (clientHandle as { close(): void }).close(); return; }
      // net.Server applies its noDelay option in the onconnection this replaces: do the same
      if ((server as unknown as { noDelay?: boolean }).noDelay) (clientHandle as { setNoDelay?(on: boolean): number }).setNoDelay?.(true);
      const reads: ReadState = { reader: undefined };
      const sock = new Socket({ handle: clientHandle, allowHalfOpen: false, readable: true, writable: true, onread: readerFor(reads) } as unknown as ConstructorParameters<typeof Socket>[0]) as FastSocket;
      sock[READS] = reads;
      srv._connections++;
      (sock as unknown as { server: Server; _server: Server }).server = server;
      (sock as unknown as { _server: Server })._server = server;
      onSocket(sock);
    };
  },
  dial(host: string, port: number): Socket {
    const reads: ReadState = { reader: undefined };
    const sock = connect({ host, port, noDelay: true, onread: readerFor(reads) }) as FastSocket;
    sock[READS] = reads;
    return sock;
  },
  read(socket: Socket, reader: Reader): void {
    const s = socket as FastSocket;
    const reads = s[READS];
    if (reads) {
      reads.reader = reader;
      if (reads.held !== undefined) deliverHeld(s, reads);
    } else s[READS] = { reader };
  },
  write,
  writeParts(socket: Socket, head: string, buf?: Buffer, start = 0, end = buf ? buf.length : 0, tail = ''): boolean {
    const n = buf ? end - start : 0;
    if (n === 0 && tail === '') {
      const r = direct(socket as FastSocket, head);
      return r === undefined ? socket.write(head, 'latin1') : r;
    }
    if (head.length + n + tail.length <= COALESCE_LIMIT) {
      const out = coalesceBytes(head, buf, start, end, tail, copyBytes);
      const r = direct(socket as FastSocket, out);
      if (r === true) return true;
      if (r === false) { retainScratch(out); return false; }
      const ok = socket.write(out);
      if (socket.writableLength > 0) retainScratch(out);
      return ok;
    }
    // Large: head, body slice, tail in order (each falls back to the stream once one is pending).
    if (head) { const r = direct(socket as FastSocket, head); if (r === undefined) socket.write(head, 'latin1'); }
    let ok = buf && n ? write(socket, buf, start, end) : true;
    if (tail) { const r = direct(socket as FastSocket, tail); ok = r === undefined ? socket.write(tail, 'latin1') : r && ok; }
    return ok;
  },
};

/**
 * The body copy of coalesced writes: the buffer binding's copy(source, target, targetStart, sourceStart, x) when
 * this Node has it — x is the source end on Node 20, a count on later versions: found out on real buffers — which
 * skips the Uint8Array view Buffer#copy builds of the source range (~-160 instructions per write); else Buffer#copy.
 */
let copyBytes: ByteCopy = bufferCopy;
function probeCopy(): ByteCopy {
  try {
    const b = (process as unknown as { binding(n: string): { copy?: (s: Uint8Array, t: Uint8Array, at: number, from: number, n: number) => unknown } }).binding('buffer');
    const native = b.copy;
    if (typeof native !== 'function') return bufferCopy;
    // (source 2.., x = 4): as an end it copies 2 bytes, as a count 4 — in bounds either way
    const src = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), dst = Buffer.alloc(8);
    native(src, dst, 1, 2, 4);
    const got = dst.join();
    if (got === '0,3,4,0,0,0,0,0') return (s, d, at, from, n) => { native(s, d, at, from, from + n); };
    if (got === '0,3,4,5,6,0,0,0') return (s, d, at, from, n) => { native(s, d, at, from, n); };
    return bufferCopy;
  } catch {
    return bufferCopy;
  }
}

/** Whether the internals this path needs exist and behave on this Node (checked once, synchronously). */
export function probe(): string | undefined {
  try {
    sw = binding();
    if (typeof sw.WriteWrap !== 'function' || !(sw.streamBaseState instanceof Int32Array) || typeof sw.kLastWriteWasAsync !== 'number') return 'stream_wrap binding lacks WriteWrap/streamBaseState';
    copyBytes = probeCopy();
    // optional: without it, accepted TLS sockets keep 'data' events (adoptReads says no)
    try { onreadKeys = probeOnread(); } catch { onreadKeys = undefined; }
    return undefined;
  } catch (e) {
    sw = undefined;
    return (e as Error).message;
  }
}
