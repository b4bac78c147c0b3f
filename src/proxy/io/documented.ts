// proxy/io: the I/O path on documented APIs only — 'data' events and socket.write. Always available.
import { connect, type Server, type Socket } from 'node:net';
import { COALESCE_LIMIT, coalesce, retainScratch, type Reader, type SocketIO } from './types.ts';

const READER = Symbol('rig.reader');
type WithReader = Socket & { [READER]?: Reader };

export const documentedIO: SocketIO = {
  mode: 'documented',
  adoptServer(server: Server, onSocket: (s: Socket) => void): void { server.on('connection', onSocket); },
  dial(host: string, port: number): Socket { return connect({ host, port, noDelay: true }); },
  read(socket: Socket, reader: Reader): void {
    const s = socket as WithReader;
    const had = s[READER] !== undefined;
    s[READER] = reader;
    // One listener for the socket's life; replacing the reader swaps the target ('data' buffers are never reused).
    if (!had) socket.on('data', (b: Buffer) => s[READER]!(b, 0, b.length));
  },
  write(socket: Socket, buf: Buffer, start: number, end: number): boolean {
    return socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  },
  writeParts(socket: Socket, head: string, buf?: Buffer, start = 0, end = buf ? buf.length : 0, tail = ''): boolean {
    const n = buf ? end - start : 0;
    if (n === 0 && tail === '') return socket.write(head, 'latin1');
    if (head.length + n + tail.length <= COALESCE_LIMIT) {
      const out = coalesce(head, buf, start, end, tail);
      const ok = socket.write(out);
      // Still queued in the stream: it references `out`, so the scratch must not be reused.
      if (socket.writableLength > 0) retainScratch(out);
      return ok;
    }
    socket.cork();
    if (head) socket.write(head, 'latin1');
    if (buf && n) socket.write(buf.subarray(start, end));
    const ok = tail ? socket.write(tail, 'latin1') : socket.writableLength < socket.writableHighWaterMark;
    socket.uncork();
    return ok;
  },
};
