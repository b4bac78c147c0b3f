// proxy/upstream/lb: least request. Equal weights: "power of N choices" (default 2) — sample N hosts at
// random and take the one with the fewest active requests. Unequal weights: Envoy weighs each host
// dynamically as weight / (active + 1)^bias (active_request_bias, default 1.0); we pick with smooth
// weighted round robin over those live weights so the result is deterministic for tests.
import type { Host, HostPicker, PickContext, Random } from './types.ts';
import { pickWithPredicate } from './pick-retry.ts';
import { randInt } from './random.ts';

export interface LeastRequestOptions {
  /** choice_count, default 2 (min 2). */
  choiceCount?: number;
  /** active_request_bias, default 1.0; 0 makes it weighted round robin. */
  activeRequestBias?: number;
}

export class LeastRequestPicker implements HostPicker {
  private readonly hosts: Host[];
  private readonly random: Random;
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly equal: boolean;
  private readonly weights: number[];
  private readonly current: number[];

  constructor(hosts: Host[], random: Random, opts: LeastRequestOptions = {}, weightOf: (h: Host) => number = (h) => h.weight) {
    this.hosts = hosts;
    this.random = random;
    this.choiceCount = Math.max(2, opts.choiceCount ?? 2);
    this.bias = opts.activeRequestBias ?? 1.0;
    this.weights = hosts.map((h) => Math.max(0, weightOf(h)));
    this.equal = this.weights.every((w) => w === this.weights[0]);
    this.current = hosts.map(() => 0);
  }

  pick(ctx: PickContext): Host | undefined {
    // Without a retry predicate there is one pick: no closure for pickWithPredicate.
    if (!ctx.rejectHost) return this.equal ? this.pickP2C() : this.pickWeighted();
    return pickWithPredicate(ctx, () => (this.equal ? this.pickP2C() : this.pickWeighted()));
  }

  private pickP2C(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    // One host: every sample is that host (no draws).
    if (n === 1) return this.hosts[0];
    let best: Host | undefined;
    for (let i = 0; i < this.choiceCount; i++) {
      const h = this.hosts[randInt(this.random, n)];
      if (!best || h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }

  private pickWeighted(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    let total = 0;
    let best = -1;
    for (let i = 0; i < n; i++) {
      const w = this.bias === 0 ? this.weights[i] : this.weights[i] / Math.pow(this.hosts[i].activeRequests + 1, this.bias);
      total += w;
      this.current[i] += w;
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    }
    this.current[best] -= total;
    return this.hosts[best];
  }
}
