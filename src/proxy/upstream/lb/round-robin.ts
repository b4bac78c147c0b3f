// proxy/upstream/lb: weighted round robin. Equal weights: plain rotation from a random start (so many
// proxies don't all hit the first host). Unequal weights: smooth weighted round robin (nginx's algorithm),
// which interleaves picks instead of sending bursts to the heaviest host; over sum(weights) picks every host
// is chosen exactly `weight` times — the same long-run shares as Envoy's EDF scheduler.
import type { Host, HostPicker, PickContext, Random } from './types.ts';
import { pickWithPredicate } from './pick-retry.ts';
import { randInt } from './random.ts';

export class RoundRobinPicker implements HostPicker {
  private readonly hosts: Host[];
  private readonly weights: number[];
  private readonly current: number[];
  private readonly total: number;
  private readonly equal: boolean;
  private index: number;

  constructor(hosts: Host[], random: Random, weightOf: (h: Host) => number = (h) => h.weight) {
    this.hosts = hosts;
    this.weights = hosts.map((h) => Math.max(0, weightOf(h)));
    this.current = hosts.map(() => 0);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.equal = this.weights.every((w) => w === this.weights[0]);
    this.index = hosts.length ? randInt(random, hosts.length) : 0;
  }

  pick(ctx: PickContext): Host | undefined {
    if (!ctx.rejectHost) return this.next(); // one pick: no closure
    return pickWithPredicate(ctx, () => this.next());
  }

  private next(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (this.equal) {
      const h = this.hosts[this.index % n];
      this.index = (this.index + 1) % n;
      return h;
    }
    let best = -1;
    for (let i = 0; i < n; i++) {
      this.current[i] += this.weights[i];
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    }
    this.current[best] -= this.total;
    return this.hosts[best];
  }
}
