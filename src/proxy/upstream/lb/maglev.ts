// proxy/upstream/lb: Maglev consistent hashing (Google's Maglev paper, as Envoy uses it): a lookup table of
// prime size (default 65537) filled by each host walking its own permutation (offset, skip from two seeded
// xxHash64s of its address), weighted hosts taking turns in proportion to weight. Lookup is table[hash % M]:
// O(1), with minimal disruption when hosts change.
import type { Host, HostPicker, PickContext, Random } from './types.ts';
import { xxhash64 } from './hash.ts';
import { pickWithPredicate } from './pick-retry.ts';

export const MAGLEV_DEFAULT_TABLE_SIZE = 65537;

export interface MaglevOptions {
  /** table_size, must be prime; default 65537. */
  tableSize?: number;
}

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export class MaglevPicker implements HostPicker {
  readonly hosts: Host[];
  readonly table: Int32Array;
  private readonly random: Random;

  constructor(hosts: Host[], random: Random, opts: MaglevOptions = {}, weightOf: (h: Host) => number = (h) => h.weight) {
    this.hosts = hosts;
    this.random = random;
    const m = opts.tableSize && isPrime(opts.tableSize) ? opts.tableSize : MAGLEV_DEFAULT_TABLE_SIZE;
    this.table = new Int32Array(m).fill(-1);
    const live = hosts.map((h, i) => ({ i, w: Math.max(0, weightOf(h)) })).filter((e) => e.w > 0);
    if (live.length === 0) { this.table = new Int32Array(0); return; }
    const maxW = Math.max(...live.map((e) => e.w));
    const state = live.map((e) => {
      const id = hosts[e.i].id;
      return {
        i: e.i,
        w: e.w / maxW,
        offset: Number(xxhash64(id, 0n) % BigInt(m)),
        skip: Number(xxhash64(id, 1n) % BigInt(m - 1)) + 1,
        next: 0,
        target: 1,
      };
    });
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (const s of state) {
        // A host of relative weight w takes a slot on every iteration where iteration*w reaches its target.
        if (iteration * s.w < s.target) continue;
        s.target += 1;
        let c = (s.offset + s.skip * s.next) % m;
        while (this.table[c] >= 0) { s.next++; c = (s.offset + s.skip * s.next) % m; }
        this.table[c] = s.i;
        s.next++;
        if (++filled === m) break;
      }
    }
  }

  pick(ctx: PickContext): Host | undefined {
    const m = this.table.length;
    if (m === 0) return undefined;
    const h = ctx.hash ?? Math.floor(this.random() * 2 ** 53);
    const start = h % m;
    // A rejected pick takes the attempt-th distinct host found walking the table from the key's slot, so
    // retries still land deterministically for a given key.
    return pickWithPredicate(ctx, (attempt) => {
      if (attempt === 0) return this.hosts[this.table[start]];
      const seen = new Set<number>();
      for (let i = 0; i < m; i++) {
        const owner = this.table[(start + i) % m];
        if (seen.has(owner)) continue;
        if (seen.size === attempt) return this.hosts[owner];
        seen.add(owner);
        if (seen.size === this.hosts.length) break;
      }
      return this.hosts[this.table[start]];
    });
  }
}
