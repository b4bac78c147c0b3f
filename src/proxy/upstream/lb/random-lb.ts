// proxy/upstream/lb: random selection, weighted by host weight (Envoy's RANDOM policy).
import type { Host, HostPicker, PickContext, Random } from './types.ts';
import { pickWithPredicate } from './pick-retry.ts';
import { randInt } from './random.ts';

export class RandomPicker implements HostPicker {
  private readonly hosts: Host[];
  private readonly cumulative: number[];
  private readonly total: number;
  private readonly equal: boolean;
  private readonly random: Random;

  constructor(hosts: Host[], random: Random, weightOf: (h: Host) => number = (h) => h.weight) {
    this.hosts = hosts;
    this.random = random;
    let sum = 0;
    const weights = hosts.map((h) => Math.max(0, weightOf(h)));
    this.cumulative = weights.map((w) => (sum += w));
    this.total = sum;
    this.equal = weights.every((w) => w === weights[0]);
  }

  pick(ctx: PickContext): Host | undefined {
    if (!ctx.rejectHost) return this.next(); // one pick: no closure
    return pickWithPredicate(ctx, () => this.next());
  }

  private next(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (this.equal || this.total <= 0) return this.hosts[randInt(this.random, n)];
    const r = this.random() * this.total;
    // Binary search for the first cumulative weight above r.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return this.hosts[lo];
  }
}
