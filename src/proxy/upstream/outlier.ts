// proxy/upstream: outlier detection (passive health checking) per Envoy's documented algorithm.
// Consecutive errors eject inline; the interval sweep un-ejects hosts whose time is up, relaxes the
// ejection multiplier of hosts that stayed healthy, and runs the success-rate / failure-percentage checks.
// Ejection time = base_ejection_time x (times ejected, decayed while healthy), capped at
// max(base, max_ejection_time), plus jitter; hosts return to service at the first sweep after that (never on a
// per-host timer). The multiplier stops growing once base x multiplier reaches max + base, so a host that failed
// for a long time needs only a bounded number of healthy intervals to get back to short ejections.
// max_ejection_percent (capped at 100) is honoured strictly ((ejected + 1) / total <= max), unless always_eject_one_host.
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Host, Random } from './lb/types.ts';

/** Narrowed OutlierDetection config; durations in ms. Unset fields take Envoy's defaults. */
export interface OutlierConfig {
  consecutive5xx?: number; // 5
  enforcingConsecutive5xx?: number; // 100 (%)
  consecutiveGatewayFailure?: number; // 5
  enforcingConsecutiveGatewayFailure?: number; // 0 (%)
  splitExternalLocalOriginErrors?: boolean; // false
  consecutiveLocalOriginFailure?: number; // 5
  enforcingConsecutiveLocalOriginFailure?: number; // 100 (%)
  intervalMs?: number; // 10000
  baseEjectionTimeMs?: number; // 30000
  maxEjectionTimeMs?: number; // 300000 (or base, whichever is larger)
  maxEjectionTimeJitterMs?: number; // 0
  maxEjectionPercent?: number; // 10
  alwaysEjectOneHost?: boolean; // false
  enforcingSuccessRate?: number; // 100 (%)
  successRateMinimumHosts?: number; // 5
  successRateRequestVolume?: number; // 100
  successRateStdevFactor?: number; // 1900 (= 1.9)
  failurePercentageThreshold?: number; // 85 (%)
  enforcingFailurePercentage?: number; // 0 (%)
  failurePercentageMinimumHosts?: number; // 5
  failurePercentageRequestVolume?: number; // 50
}

export type EjectionReason = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure' | 'success_rate' | 'failure_percentage';

/** Local-origin events: what happened on our side of the connection. */
export type LocalOriginEvent = 'connect_failed' | 'timeout' | 'reset' | 'connect_success' | 'success';

/** Per-endpoint state, for the admin /clusters output and for explanations. */
export interface OutlierHostState {
  ejected: boolean;
  ejectedAtMs?: number;
  /** When the host becomes eligible to return (returns at the next sweep at or after this time). */
  ejectedUntilMs?: number;
  lastEjectionReason?: EjectionReason;
  /** Times ejected in total. */
  ejections: number;
  /** Current ejection-time multiplier (grows per ejection, decays while healthy). */
  multiplier: number;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  /** Success rate over the last completed interval, percent (undefined when volume too low). */
  successRate?: number;
}

export interface OutlierStats {
  ejectionsActive: number;
  ejectionsEnforcedTotal: number;
  ejectionsOverflow: number;
  ejectionsDetected: Record<EjectionReason, number>;
}

interface Monitor extends OutlierHostState {
  lastUnejectedAtMs?: number;
  // Interval buckets for success rate / failure percentage.
  ok: number;
  failed: number;
}

const GATEWAY = new Set([502, 503, 504]);

function newMonitor(): Monitor {
  return { ejected: false, ejections: 0, multiplier: 0, consecutive5xx: 0, consecutiveGatewayFailure: 0, consecutiveLocalOriginFailure: 0, ok: 0, failed: 0 };
}

export class OutlierDetector {
  private readonly cfg: Required<OutlierConfig>;
  private readonly monitors = new Map<string, Monitor>();
  private hosts: Host[] = [];
  private timer: TimerHandle | undefined;
  readonly stats: OutlierStats = {
    ejectionsActive: 0, ejectionsEnforcedTotal: 0, ejectionsOverflow: 0,
    ejectionsDetected: { consecutive_5xx: 0, consecutive_gateway_failure: 0, consecutive_local_origin_failure: 0, success_rate: 0, failure_percentage: 0 },
  };

