// test/helpers: deterministic payloads and their digests, for tests that check bytes arrive intact.
import { createHash } from 'node:crypto';

/** n deterministic bytes from `seed` (a corrupted, lost or reordered byte anywhere changes the hash). */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

/** SHA-256 of `b`, hex. */
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
