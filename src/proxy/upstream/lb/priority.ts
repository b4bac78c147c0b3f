// proxy/upstream/lb: priority load and panic, per Envoy's documented rules. Each priority's health score is
// (healthy% x overprovisioning factor) capped at 100; priorities take load in order until 100% is covered;
// when the sum is below 100 the loads are normalized over it, and any priority whose healthy% is under the
// panic threshold then balances over ALL its hosts (panic). Loads are integer percents, like Envoy's.
import { isUsable, type Host } from './types.ts';

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
  /** min(100, healthy% * factor). */
  health: number;
  /** Share of traffic in percent (sums to 100 over levels, unless there are no hosts). */
  load: number;
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
  const levels: PriorityLevel[] = [...byPriority.keys()].sort((a, b) => a - b).map((p) => {
    const list = byPriority.get(p)!;
    const healthy = list.filter(isUsable);
    const health = list.length === 0 ? 0 : Math.min(100, Math.floor((factor * 100 * healthy.length) / list.length));
    return { priority: p, hosts: list, healthy, health, load: 0, panic: false };
  });
  if (levels.length === 0) return levels;
  const totalHealth = Math.min(100, levels.reduce((a, l) => a + l.health, 0));
  if (totalHealth === 0) {
    // Nothing healthy anywhere: everything goes to the first priority, in panic (unless panic is disabled).
    levels[0].load = 100;
    levels[0].panic = panicThreshold > 0;
    return levels;
  }
  let remaining = 100;
  let firstAvailable = -1;
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    l.load = Math.min(remaining, Math.floor((l.health * 100) / totalHealth));
    remaining -= l.load;
    if (firstAvailable < 0 && l.health > 0) firstAvailable = i;
  }
  // Rounding leftovers go to the first priority that has any health.
  if (remaining > 0 && firstAvailable >= 0) levels[firstAvailable].load += remaining;
  if (panicThreshold > 0 && totalHealth < 100) {
    for (const l of levels) {
      const healthyPct = l.hosts.length === 0 ? 0 : (100 * l.healthy.length) / l.hosts.length;
      l.panic = healthyPct < panicThreshold;
    }
  }
  return levels;
}

/** Choose a level from a number in [0, 100) by walking the cumulative loads. */
export function chooseLevel(levels: readonly PriorityLevel[], point: number): PriorityLevel | undefined {
  let acc = 0;
  for (const l of levels) {
    acc += l.load;
    if (point < acc) return l;
  }
  return levels.find((l) => l.load > 0);
}