  constructor(
    config: OutlierConfig,
    private readonly clock: Clock,
    private readonly random: Random,
    /** Called after any ejection or un-ejection so the owner can rebuild its balancer. */
    private readonly onChange: (host: Host, ejected: boolean, reason?: EjectionReason) => void = () => {},
  ) {
    const base = config.baseEjectionTimeMs ?? 30_000;
    this.cfg = {
      consecutive5xx: config.consecutive5xx ?? 5,
      enforcingConsecutive5xx: config.enforcingConsecutive5xx ?? 100,
      consecutiveGatewayFailure: config.consecutiveGatewayFailure ?? 5,
      enforcingConsecutiveGatewayFailure: config.enforcingConsecutiveGatewayFailure ?? 0,
      splitExternalLocalOriginErrors: config.splitExternalLocalOriginErrors ?? false,
      consecutiveLocalOriginFailure: config.consecutiveLocalOriginFailure ?? 5,
      enforcingConsecutiveLocalOriginFailure: config.enforcingConsecutiveLocalOriginFailure ?? 100,
      intervalMs: config.intervalMs ?? 10_000,
      baseEjectionTimeMs: base,
      maxEjectionTimeMs: Math.max(base, config.maxEjectionTimeMs ?? 300_000),
      maxEjectionTimeJitterMs: config.maxEjectionTimeJitterMs ?? 0,
      maxEjectionPercent: Math.min(100, config.maxEjectionPercent ?? 10),
      alwaysEjectOneHost: config.alwaysEjectOneHost ?? false,
      enforcingSuccessRate: config.enforcingSuccessRate ?? 100,
      successRateMinimumHosts: config.successRateMinimumHosts ?? 5,
      successRateRequestVolume: config.successRateRequestVolume ?? 100,
      successRateStdevFactor: config.successRateStdevFactor ?? 1900,
      failurePercentageThreshold: config.failurePercentageThreshold ?? 85,
      enforcingFailurePercentage: config.enforcingFailurePercentage ?? 0,
      failurePercentageMinimumHosts: config.failurePercentageMinimumHosts ?? 5,
      failurePercentageRequestVolume: config.failurePercentageRequestVolume ?? 50,
    };
  }

  get config(): Readonly<Required<OutlierConfig>> { return this.cfg; }

