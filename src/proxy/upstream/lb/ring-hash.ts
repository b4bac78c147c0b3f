// proxy/upstream/lb: ring hash (consistent hashing, Ketama-style) as Envoy builds it: each host gets ring
// entries in proportion to its normalized weight; the ring has at least minimum_ring_size entries (default
// 1024) so the lightest host still gets ~1 entry per its share, and at most maximum_ring_size (default 8M).
// Entry i of a host sits at xxHash64("<address:port>_<i>"), so the ring is stable across restarts and
// removing a host only moves the keys that were on its entries.
import type { Host, HostPicker, PickContext, Random } from './types.ts';
import { hash53 } from './hash.ts';
import { pickWithPredicate } from './pick-retry.ts';

export interface RingHashOptions {
  /** minimum_ring_size, default 1024. */
  minimumRingSize?: number;
  /** maximum_ring_size, default 8 * 1024 * 1024. */
  maximumRingSize?: number;
}

export const RING_DEFAULT_MIN = 1024;
export const RING_DEFAULT_MAX = 8 * 1024 * 1024;
const HASH_SPACE = 2 ** 53;

export class RingHashPicker implements HostPicker {
  readonly hosts: Host[];
  /** Sorted entry positions (53-bit folded xxHash64). */
  readonly positions: Float64Array;
  /** Host index for each position. */
  readonly owners: Int32Array;
  private readonly random: Random;

  constructor(hosts: Host[], random: Random, opts: RingHashOptions = {}, weightOf: (h: Host) => number = (h) => h.weight) {
    this.hosts = hosts;
    this.random = random;
    const minSize = Math.max(1, opts.minimumRingSize ?? RING_DEFAULT_MIN);
    const maxSize = Math.max(minSize, opts.maximumRingSize ?? RING_DEFAULT_MAX);
    const weights = hosts.map((h) => Math.max(0, weightOf(h)));
    const sum = weights.reduce((a, b) => a + b, 0);
    const entries: Array<[number, number]> = [];
    if (sum > 0) {
      const normalized = weights.map((w) => w / sum);
      const minNorm = Math.min(...normalized.filter((w) => w > 0));
      // Scale so the lightest host gets ceil(minNorm * minSize) entries, capped by the maximum size.
      const scale = Math.min(Math.ceil(minNorm * minSize) / minNorm, maxSize);
      let current = 0;
      let target = 0;
      for (let i = 0; i < hosts.length; i++) {
        target += scale * normalized[i];
        for (let k = 0; current < target; k++, current++) entries.push([hash53(`${hosts[i].id}_${k}`), i]);
      }
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.positions = Float64Array.from(entries, (e) => e[0]);
    this.owners = Int32Array.from(entries, (e) => e[1]);
  }

  get size(): number { return this.positions.length; }

  /** First entry clockwise at or after `h` (wrapping to the start). */
  private lookup(h: number): number {
    let lo = 0;
    let hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.positions[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.positions.length ? 0 : lo;
  }

  pick(ctx: PickContext): Host | undefined {
    if (this.positions.length === 0) return undefined;
    const h = ctx.hash ?? Math.floor(this.random() * HASH_SPACE);
    const start = this.lookup(h);
    // On a retry-predicate rejection, walk clockwise to the attempt-th distinct host.
    return pickWithPredicate(ctx, (attempt) => {
      const seen = new Set<number>();
      for (let i = 0; i < this.positions.length; i++) {
        const owner = this.owners[(start + i) % this.positions.length];
        if (seen.has(owner)) continue;
        if (seen.size === attempt) return this.hosts[owner];
        seen.add(owner);
        if (seen.size === this.hosts.length) break;
      }
      return this.hosts[this.owners[start]];
    });
  }
}
