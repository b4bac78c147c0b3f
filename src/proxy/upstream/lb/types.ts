// proxy/upstream/lb: the small shapes every load balancer shares (hosts, pick context, random source).
// These are the proxy's own narrowed types; the engine adapts ClusterLoadAssignment entries into Host.

/** A source of uniform numbers in [0, 1). Injected so tests are deterministic. */
export type Random = () => number;

/** Envoy's endpoint health as it arrives in EDS (config.core.v3.HealthStatus). */
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

/**
 * One upstream endpoint. Mutable counters (activeRequests, ejected) are shared with the
 * outlier detector and the engine, so the balancer always sees current load without copies.
 */
export interface Host {
  /** Stable identity: "address:port" (used for ring hash positions and admin output). */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** load_balancing_weight, >= 1 (default 1). */
  readonly weight: number;
  /** EDS priority of the host's locality; 0 is the highest. */
  readonly priority: number;
  /** Locality key "region/zone/subzone" ('' when none). */
  readonly locality: string;
  /** Locality load_balancing_weight (0/undefined: locality not weighted). */
  readonly localityWeight?: number;
  /** Health from EDS (or active health checking). */
  health: HealthStatus;
  /** Requests currently in flight to this host (the engine increments/decrements). */
  activeRequests: number;
  /** Set by outlier detection while the host is ejected. */
  ejected: boolean;
}

/** Health as the balancer uses it: healthy, degraded, or not usable. */
export function isHealthyStatus(h: HealthStatus): boolean {
  return h === 'HEALTHY' || h === 'UNKNOWN';
}

export function isUsable(h: Host): boolean {
  return isHealthyStatus(h.health) && !h.ejected;
}

export function makeHost(init: {
  address: string; port: number; weight?: number; priority?: number; locality?: string;
  localityWeight?: number; health?: HealthStatus;
}): Host {
  return {
    id: `${init.address}:${init.port}`,
    address: init.address,
    port: init.port,
    weight: Math.max(1, Math.floor(init.weight ?? 1)),
    priority: init.priority ?? 0,
    locality: init.locality ?? '',
    localityWeight: init.localityWeight,
    health: init.health ?? 'HEALTHY',
    activeRequests: 0,
    ejected: false,
  };
}

/** What a pick may use from the request. */
export interface PickContext {
  /** 64-bit request hash folded to a non-negative safe integer (see hash.ts); needed by ring hash / maglev. */
  hash?: number;
  /**
   * Retry host predicate (e.g. previous_hosts): return true to reject a host. The balancer re-picks
   * up to `hostSelectionRetryMaxAttempts` times, then accepts the last pick (as Envoy does).
   */
  rejectHost?: (h: Host) => boolean;
  hostSelectionRetryMaxAttempts?: number;
}

/** A balancer over one fixed list of hosts (all already filtered for health by the caller). */
export interface HostPicker {
  pick(ctx: PickContext): Host | undefined;
}

/** CLUSTER_PROVIDED (original-destination clusters) balances like ROUND_ROBIN over whatever hosts it has. */
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';
