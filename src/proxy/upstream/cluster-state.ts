// proxy/upstream: the live state of one cluster — hosts from EDS/inline endpoints, balancer, outlier
// detector and circuit breakers — and the engine's single entry point for them: pick, track, report.
// Also renders the per-endpoint view for the admin /clusters page and the summary used to explain 503s.
import type { Clock } from '../../common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, EndpointConfig, LocalityEndpoints } from '../config/types.ts';
import { makeHost, isHealthyStatus, type Host, type PickContext, type Random } from './lb/types.ts';
import { mathRandom } from './lb/random.ts';
import { ClusterLoadBalancer, type LbConfig } from './lb/cluster-lb.ts';
import { OutlierDetector, type LocalOriginEvent, type OutlierHostState } from './outlier.ts';
import { CircuitBreakers } from './circuit-breaker.ts';

export interface ClusterStateOptions {
  clock: Clock;
  random?: Random;
}

/** Counts that explain a cluster's health ("all 3 endpoints ejected by outlier detection"). */
export interface EndpointsSummary {
  total: number;
  healthy: number;
  /** Failed EDS health (UNHEALTHY/TIMEOUT). */
  unhealthy: number;
  degraded: number;
  draining: number;
  /** Ejected by outlier detection (whatever their EDS health). */
  ejected: number;
  /** Priorities currently in panic (balancing over unhealthy hosts too). */
  panicPriorities: number[];
  /** Extra cause when healthy hosts exist but none can be picked (e.g. localities without weights). */
  note?: string;
}

export type PickResult =
  | { host: Host; reason?: undefined }
  | { host?: undefined; reason: 'no_hosts' | 'no_healthy_hosts'; summary: EndpointsSummary };

export interface HostAdminView {
  address: string;
  port: number;
  weight: number;
  priority: number;
  locality: string;
  health: string;
  /** Envoy's health_flags text: "healthy" or "/failed_outlier_check/failed_eds_health" etc. */
  healthFlags: string;
  activeRequests: number;
  outlier?: OutlierHostState;
}

/** Request counters this layer owns, named as Envoy's cluster.<name>.* stats. */
export class ClusterCounters {
  upstream_rq_total = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_success = 0;
  upstream_rq_retry_limit_exceeded = 0;
  upstream_rq_per_try_timeout = 0;
  upstream_rq_timeout = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_none_healthy = 0;
}

export function localityKey(l: LocalityEndpoints['locality']): string {
  return l.region || l.zone || l.subZone ? `${l.region}/${l.zone}/${l.subZone}` : '';
}

function lbConfigOf(c: ClusterConfig, cla: ClusterLoadAssignment | undefined): LbConfig {
  return {
    policy: c.lbPolicy,
    leastRequest: c.leastRequest,
    ringHash: c.ringHash,
    maglev: c.maglev,
    overprovisioningFactor: cla?.overprovisioningFactor ?? 140,
    healthyPanicThreshold: c.commonLbConfig.healthyPanicThresholdPercent,
    localityWeighted: c.commonLbConfig.localityWeighted,
  };
}

export class ClusterState {
  private cfg: ClusterConfig;
  private cla: ClusterLoadAssignment | undefined;
  private hostList: Host[] = [];
  private lb: ClusterLoadBalancer;
  private detector: OutlierDetector | undefined;
  private cb: CircuitBreakers;
  private readonly clock: Clock;
  private readonly random: Random;
  /** Survive CDS/EDS updates; the engine and runWithRetries increment them. */
  readonly counters = new ClusterCounters();
  private panicPicksBefore = 0;

  constructor(config: ClusterConfig, endpoints: ClusterLoadAssignment | undefined, opts: ClusterStateOptions) {
    this.clock = opts.clock;
    this.random = opts.random ?? mathRandom;
    this.cfg = config;
    this.cla = endpoints;
    this.lb = new ClusterLoadBalancer(lbConfigOf(config, endpoints), this.random);
    this.cb = new CircuitBreakers(config.circuitBreakers);
    this.detector = this.makeDetector(config);
    this.setEndpoints(endpoints);
  }

  get name(): string { return this.cfg.name; }
  get config(): ClusterConfig { return this.cfg; }
  get hosts(): readonly Host[] { return this.hostList; }
  get breakers(): CircuitBreakers { return this.cb; }
  get outlier(): OutlierDetector | undefined { return this.detector; }
  get balancer(): ClusterLoadBalancer { return this.lb; }

  private makeDetector(c: ClusterConfig): OutlierDetector | undefined {
    if (!c.outlierDetection) return undefined;
    const d = new OutlierDetector(c.outlierDetection, this.clock, this.random, () => this.lb.refresh());
    d.start();
    return d;
  }

