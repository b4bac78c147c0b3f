// proxy/http/codec: streaming chunked transfer-coding decoder (strict) and encoder, with trailers (RFC 9112 7.1).
import { FIELD_VALUE, CR, LF, SP, HTAB, hasBareLf } from './chars.ts';
import { parseFieldLines } from './fields.ts';

const enum S { Size, SizeBws, Ext, SizeLf, Data, DataCr, DataLf, Trailer, Done, Error }

/** Hex digit value, or -1. */
function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export type DataSink = (buf: Buffer, start: number, end: number) => void;

/**
 * Incremental decoder. `feed` consumes bytes until the message body ends (then `done`) or input runs out;
 * it returns how many bytes it consumed, so bytes of a following pipelined message are left to the caller.
 */
export class ChunkedDecoder {
  private s = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private trailerBuf: Buffer[] = [];
  private trailerLen = 0;
  error = '';
  trailers: string[] | undefined;

  constructor(private readonly maxTrailerBytes = 60 * 1024, private readonly maxTrailers = 100) {}

  get done(): boolean { return this.s === S.Done; }
  get failed(): boolean { return this.s === S.Error; }

  private fail(reason: string, at: number, start: number): number {
    this.s = S.Error;
    this.error = reason;
    return at - start;
  }

  feed(buf: Buffer, start: number, end: number, onData: DataSink): number {
    let i = start;
    while (i < end) {
      switch (this.s) {
        case S.Size: {
          const c = buf[i];
          const h = hex(c);
          if (h >= 0) {
            if (++this.digits > 12) return this.fail('chunk size too large', i, start);
            this.size = this.size * 16 + h;
            i++;
          } else if (this.digits === 0) {
            return this.fail('invalid chunk size', i, start);
          } else if (c === CR) { this.s = S.SizeLf; i++; }
          else if (c === 0x3b /* ; */) { this.s = S.Ext; i++; }
          else if (c === SP || c === HTAB) { this.s = S.SizeBws; i++; }
          else return this.fail('invalid character in chunk size', i, start);
          break;
        }
        case S.SizeBws: {
          const c = buf[i];
          if (c === SP || c === HTAB) i++;
          else if (c === 0x3b) { this.s = S.Ext; i++; }
          else return this.fail('invalid character after chunk size', i, start);
          break;
        }
        case S.Ext: {
          const c = buf[i];
          if (c === CR) { this.s = S.SizeLf; i++; }
          else if (FIELD_VALUE[c] === 1) i++;
          else return this.fail('invalid character in chunk extension', i, start);
          break;
        }
        case S.SizeLf: {
          if (buf[i] !== LF) return this.fail('expected LF after chunk size', i, start);
          i++;
          if (this.size === 0) { this.s = S.Trailer; }
          else { this.remaining = this.size; this.s = S.Data; }
          this.size = 0;
          this.digits = 0;
          break;
        }
        case S.Data: {
          const n = Math.min(this.remaining, end - i);
          onData(buf, i, i + n);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.s = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[i] !== CR) return this.fail('expected CRLF after chunk data', i, start);
          this.s = S.DataLf; i++;
          break;
        case S.DataLf:
          if (buf[i] !== LF) return this.fail('expected CRLF after chunk data', i, start);
          this.s = S.Size; i++;
          break;
        case S.Trailer: {
          // Accumulate the trailer section until an empty line; usually it is just CRLF.
          if (this.trailerLen === 0 && end - i >= 2 && buf[i] === CR && buf[i + 1] === LF) {
            this.s = S.Done;
            return i + 2 - start;
          }
          const chunk = buf.subarray(i, end);
          const all = this.trailerLen === 0 ? chunk : Buffer.concat([...this.trailerBuf, chunk]);
          const prev = this.trailerLen;
          if (all.length >= 2 && all[0] === CR && all[1] === LF) { this.s = S.Done; return 2 - prev + (i - start); }
          const idx = all.indexOf('\r\n\r\n');
          if (idx === -1) {
            if (all.length > this.maxTrailerBytes) return this.fail('trailers too large', end, start);
            if (hasBareLf(all, 0, all.length)) return this.fail('bare LF in trailers', end, start);
            this.trailerBuf = [Buffer.from(all)];
            this.trailerLen = all.length;
            return end - start;
          }
          if (idx + 4 > this.maxTrailerBytes) return this.fail('trailers too large', end, start);
          if (hasBareLf(all, 0, idx + 4)) return this.fail('bare LF in trailers', end, start);
          const out: string[] = [];
          const err = parseFieldLines(all, 0, idx + 2, out, this.maxTrailers);
          if (err) return this.fail(`trailer: ${err}`, end, start);
          this.trailers = out;
          this.s = S.Done;
          this.trailerBuf = [];
          return idx + 4 - prev + (i - start);
        }
        case S.Done:
          return i - start;
        case S.Error:
          return i - start;
      }
    }
    return i - start;
  }
}

// Forbidden in trailers because they frame, route or authenticate the message (RFC 9110 6.5.1).
const TRAILER_FORBIDDEN = new Set(['content-length', 'transfer-encoding', 'host', 'content-type', 'authorization', 'te', 'trailer', 'connection']);

/** Chunk framing for `len` bytes of data: the part before the data. */
export function chunkHeader(len: number): string { return len.toString(16) + '\r\n'; }
export const CHUNK_TAIL = '\r\n';

/** The last-chunk with optional trailers [name, value, ...]. */
export function lastChunk(trailers?: string[]): string {
  if (!trailers || trailers.length === 0) return '0\r\n\r\n';
  let s = '0\r\n';
  for (let i = 0; i < trailers.length; i += 2) {
    if (TRAILER_FORBIDDEN.has(trailers[i])) continue;
    s += trailers[i] + ': ' + trailers[i + 1] + '\r\n';
  }
  return s + '\r\n';
}

/** Encode a whole body as one chunk plus last-chunk (used by tests and small synthetic bodies). */
export function encodeChunked(body: Buffer, trailers?: string[]): Buffer {
  if (body.length === 0) return Buffer.from(lastChunk(trailers), 'latin1');
  return Buffer.concat([Buffer.from(chunkHeader(body.length), 'latin1'), body, Buffer.from(CHUNK_TAIL + lastChunk(trailers), 'latin1')]);
}