  /** Start the interval sweeps (idempotent). */
  start(): void {
    if (this.timer) return;
    const tick = () => { this.timer = this.clock.setTimeout(tick, this.cfg.intervalMs); this.sweep(); };
    this.timer = this.clock.setTimeout(tick, this.cfg.intervalMs);
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Replace the host set (EDS update). State follows hosts by id; a returning host keeps its history. */
  setHosts(hosts: Host[]): void {
    const ids = new Set(hosts.map((h) => h.id));
    for (const id of [...this.monitors.keys()]) if (!ids.has(id)) this.monitors.delete(id);
    for (const h of hosts) {
      let m = this.monitors.get(h.id);
      if (!m) this.monitors.set(h.id, (m = newMonitor()));
      h.ejected = m.ejected;
    }
    this.hosts = hosts;
    this.stats.ejectionsActive = [...this.monitors.values()].filter((m) => m.ejected).length;
  }

  state(host: Host | string): OutlierHostState | undefined {
    const m = this.monitors.get(typeof host === 'string' ? host : host.id);
    if (!m) return undefined;
    const { ok: _ok, failed: _failed, lastUnejectedAtMs: _u, ...pub } = m;
    return { ...pub };
  }

  /** Results for hosts no longer in the set (a late response after an EDS update) are dropped. */
  private monitor(host: Host): Monitor | undefined {
    return this.monitors.get(host.id);
  }

  /** An HTTP response came back from the host (external origin). */
  reportHttp(host: Host, status: number): void {
    const m = this.monitor(host);
    if (!m) return;
    const is5xx = status >= 500 && status <= 599;
    if (is5xx) m.failed++;
    else m.ok++;
    if (GATEWAY.has(status)) {
      // A threshold of 0 disables the check (Envoy compares the count for equality, which 0 never hits).
      if (++m.consecutiveGatewayFailure >= this.cfg.consecutiveGatewayFailure && this.cfg.consecutiveGatewayFailure > 0) {
        m.consecutiveGatewayFailure = 0;
        this.tryEject(host, m, 'consecutive_gateway_failure', this.cfg.enforcingConsecutiveGatewayFailure);
      }
    } else {
      m.consecutiveGatewayFailure = 0;
    }
    if (is5xx) {
      if (++m.consecutive5xx >= this.cfg.consecutive5xx && this.cfg.consecutive5xx > 0) {
        m.consecutive5xx = 0;
        this.tryEject(host, m, 'consecutive_5xx', this.cfg.enforcingConsecutive5xx);
      }
    } else {
      m.consecutive5xx = 0;
    }
  }

  /**
   * A local-origin event. Without split mode these map onto HTTP codes (connect failure / reset -> 503,
   * timeout -> 504) and count toward the 5xx and gateway counters; connect_success is ignored because
   * the response code that follows decides. In split mode they have their own consecutive counter.
   */
  reportLocal(host: Host, event: LocalOriginEvent): void {
    if (!this.cfg.splitExternalLocalOriginErrors) {
      if (event === 'connect_failed' || event === 'reset') this.reportHttp(host, 503);
      else if (event === 'timeout') this.reportHttp(host, 504);
      else if (event === 'success') this.reportHttp(host, 200);
      return;
    }
    const m = this.monitor(host);
    if (!m) return;
    if (event === 'connect_success' || event === 'success') {
      m.consecutiveLocalOriginFailure = 0;
      return;
    }
    m.failed++;
    if (++m.consecutiveLocalOriginFailure >= this.cfg.consecutiveLocalOriginFailure && this.cfg.consecutiveLocalOriginFailure > 0) {
      m.consecutiveLocalOriginFailure = 0;
      this.tryEject(host, m, 'consecutive_local_origin_failure', this.cfg.enforcingConsecutiveLocalOriginFailure);
    }
  }

  private ejectionDurationMs(m: Monitor): number {
    const d = Math.min(this.cfg.baseEjectionTimeMs * m.multiplier, this.cfg.maxEjectionTimeMs);
    const jitter = this.cfg.maxEjectionTimeJitterMs > 0 ? Math.floor(this.random() * (this.cfg.maxEjectionTimeJitterMs + 1)) : 0;
    return d + jitter;
  }

  private tryEject(host: Host, m: Monitor, reason: EjectionReason, enforcingPct: number): boolean {
    if (m.ejected) return false;
    this.stats.ejectionsDetected[reason]++;
    const total = Math.max(1, this.monitors.size);
    const active = this.stats.ejectionsActive;
    const allowed = (100 * (active + 1)) / total <= this.cfg.maxEjectionPercent || (this.cfg.alwaysEjectOneHost && active === 0);
    if (!allowed) {
      this.stats.ejectionsOverflow++;
      return false;
    }
    if (this.random() * 100 >= enforcingPct) return false;
    const now = this.clock.now();
    m.ejected = true;
    m.ejections++;
    // Envoy grows the multiplier only while base x multiplier < max + base: past that the ejection time is
    // capped anyway, and a bounded multiplier decays back in a bounded number of healthy intervals.
    if (m.multiplier * this.cfg.baseEjectionTimeMs < this.cfg.maxEjectionTimeMs + this.cfg.baseEjectionTimeMs) m.multiplier++;
    m.ejectedAtMs = now;
    m.ejectedUntilMs = now + this.ejectionDurationMs(m);
    m.lastEjectionReason = reason;
    host.ejected = true;
    this.stats.ejectionsActive++;
    this.stats.ejectionsEnforcedTotal++;
    this.onChange(host, true, reason);
    return true;
  }

  private uneject(host: Host, m: Monitor, now: number): void {
    m.ejected = false;
    m.lastUnejectedAtMs = now;
    m.ejectedUntilMs = undefined;
    m.consecutive5xx = 0;
    m.consecutiveGatewayFailure = 0;
    m.consecutiveLocalOriginFailure = 0;
    host.ejected = false;
    this.stats.ejectionsActive--;
    this.onChange(host, false);
  }

  /** One interval sweep (the timer calls this; tests may call it directly). */
  sweep(): void {
    const now = this.clock.now();
    for (const h of this.hosts) {
      const m = this.monitors.get(h.id);
      if (!m) continue;
      if (m.ejected) {
        if (m.ejectedUntilMs !== undefined && now >= m.ejectedUntilMs) this.uneject(h, m, now);
      } else if (m.multiplier > 0 && (m.lastUnejectedAtMs === undefined || now - m.lastUnejectedAtMs >= this.cfg.intervalMs)) {
        // Healthy for a whole interval since returning: relax the multiplier one step.
        m.multiplier--;
      }
    }
    this.successRateSweep();
    for (const m of this.monitors.values()) { m.ok = 0; m.failed = 0; }
  }

  private successRateSweep(): void {
    const eligible: Array<{ h: Host; m: Monitor; rate: number }> = [];
    // Ejected hosts take part in neither check (as in Envoy): they neither count toward the minimum hosts nor
    // pull the mean down.
    const fpEligible: Array<{ h: Host; m: Monitor }> = [];
    const shownVolume = Math.min(this.cfg.successRateRequestVolume, this.cfg.failurePercentageRequestVolume);
    for (const h of this.hosts) {
      const m = this.monitors.get(h.id);
      if (!m) continue;
      const volume = m.ok + m.failed;
      // The rate shown in /clusters: any host with enough volume for either check.
      m.successRate = volume > 0 && volume >= shownVolume ? (100 * m.ok) / volume : undefined;
      if (m.ejected || volume === 0) continue;
      if (volume >= this.cfg.successRateRequestVolume) eligible.push({ h, m, rate: (100 * m.ok) / volume });
      if (volume >= this.cfg.failurePercentageRequestVolume) fpEligible.push({ h, m });
    }
    if (eligible.length >= this.cfg.successRateMinimumHosts && eligible.length > 0) {
      const mean = eligible.reduce((a, e) => a + e.rate, 0) / eligible.length;
      const variance = eligible.reduce((a, e) => a + (e.rate - mean) ** 2, 0) / eligible.length;
      const threshold = mean - Math.sqrt(variance) * (this.cfg.successRateStdevFactor / 1000);
      for (const e of eligible) if (e.rate < threshold) this.tryEject(e.h, e.m, 'success_rate', this.cfg.enforcingSuccessRate);
    }
    // Failure percentage: absolute threshold per host with enough volume.
    if (fpEligible.length >= this.cfg.failurePercentageMinimumHosts) {
      for (const { h, m } of fpEligible) {
        if (m.ejected) continue; // just ejected by success rate
        if ((100 * m.failed) / (m.ok + m.failed) >= this.cfg.failurePercentageThreshold) {
          this.tryEject(h, m, 'failure_percentage', this.cfg.enforcingFailurePercentage);
        }
      }
    }
  }
}