  /**
   * CDS update. Balancer and breakers are rebuilt (in-flight releases still decrement their old
   * counters); outlier state is kept when outlier config is unchanged, as hosts keep their history.
   */
  updateConfig(config: ClusterConfig): void {
    const outlierChanged = JSON.stringify(config.outlierDetection) !== JSON.stringify(this.cfg.outlierDetection);
    this.cfg = config;
    this.panicPicksBefore += this.lb.panicPicks;
    this.lb = new ClusterLoadBalancer(lbConfigOf(config, this.cla), this.random);
    // Breakers are rebuilt with the new thresholds; overflow counts carry over for /stats.
    const oldBreakers = this.cb;
    this.cb = new CircuitBreakers(config.circuitBreakers);
    for (const p of ['DEFAULT', 'HIGH'] as const) Object.assign(this.cb.forPriority(p).stats.overflow, oldBreakers.forPriority(p).stats.overflow);
    if (outlierChanged) {
      this.detector?.stop();
      for (const h of this.hostList) h.ejected = false;
      this.detector = this.makeDetector(config);
      this.detector?.setHosts(this.hostList);
    }
    this.lb.update(this.hostList);
  }

  /** EDS update: hosts that stay (same address:port) keep their active counts and outlier state. */
  updateEndpoints(endpoints: ClusterLoadAssignment | undefined): void {
    // Snapshots reuse unchanged resources: skip the rebuild (ring/maglev tables, RR position) when nothing changed.
    if (endpoints === this.cla && endpoints !== undefined) return;
    const factorChanged = (endpoints?.overprovisioningFactor ?? 140) !== (this.cla?.overprovisioningFactor ?? 140);
    this.cla = endpoints;
    if (factorChanged) {
      this.panicPicksBefore += this.lb.panicPicks;
      this.lb = new ClusterLoadBalancer(lbConfigOf(this.cfg, endpoints), this.random);
    }
    this.setEndpoints(endpoints);
  }

  private setEndpoints(endpoints: ClusterLoadAssignment | undefined): void {
    const previous = new Map(this.hostList.map((h) => [h.id, h]));
    const next: Host[] = [];
    for (const loc of endpoints?.localities ?? []) {
      for (const ep of loc.endpoints) next.push(this.hostFrom(ep, loc, previous));
    }
    this.hostList = next;
    this.detector?.setHosts(next);
    this.lb.update(next);
  }

  private hostFrom(ep: EndpointConfig, loc: LocalityEndpoints, previous: Map<string, Host>): Host {
    const h = makeHost({
      address: ep.address, port: ep.port, weight: ep.weight, priority: loc.priority,
      locality: localityKey(loc.locality), localityWeight: loc.weight, health: ep.health,
    });
    const old = previous.get(h.id);
    if (old) {
      h.activeRequests = old.activeRequests;
      h.ejected = old.ejected;
    }
    return h;
  }

  /** Pick an endpoint for a request; on failure the reason and summary feed the 503 UH explanation. */
  pick(ctx: PickContext = {}): PickResult {
    if (this.hostList.length === 0) return { reason: 'no_hosts', summary: this.summary() };
    const host = this.lb.pick(ctx);
    if (!host) {
      const summary = this.summary();
      if (summary.healthy > 0 && this.cfg.commonLbConfig.localityWeighted && this.hostList.every((h) => !h.localityWeight)) {
        summary.note = 'locality-weighted balancing is on but no locality has a load_balancing_weight, so no locality gets traffic';
      }
      return { reason: 'no_healthy_hosts', summary };
    }
    return { host };
  }

  /** startRequest without a release closure: the caller calls endRequest(host) exactly once. */
  beginRequest(host: Host): void { host.activeRequests++; }
  endRequest(host: Host): void { host.activeRequests--; }

