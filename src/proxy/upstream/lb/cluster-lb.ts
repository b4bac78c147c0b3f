// proxy/upstream/lb: a cluster's balancer: priority (failover + panic) -> locality (weighted by locality
// weight x availability, when locality_weighted_lb_config is on) -> host (the cluster's lb_policy).
// Rebuilt on membership/health/ejection changes (`refresh()`); picks read live active-request counts.
import type { Host, HostPicker, LbPolicy, PickContext, Random } from './types.ts';
import { isUsable } from './types.ts';
import { computePriorityLevels, chooseLevel, type PriorityLevel } from './priority.ts';
import { RoundRobinPicker } from './round-robin.ts';
import { LeastRequestPicker, type LeastRequestOptions } from './least-request.ts';
import { RandomPicker } from './random-lb.ts';
import { RingHashPicker, type RingHashOptions } from './ring-hash.ts';
import { MaglevPicker, type MaglevOptions } from './maglev.ts';

export interface LbConfig {
  policy: LbPolicy;
  leastRequest?: LeastRequestOptions;
  ringHash?: RingHashOptions;
  maglev?: MaglevOptions;
  /** Envoy units: 140 = 1.4 (default). */
  overprovisioningFactor?: number;
  /** Percent, default 50; 0 disables panic. */
  healthyPanicThreshold?: number;
  /** common_lb_config.locality_weighted_lb_config present. */
  localityWeighted?: boolean;
}

interface LevelPlan {
  level: PriorityLevel;
  /** Balancer over the level's degraded hosts (used for its degraded load). */
  degraded?: HostPicker;
  /** One picker per locality (locality-weighted), or a single picker under key ''. */
  pickers: Map<string, HostPicker>;
  /** pickers.get('') when there are no localities to choose from (saves the Map lookup per pick). */
  single?: HostPicker;
  /** Smooth WRR state over localities: [locality, effectiveWeight, current]. */
  localities: Array<{ key: string; weight: number; current: number }>;
}

export class ClusterLoadBalancer {
  private hosts: Host[] = [];
  /** Picks made while the chosen priority was in panic (Envoy's lb_healthy_panic). */
  panicPicks = 0;
  private plans: LevelPlan[] = [];
  private levels: PriorityLevel[] = [];
  /**
   * The plan every pick chooses when the first level takes all the load (the common case: one priority, healthy):
   * any point in [0, 100) selects it, so no draw and no chooseLevel per pick.
   */
  private whole: LevelPlan | undefined;

  constructor(private readonly config: LbConfig, private readonly random: Random) {}

  /** Replace the host list (EDS update) and rebuild. */
  update(hosts: Host[]): void {
    this.hosts = hosts;
    this.refresh();
  }

  /** Rebuild after a health or ejection change. */
  refresh(): void {
    this.levels = computePriorityLevels(this.hosts, this.config);
    this.plans = this.levels.map((level) => this.plan(level));
    for (const p of this.plans) if (p.localities.length === 0) p.single = p.pickers.get('');
    this.whole = this.levels.length > 0 && this.levels[0]!.load >= 100 ? this.plans[0] : undefined;
  }

  get priorityLevels(): readonly PriorityLevel[] { return this.levels; }

  private isHashPolicy(): boolean {
    return this.config.policy === 'RING_HASH' || this.config.policy === 'MAGLEV';
  }

  private makePicker(hosts: Host[], weightOf?: (h: Host) => number): HostPicker {
    const r = this.random;
    switch (this.config.policy) {
      case 'LEAST_REQUEST': return new LeastRequestPicker(hosts, r, this.config.leastRequest, weightOf);
      case 'RANDOM': return new RandomPicker(hosts, r, weightOf);
      case 'RING_HASH': return new RingHashPicker(hosts, r, this.config.ringHash, weightOf);
      case 'MAGLEV': return new MaglevPicker(hosts, r, this.config.maglev, weightOf);
      default: return new RoundRobinPicker(hosts, r, weightOf);
    }
  }

  private plan(level: PriorityLevel): LevelPlan {
    const plan = this.healthyPlan(level);
    if (level.degraded.length && !level.panic) plan.degraded = this.makePicker(level.degraded);
    return plan;
  }

  private healthyPlan(level: PriorityLevel): LevelPlan {
    const pickers = new Map<string, HostPicker>();
    const localities: LevelPlan['localities'] = [];
    const candidates = level.panic ? level.hosts : level.healthy;
    if (!this.config.localityWeighted || level.panic) {
      pickers.set('', this.makePicker(candidates));
      return { level, pickers, localities };
    }
    const factor = (this.config.overprovisioningFactor ?? 140) / 100;
    const byLocality = new Map<string, Host[]>();
    for (const h of level.hosts) {
      let l = byLocality.get(h.locality);
      if (!l) byLocality.set(h.locality, (l = []));
      l.push(h);
    }
    const effective = new Map<string, number>();
    for (const [key, all] of byLocality) {
      const healthy = all.filter(isUsable);
      const weight = all[0].localityWeight ?? 0;
      const availability = all.length ? Math.min(1, (factor * healthy.length) / all.length) : 0;
      const eff = weight * availability;
      if (eff <= 0 || healthy.length === 0) continue;
      effective.set(key, eff);
      localities.push({ key, weight: eff, current: 0 });
    }
    if (this.isHashPolicy()) {
      // Hash balancers keep one table per priority; locality weight scales each host's weight instead.
      const hosts = level.healthy.filter((h) => effective.has(h.locality));
      const totalHealthyW = new Map<string, number>();
      for (const h of hosts) totalHealthyW.set(h.locality, (totalHealthyW.get(h.locality) ?? 0) + h.weight);
      pickers.set('', this.makePicker(hosts, (h) => (h.weight / totalHealthyW.get(h.locality)!) * effective.get(h.locality)! * 1000));
      localities.length = 0;
      return { level, pickers, localities };
    }
    for (const { key } of localities) pickers.set(key, this.makePicker(byLocality.get(key)!.filter(isUsable)));
    return { level, pickers, localities };
  }

  private chooseLocality(plan: LevelPlan): HostPicker | undefined {
    if (plan.localities.length === 0) return plan.single;
    let total = 0;
    let best: LevelPlan['localities'][number] | undefined;
    for (const l of plan.localities) {
      l.current += l.weight;
      total += l.weight;
      if (!best || l.current > best.current) best = l;
    }
    best!.current -= total;
    return plan.pickers.get(best!.key);
  }

  /** Pick a host, or undefined when the cluster has no usable host (the engine answers 503 UH). */
  pick(ctx: PickContext = {}): Host | undefined {
    if (this.plans.length === 0) return undefined;
    const w = this.whole;
    if (w !== undefined) {
      if (w.level.panic) this.panicPicks++;
      return this.chooseLocality(w)?.pick(ctx);
    }
    const point = this.isHashPolicy() && ctx.hash !== undefined ? ctx.hash % 100 : Math.floor(this.random() * 100);
    const chosen = chooseLevel(this.levels, point);
    if (!chosen) return undefined;
    const plan = this.plans[this.levels.indexOf(chosen.level)];
    if (chosen.level.panic) this.panicPicks++;
    const picker = chosen.degraded ? plan.degraded : this.chooseLocality(plan);
    return picker?.pick(ctx);
  }
}
