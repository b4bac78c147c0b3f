// proxy/admin: what the admin API reads, as providers the engine wires in (the admin server owns no proxy state).
import type { HealthStatus, Locality, ProxyConfigSnapshot } from '../config/types.ts';
import type { TypeStatus } from '../xds-client/client.ts';

/** The xDS side: XdsClient satisfies this. */
export interface XdsStatusProvider {
  status(): TypeStatus[];
  snapshot(): ProxyConfigSnapshot | undefined;
  isReady(): boolean;
  isConnected?(): boolean;
  /** The client's own counters (update_success/rejected per type, connected state); merged into /stats. */
  stats?(): Iterable<Stat>;
}

/** Outlier detection state of one endpoint (from the resilience module). */
export interface OutlierState {
  ejected: boolean;
  /** Wall-clock ms epoch or fake-clock ms when the ejection ends. */
  ejectedUntilMs?: number;
  ejectionCount?: number;
  consecutive5xx?: number;
  consecutiveGatewayFailure?: number;
  consecutiveLocalOriginFailure?: number;
  successRate?: number;
}

export interface EndpointStatus {
  address: string;
  port: number;
  health: HealthStatus;
  weight: number;
  priority?: number;
  locality?: Locality;
  outlier?: OutlierState;
  activeRequests?: number;
  activeConnections?: number;
  totalRequests?: number;
  errors?: number;
}

export interface ClusterStatus {
  name: string;
  endpoints: EndpointStatus[];
  /** Breaker thresholds and current usage, per priority. */
  circuitBreakers?: { priority: string; maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number; remaining?: Record<string, number> }[];
  /** Counters such as upstream_rq_total, upstream_cx_connect_fail, shown as cluster::name::stat. */
  stats?: Record<string, number>;
}

export type Stat =
  | { type: 'counter' | 'gauge'; name: string; value: number; labels?: Record<string, string>; help?: string }
  | { type: 'histogram'; name: string; labels?: Record<string, string>; help?: string; buckets: [le: number, cumulativeCount: number][]; sum: number; count: number };

export interface AdminProviders {
  xds?: XdsStatusProvider;
  clusters?: () => ClusterStatus[];
  /** Pre-rendered /clusters (text and JSON); wins over `clusters` when given. */
  clustersRendered?: { text: () => string; json: () => unknown };
  stats?: () => Iterable<Stat>;
  /** Extra readiness (e.g. listeners bound); /ready is 200 only when xDS is ready and this says so. */
  ready?: () => boolean;
  drainListeners?: (opts: { inboundOnly: boolean; graceful: boolean }) => void | Promise<void>;
  quit?: () => void | Promise<void>;
  /** Bootstrap shown in /config_dump and /server_info. */
  bootstrap?: () => Record<string, unknown>;
  serverInfo?: () => Record<string, unknown>;
  /**
   * Listeners the engine could not bind (engine.listenerStatus() entries with an error); shown in /config_dump as
   * Envoy's error_state. When absent, the `listeners` array of serverInfo() is read for entries with an `error`.
   */
  listenerErrors?: () => Iterable<ListenerError>;
}

/** A listener whose socket failed: its name, why, and (client clock ms) when, if known. */
export interface ListenerError { name: string; error: string; at?: number }
