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
// id is a substring of it (no per-id formatting or concatenation).
const PER_POOL = 128;
const random = Buffer.alloc(16 * PER_POOL);
const text = Buffer.alloc(36 * PER_POOL);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
let pool = '';
let next = PER_POOL;

function refill(): void {
  randomFillSync(random);
  let o = 0;
  for (let u = 0; u < PER_POOL; u++) {
    const r = u * 16;
    for (let k = 0; k < 16; k++) {
      if (k === 4 || k === 6 || k === 8 || k === 10) text[o++] = 0x2d;
      let b = random[r + k];
      if (k === 6) b = (b & 0x0f) | 0x40; // version 4
      else if (k === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
      text[o++] = HEX[b >> 4];
      text[o++] = HEX[b & 15];
    }
  }
  pool = text.toString('latin1');
  next = 0;
}

/** A random (version 4) UUID in lower-case text form, as crypto.randomUUID gives. */
export function newRequestId(): string {
  if (next === PER_POOL) refill();
  const s = next * 36;
  next++;
  return pool.slice(s, s + 36);
}
