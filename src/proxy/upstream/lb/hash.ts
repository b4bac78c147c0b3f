// proxy/upstream/lb: xxHash64 (the hash Envoy uses for ring hash and maglev), written from the public algorithm
// description with BigInt. It is only on the per-request path once (hash policy) and at ring build time.
// Positions are folded to 53-bit safe integers (top bits kept), which preserves ordering for ring lookups.

const M64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

const mul = (a: bigint, b: bigint): bigint => (a * b) & M64;
const add = (a: bigint, b: bigint): bigint => (a + b) & M64;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;

function read64(b: Uint8Array, i: number): bigint {
  const lo = (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
  const hi = (b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
function read32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0);
}
function round(acc: bigint, input: bigint): bigint {
  return mul(rotl(add(acc, mul(input, P2)), 31n), P1);
}
function mergeRound(acc: bigint, val: bigint): bigint {
  return add(mul(acc ^ round(0n, val), P1), P4);
}

const encoder = new TextEncoder();

/** xxHash64 of a UTF-8 string or bytes, as an unsigned 64-bit bigint. */
export function xxhash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  const b = typeof input === 'string' ? encoder.encode(input) : input;
  const len = b.length;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed & M64;
    let v4 = (seed - P1) & M64;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, read64(b, i));
      v2 = round(v2, read64(b, i + 8));
      v3 = round(v3, read64(b, i + 16));
      v4 = round(v4, read64(b, i + 24));
    }
    h = add(add(rotl(v1, 1n), rotl(v2, 7n)), add(rotl(v3, 12n), rotl(v4, 18n)));
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(len));
  for (; i + 8 <= len; i += 8) {
    h ^= round(0n, read64(b, i));
    h = add(mul(rotl(h, 27n), P1), P4);
  }
  if (i + 4 <= len) {
    h ^= mul(read32(b, i), P1);
    h = add(mul(rotl(h, 23n), P2), P3);
    i += 4;
  }
  for (; i < len; i++) {
    h ^= mul(BigInt(b[i]), P5);
    h = mul(rotl(h, 11n), P1);
  }
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

/** Fold a 64-bit hash to a non-negative safe integer, keeping the top 53 bits (order-preserving). */
export function fold53(h: bigint): number {
  return Number(h >> 11n);
}

/** Convenience: xxHash64 folded to 53 bits. */
export function hash53(input: string, seed: bigint = 0n): number {
  return fold53(xxhash64(input, seed));
}

/** Combine several per-policy hashes as Envoy does: rotate the running value left by one, then xor. */
export function combineHashes(acc: bigint | undefined, next: bigint): bigint {
  if (acc === undefined) return next;
  return (((acc << 1n) | (acc >> 63n)) & M64) ^ next;
}
