// proxy/upstream/lb: random sources — Math.random for production, a seeded PRNG for deterministic tests.
import type { Random } from './types.ts';

export const mathRandom: Random = Math.random;

/** mulberry32: small, fast, well-distributed 32-bit PRNG. Same seed, same sequence. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randInt(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}
