// proxy/upstream: circuit breaking per cluster and routing priority (Envoy's thresholds: max_connections,
// max_pending_requests, max_requests, max_retries or a retry budget). Callers acquire before opening a
// connection / queueing / sending / retrying and call the returned release when done; an overflow means
// the engine answers 503 with response flag UO (or, for retries, stops retrying).
import type { CircuitBreakerThresholds } from '../config/types.ts';

export type BreakerResource = 'connections' | 'pending' | 'requests' | 'retries';
export type RoutingPriority = 'DEFAULT' | 'HIGH';

export type Release = () => void;

export type AcquireResult =
  | { ok: true; release: Release }
  | { ok: false; resource: BreakerResource; limit: number; flag: 'UO' };

/** Envoy's defaults when a cluster has no thresholds for a priority. */
export function defaultThresholds(priority: RoutingPriority = 'DEFAULT'): CircuitBreakerThresholds {
  return { priority, maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
}

export interface BreakerStats {
  /** Current usage per resource. */
  active: Record<BreakerResource, number>;
  /** Times an acquire was refused (upstream_cx_overflow, upstream_rq_pending_overflow, ...). */
  overflow: Record<BreakerResource, number>;
}

const zero = (): Record<BreakerResource, number> => ({ connections: 0, pending: 0, requests: 0, retries: 0 });

/** The counters for one priority of one cluster. */
export class PriorityBreaker {
  readonly stats: BreakerStats = { active: zero(), overflow: zero() };

  constructor(readonly thresholds: CircuitBreakerThresholds) {}

  /** The current limit of a resource (retry budgets scale with active + pending requests). */
  limit(resource: BreakerResource): number {
    const t = this.thresholds;
    switch (resource) {
      case 'connections': return t.maxConnections;
      case 'pending': return t.maxPendingRequests;
      case 'requests': return t.maxRequests;
      case 'retries':
        if (t.retryBudget) {
          const outstanding = this.stats.active.requests + this.stats.active.pending;
          return Math.max(t.retryBudget.minRetryConcurrency, Math.floor((t.retryBudget.budgetPercent / 100) * outstanding));
        }
        return t.maxRetries;
    }
  }

  /** Remaining capacity (Envoy's remaining_* gauges). */
  remaining(resource: BreakerResource): number {
    return Math.max(0, this.limit(resource) - this.stats.active[resource]);
  }

  /** Whether the breaker for a resource is open (at its limit): Envoy's cx_open / rq_open ... gauges. */
  isOpen(resource: BreakerResource): boolean {
    return this.stats.active[resource] >= this.limit(resource);
  }

  /**
   * tryAcquire without the result object and release closure (the per-request path): true when taken; the holder
   * calls give(resource) exactly once. An overflow is counted as in tryAcquire.
   */
  tryTake(resource: BreakerResource): boolean {
    // Named property access per resource: one keyed access site seeing all four names goes megamorphic.
    const a = this.stats.active, t = this.thresholds;
    switch (resource) {
      case 'requests': if (a.requests < t.maxRequests) { a.requests++; return true; } break;
      case 'pending': if (a.pending < t.maxPendingRequests) { a.pending++; return true; } break;
      case 'connections': if (a.connections < t.maxConnections) { a.connections++; return true; } break;
      case 'retries': if (a.retries < this.limit('retries')) { a.retries++; return true; } break;
    }
    this.stats.overflow[resource]++;
    return false;
  }

  /** Return what tryTake took. */
  give(resource: BreakerResource): void {
    const a = this.stats.active;
    switch (resource) {
      case 'requests': a.requests--; break;
      case 'pending': a.pending--; break;
      case 'connections': a.connections--; break;
      case 'retries': a.retries--; break;
    }
  }

  tryAcquire(resource: BreakerResource): AcquireResult {
    if (!this.tryTake(resource)) return { ok: false, resource, limit: this.limit(resource), flag: 'UO' };
    let released = false;
    return {
      ok: true,
      release: () => {
        // Idempotent: an error path and a finally block may both release.
        if (released) return;
        released = true;
        this.give(resource);
      },
    };
  }
}

/** A cluster's breakers, one per routing priority. */
export class CircuitBreakers {
  // Two fields, not a Map: forPriority runs on every request.
  private readonly normal: PriorityBreaker;
  private readonly high: PriorityBreaker;

  constructor(thresholds: readonly CircuitBreakerThresholds[] = []) {
    const of = (p: RoutingPriority): PriorityBreaker => new PriorityBreaker(thresholds.find((t) => t.priority === p) ?? defaultThresholds(p));
    this.normal = of('DEFAULT');
    this.high = of('HIGH');
  }

  forPriority(priority: RoutingPriority = 'DEFAULT'): PriorityBreaker {
    return priority === 'HIGH' ? this.high : this.normal;
  }

  tryAcquire(resource: BreakerResource, priority: RoutingPriority = 'DEFAULT'): AcquireResult {
    return this.forPriority(priority).tryAcquire(resource);
  }
}
