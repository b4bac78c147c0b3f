// proxy/tls: the SocketIO for TLS sockets (both directions) — documented stream API, with writes that know how
// Node's TLSWrap treats their bytes. A write the stream hands to TLSWrap at once is encrypted (copied) before
// write() returns, so the caller's buffer — a read buffer the plain side will reuse, or the shared coalescing
// scratch — is free again; TLSWrap reports every write complete only later, so the next write in the same tick is
// queued in the stream, keeping a reference: that one gets its own copy.
import type { Socket } from 'node:net';
import { documentedIO } from '../io/documented.ts';
import { internalIO } from '../io/internal.ts';
import { COALESCE_LIMIT, coalesce, type SocketIO } from '../io/types.ts';

/** Whether socket.write() now goes straight to the TLS handle (nothing queued, corked or pending connect). */
export function writesThrough(s: Socket): boolean {
  return s.writableLength === 0 && !s.writableCorked && !s.connecting && !s.destroyed;
}

function write(socket: Socket, buf: Buffer, start: number, end: number): boolean {
  const slice = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  return socket.write(writesThrough(socket) ? slice : Buffer.from(slice));
}

export const tlsIO: SocketIO = {
  ...documentedIO,
  mode: 'documented',
  write,
  writeParts(socket: Socket, head: string, buf?: Buffer, start = 0, end = buf ? buf.length : 0, tail = ''): boolean {
    const n = buf ? end - start : 0;
    if (n === 0 && tail === '') return socket.write(head, 'latin1');
    if (head.length + n + tail.length <= COALESCE_LIMIT) {
      // one TLS write per message (one record train, one writev); the scratch is reusable once TLSWrap has it
      const out = coalesce(head, buf, start, end, tail);
      return socket.write(writesThrough(socket) ? out : Buffer.from(out));
    }
    // large: one corked batch, which TLSWrap encrypts as one write at uncork (copying it then)
    const through = writesThrough(socket);
    socket.cork();
    if (head) socket.write(head, 'latin1');
    if (buf && n) socket.write(through ? buf.subarray(start, end) : Buffer.from(buf.subarray(start, end)));
    if (tail) socket.write(tail, 'latin1');
    socket.uncork();
    return socket.writableLength < socket.writableHighWaterMark;
  },
};

/** tlsIO for TLS sockets that decrypt into reused buffers (dialled with onread, or accepted and adopted): reads go to the reader internal I/O sets. */
export const tlsReusedReadsIO: SocketIO = { ...tlsIO, read: internalIO.read };
