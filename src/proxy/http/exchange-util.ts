// proxy/http: small helpers of the exchange — passthrough destination, host:port split, request ids.
import { randomFillSync } from 'node:crypto';
import type { ConnectionOrigin } from '../listener/origin.ts';

/**
 * Where an ORIGINAL_DST (passthrough) cluster sends a request: the captured destination for transparently
 * captured connections; for explicit listeners (local HTTP_PROXY mode) the authority the client asked for,
 * as Envoy's original_dst_lb_config.use_http_header would. Undefined when that is this very listener (a loop).
 */
export function originalDestination(origin: ConnectionOrigin, authority: string): { address: string; port: number } | undefined {
  let dst = origin.destination;
  if (origin.kind === 'listener') {
    const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d+))?$/.exec(authority);
    if (!m) return undefined;
    dst = { address: m[1] ?? m[2], port: m[3] ? Number(m[3]) : 80 };
  }
  const self = (dst.address === origin.localAddress || dst.address === 'localhost' || dst.address === '127.0.0.1' && origin.localAddress === '::ffff:127.0.0.1') && dst.port === origin.localPort;
  return self ? undefined : dst;
}

export function splitHostPort(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

export function notFilterState<T extends { kind: string }>(p: T): p is Exclude<T, { kind: 'filterState' }> { return p.kind !== 'filterState'; }

// x-request-id values: crypto.randomUUID formats each id by concatenating ~20 pieces (a cons string later flattened
// into the head); here the random bytes of 128 ids are drawn at once and formatted into one latin1 string, and each
// id is a substring of it (no per-id formatting or concatenation). The formatting is unrolled: a byte's two hex
// digits come from one 256-entry table (as one 16-bit value), stored as a 16-bit word where the id's layout puts
// them at an even offset; a loop over the 16 bytes cost ~3x more per id (~1.4k instructions instead of ~450).
const PER_POOL = 128;
const random = Buffer.alloc(16 * PER_POOL);
const text = Buffer.alloc(36 * PER_POOL);
/** text as 16-bit words; the word stores assume a little-endian platform (checked below, else the byte path). */
const text16 = new Uint16Array(text.buffer, text.byteOffset, text.length >> 1);
/** HEX2[b]: the two lower-case hex digits of b, first digit in the low byte. */
const HEX2 = new Uint16Array(256);
const DIGITS = '0123456789abcdef';
for (let b = 0; b < 256; b++) HEX2[b] = DIGITS.charCodeAt(b >> 4) | (DIGITS.charCodeAt(b & 15) << 8);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// The dashes never move: written once.
for (let u = 0; u < PER_POOL; u++) for (const d of [8, 13, 18, 23]) text[u * 36 + d] = 0x2d;
let pool = '';
let next = PER_POOL;

function refill(): void {
  randomFillSync(random);
  const t = text, w = text16, r8 = random, x = HEX2;
  for (let u = 0, r = 0, o = 0; u < PER_POOL; u++, r += 16, o += 36) {
    r8[r + 6] = (r8[r + 6]! & 0x0f) | 0x40; // version 4
    r8[r + 8] = (r8[r + 8]! & 0x3f) | 0x80; // RFC 4122 variant
    if (!LITTLE_ENDIAN) { slowFormat(r, o); continue; }
    const h = o >> 1; // the id's first word (36-byte stride keeps it even)
    let p: number;
    // xxxxxxxx-  bytes 0-3 at offsets 0-7
    w[h] = x[r8[r]!]!; w[h + 1] = x[r8[r + 1]!]!; w[h + 2] = x[r8[r + 2]!]!; w[h + 3] = x[r8[r + 3]!]!;
    // xxxx-      bytes 4-5 at offsets 9-12 (odd: byte stores)
    p = x[r8[r + 4]!]!; t[o + 9] = p; t[o + 10] = p >> 8;
    p = x[r8[r + 5]!]!; t[o + 11] = p; t[o + 12] = p >> 8;
    // 4xxx-      bytes 6-7 at offsets 14-17
    w[h + 7] = x[r8[r + 6]!]!; w[h + 8] = x[r8[r + 7]!]!;
    // [89ab]xxx- bytes 8-9 at offsets 19-22 (odd)
    p = x[r8[r + 8]!]!; t[o + 19] = p; t[o + 20] = p >> 8;
    p = x[r8[r + 9]!]!; t[o + 21] = p; t[o + 22] = p >> 8;
    // xxxxxxxxxxxx bytes 10-15 at offsets 24-35
    w[h + 12] = x[r8[r + 10]!]!; w[h + 13] = x[r8[r + 11]!]!; w[h + 14] = x[r8[r + 12]!]!;
    w[h + 15] = x[r8[r + 13]!]!; w[h + 16] = x[r8[r + 14]!]!; w[h + 17] = x[r8[r + 15]!]!;
  }
  pool = text.toString('latin1');
  next = 0;
}

/** Byte offsets in an id of the 16 bytes' digit pairs. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
function slowFormat(r: number, o: number): void {
  for (let k = 0; k < 16; k++) { const p = HEX2[random[r + k]!]!; text[o + AT[k]!] = p & 255; text[o + AT[k]! + 1] = p >> 8; }
}

/** A random (version 4) UUID in lower-case text form, as crypto.randomUUID gives. */
export function newRequestId(): string {
  if (next === PER_POOL) refill();
  const s = next * 36;
  next++;
  return pool.slice(s, s + 36);
}