  /** Count a request as active on the host (least request reads this); call the result when it ends. */
  startRequest(host: Host): () => void {
    this.beginRequest(host);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.endRequest(host);
    };
  }

  /** Feed a response code to outlier detection. */
  reportHttp(host: Host, status: number): void {
    this.detector?.reportHttp(host, status);
  }

  /** Feed a local-origin event (connect failure, timeout, reset, success) to outlier detection. */
  reportLocal(host: Host, event: LocalOriginEvent): void {
    this.detector?.reportLocal(host, event);
  }

  /** Mark a host's active health (e.g. from a health checker); rebuilds the balancer. */
  setHealth(host: Host, health: Host['health']): void {
    host.health = health;
    this.lb.refresh();
  }

  summary(): EndpointsSummary {
    const s: EndpointsSummary = { total: 0, healthy: 0, unhealthy: 0, degraded: 0, draining: 0, ejected: 0, panicPriorities: [] };
    for (const h of this.hostList) {
      s.total++;
      if (h.ejected) s.ejected++;
      if (h.health === 'DEGRADED') s.degraded++;
      else if (h.health === 'DRAINING') s.draining++;
      else if (!isHealthyStatus(h.health)) s.unhealthy++;
      else if (!h.ejected) s.healthy++;
    }
    s.panicPriorities = this.lb.priorityLevels.filter((l) => l.panic).map((l) => l.priority);
    return s;
  }

  /** Envoy-named stats for this cluster (without the "cluster.<name>." prefix). */
  stats(): Record<string, number> {
    const s = this.summary();
    const out: Record<string, number> = {
      membership_total: s.total,
      membership_healthy: s.healthy,
      membership_degraded: s.degraded,
      lb_healthy_panic: this.panicPicksBefore + this.lb.panicPicks,
      ...this.counters,
    };
    let cxOverflow = 0;
    let rqOverflow = 0;
    let retryOverflow = 0;
    for (const [p, key] of [['DEFAULT', 'default'], ['HIGH', 'high']] as const) {
      const b = this.cb.forPriority(p);
      cxOverflow += b.stats.overflow.connections;
      rqOverflow += b.stats.overflow.pending + b.stats.overflow.requests;
      retryOverflow += b.stats.overflow.retries;
      out[`circuit_breakers.${key}.cx_open`] = b.isOpen('connections') ? 1 : 0;
      out[`circuit_breakers.${key}.rq_pending_open`] = b.isOpen('pending') ? 1 : 0;
      out[`circuit_breakers.${key}.rq_open`] = b.isOpen('requests') ? 1 : 0;
      out[`circuit_breakers.${key}.rq_retry_open`] = b.isOpen('retries') ? 1 : 0;
      out[`circuit_breakers.${key}.remaining_cx`] = b.remaining('connections');
      out[`circuit_breakers.${key}.remaining_pending`] = b.remaining('pending');
      out[`circuit_breakers.${key}.remaining_rq`] = b.remaining('requests');
      out[`circuit_breakers.${key}.remaining_retries`] = b.remaining('retries');
    }
    out.upstream_cx_overflow = cxOverflow;
    out.upstream_rq_pending_overflow = rqOverflow;
    out.upstream_rq_retry_overflow = retryOverflow;
    if (this.detector) {
      const o = this.detector.stats;
      out['outlier_detection.ejections_active'] = o.ejectionsActive;
      out['outlier_detection.ejections_enforced_total'] = o.ejectionsEnforcedTotal;
      out['outlier_detection.ejections_overflow'] = o.ejectionsOverflow;
      for (const [k, v] of Object.entries(o.ejectionsDetected)) out[`outlier_detection.ejections_detected_${k}`] = v;
    }
    return out;
  }

  adminHosts(): HostAdminView[] {
    return this.hostList.map((h) => {
      const flags: string[] = [];
      if (h.ejected) flags.push('/failed_outlier_check');
      if (h.health === 'UNHEALTHY' || h.health === 'TIMEOUT') flags.push('/failed_eds_health');
      if (h.health === 'DEGRADED') flags.push('/degraded_eds_health');
      if (h.health === 'DRAINING') flags.push('/pending_dynamic_removal');
      return {
        address: h.address, port: h.port, weight: h.weight, priority: h.priority, locality: h.locality,
        health: h.health, healthFlags: flags.length ? flags.join('') : 'healthy',
        activeRequests: h.activeRequests, outlier: this.detector?.state(h),
      };
    });
  }

  /** Envoy-style /clusters text lines for this cluster ("name::ip:port::key::value"). */
  adminText(): string[] {
    const n = this.cfg.name;
    const lines: string[] = [];
    const t = this.cb.forPriority('DEFAULT').thresholds;
    const h = this.cb.forPriority('HIGH').thresholds;
    for (const [p, th] of [['default_priority', t], ['high_priority', h]] as const) {
      lines.push(`${n}::${p}::max_connections::${th.maxConnections}`, `${n}::${p}::max_pending_requests::${th.maxPendingRequests}`,
        `${n}::${p}::max_requests::${th.maxRequests}`, `${n}::${p}::max_retries::${th.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::true`);
    for (const v of this.adminHosts()) {
      const id = `${n}::${v.address}:${v.port}`;
      const [region = '', zone = '', subZone = ''] = v.locality ? v.locality.split('/') : [];
      lines.push(`${id}::rq_active::${v.activeRequests}`, `${id}::weight::${v.weight}`, `${id}::region::${region}`,
        `${id}::zone::${zone}`, `${id}::sub_zone::${subZone}`, `${id}::priority::${v.priority}`,
        `${id}::success_rate::${v.outlier?.successRate ?? -1}`, `${id}::health_flags::${v.healthFlags}`);
      if (v.outlier?.ejected) lines.push(`${id}::outlier_ejected_until_ms::${v.outlier.ejectedUntilMs}`, `${id}::outlier_reason::${v.outlier.lastEjectionReason}`);
    }
    return lines;
  }

  /** Stop timers (cluster removed). */
  close(): void {
    this.detector?.stop();
  }
}
