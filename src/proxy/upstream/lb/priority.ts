// proxy/upstream/lb: priority load and panic, per Envoy's documented rules. Each priority's health score is
// (healthy% x overprovisioning factor) capped at 100; priorities take load in order until 100% is covered;
// when the sum is below 100 the loads are normalized over it, and any priority whose healthy% is under the
// panic threshold then balances over ALL its hosts (panic). Loads are integer percents, like Envoy's.
// DEGRADED endpoints only take what healthy endpoints of every priority cannot: healthy loads are handed
// out first across all priorities, then degraded loads.
import { isUsable, type Host } from './types.ts';

function isDegradedUsable(h: Host): boolean {
  return h.health === 'DEGRADED' && !h.ejected;
}

export interface PriorityOptions {
  /** overprovisioning_factor in Envoy's units: 140 means 1.4 (default). */
  overprovisioningFactor?: number;
  /** healthy_panic_threshold percent, default 50; 0 disables panic mode. */
  healthyPanicThreshold?: number;
}

export interface PriorityLevel {
  priority: number;
  hosts: Host[];
  healthy: Host[];
  /** DEGRADED (and not ejected) hosts. */
  degraded: Host[];
  /** min(100, healthy% * factor). */
  health: number;
  /** min(100, degraded% * factor). */
  degradedHealth: number;
  /** Share of traffic to healthy hosts in percent (healthy + degraded loads sum to 100 over levels). */
  load: number;
  /** Share of traffic to degraded hosts in percent. */
  degradedLoad: number;
  panic: boolean;
}

export function computePriorityLevels(hosts: readonly Host[], opts: PriorityOptions = {}): PriorityLevel[] {
  const factor = (opts.overprovisioningFactor ?? 140) / 100;
  const panicThreshold = opts.healthyPanicThreshold ?? 50;
  const byPriority = new Map<number, Host[]>();
  for (const h of hosts) {
    let list = byPriority.get(h.priority);
    if (!list) byPriority.set(h.priority, (list = []));
    list.push(h);
  }
  const pct = (n: number, total: number) => (total === 0 ? 0 : Math.min(100, Math.floor((factor * 100 * n) / total)));
  const levels: PriorityLevel[] = [...byPriority.keys()].sort((a, b) => a - b).map((p) => {
    const list = byPriority.get(p)!;
    const healthy = list.filter(isUsable);
    const degraded = list.filter(isDegradedUsable);
    return {
      priority: p, hosts: list, healthy, degraded, health: pct(healthy.length, list.length),
      degradedHealth: pct(degraded.length, list.length), load: 0, degradedLoad: 0, panic: false,
    };
  });
  if (levels.length === 0) return levels;
  const totalHealth = Math.min(100, levels.reduce((a, l) => a + l.health + l.degradedHealth, 0));
  if (totalHealth === 0) {
    // Nothing healthy anywhere: everything goes to the first priority, in panic (unless panic is disabled).
    levels[0].load = 100;
    levels[0].panic = panicThreshold > 0;
    return levels;
  }
  let remaining = 100;
  for (const l of levels) {
    l.load = Math.min(remaining, Math.floor((l.health * 100) / totalHealth));
    remaining -= l.load;
  }
  for (const l of levels) {
    l.degradedLoad = Math.min(remaining, Math.floor((l.degradedHealth * 100) / totalHealth));
    remaining -= l.degradedLoad;
  }
  // Rounding leftovers go to the first priority with any healthy hosts, else with degraded ones.
  if (remaining > 0) {
    const h = levels.find((l) => l.health > 0);
    if (h) h.load += remaining;
    else levels.find((l) => l.degradedHealth > 0)!.degradedLoad += remaining;
  }
  if (panicThreshold > 0 && totalHealth < 100) {
    for (const l of levels) {
      const availablePct = l.hosts.length === 0 ? 0 : (100 * (l.healthy.length + l.degraded.length)) / l.hosts.length;
      l.panic = availablePct < panicThreshold;
    }
  }
  return levels;
}

/** Choose a level (and whether its degraded set) from a number in [0, 100): healthy loads first, then degraded. */
export function chooseLevel(levels: readonly PriorityLevel[], point: number): { level: PriorityLevel; degraded: boolean } | undefined {
  let acc = 0;
  for (const l of levels) {
    acc += l.load;
    if (point < acc) return { level: l, degraded: false };
  }
  for (const l of levels) {
    acc += l.degradedLoad;
    if (point < acc) return { level: l, degraded: true };
  }
  const any = levels.find((l) => l.load > 0);
  return any ? { level: any, degraded: false } : undefined;
}
