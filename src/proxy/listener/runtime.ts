// proxy/listener: the per-filter-chain runtime an HTTP connection reads for each new request (hitless updates).
import type { Clock } from '../../common/clock.ts';
import type { FaultConfig, HttpHandlerConfig } from '../config/types.ts';
import type { FaultFilter } from '../http/filters/fault.ts';
import type { HttpRouter } from '../http/route-types.ts';
import type { UpstreamManager } from '../upstream/pool-manager.ts';
import type { Random } from '../upstream/lb/types.ts';

/** Swapped (not mutated) on config updates, so a request sees one consistent handler + router. */
export interface HttpChainRuntime {
  readonly handler: HttpHandlerConfig;
  readonly router: HttpRouter;
  /** The HCM's fault filter config, when the chain has an enabled envoy.filters.http.fault. */
  readonly fault?: FaultConfig;
}

/** Runtime for a chain: router plus the filter configs the exchange applies. */
export function chainRuntime(handler: HttpHandlerConfig, router: HttpRouter): HttpChainRuntime {
  let fault: FaultConfig | undefined;
  for (const f of handler.httpFilters) if (f.type === 'fault' && !f.disabled) fault = f.fault;
  return { handler, router, fault };
}

/** Counters the admin /stats endpoint reads; names follow Envoy's where one exists. */
export class EngineStats {
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_rq_total = 0;
  downstream_rq_active = 0;
  downstream_rq_1xx = 0;
  downstream_rq_2xx = 0;
  downstream_rq_3xx = 0;
  downstream_rq_4xx = 0;
  downstream_rq_5xx = 0;
  downstream_cx_protocol_error = 0;
  /** TLS connections closed because their filter chain's certificate or trust bundle (SDS) is not there. */
  downstream_context_secrets_not_ready = 0;
  upstream_rq_total = 0;
  upstream_cx_connect_fail = 0;
  upstream_rq_timeout = 0;
  upstream_rq_retry = 0;
  upstream_rq_pending_overflow = 0;
  upstream_rq_retry_limit_exceeded = 0;
  fault_injected = 0;
  tcp_cx_total = 0;
  /** Requests per response flag (Envoy's %RESPONSE_FLAGS% letters, Istio's response_flags label). */
  readonly responseFlags = new Map<string, number>();
  countFlags(flags: readonly string[]): void {
    for (const f of flags) this.responseFlags.set(f, (this.responseFlags.get(f) ?? 0) + 1);
  }
  countStatus(status: number): void {
    if (status < 200) this.downstream_rq_1xx++;
    else if (status < 300) this.downstream_rq_2xx++;
    else if (status < 400) this.downstream_rq_3xx++;
    else if (status < 500) this.downstream_rq_4xx++;
    else this.downstream_rq_5xx++;
  }
}

/** One finished request, for access logs and telemetry. */
export interface RequestRecord {
  method: string;
  path: string;
  authority: string;
  status: number;
  flags: string[];
  cluster: string;
  upstreamHost: string;
  routeName: string;
  durationMs: number;
  requestId: string;
  listener: string;
  /** Plain-language reason when flags are set ("why did I get a 503?"). */
  explanation?: string;
}

/** Shared by every connection of the engine. */
export interface EngineContext {
  readonly clock: Clock;
  readonly random: Random;
  readonly upstreams: UpstreamManager;
  readonly stats: EngineStats;
  readonly faults: FaultFilter;
  /** Socket I/O path (documented, or the internal fast path). */
  readonly io: import('../io/types.ts').SocketIO;
  /** True once the engine is draining: responses carry `connection: close` and idle connections close. */
  draining: boolean;
  onRequestComplete?: (r: RequestRecord) => void;
  /** Call onRequestComplete only for requests with response flags (saves a record per healthy request). */
  readonly completeOnlyFlagged?: boolean;
  /** SDS secrets TLS contexts name ("default", "ROOTCA": the certificate agent's; others from xDS). */
  readonly secrets?: import('../tls/context.ts').SecretSource;
  /** Istio metrics, access logs and peer metadata (src/proxy/telemetry); absent: none of them. */
  telemetry?: import('../telemetry/types.ts').RequestTelemetry;
  /** Opens HTTP/2 upstream streams (set by the h2 module; absent: clusters with http2 use HTTP/1.1). */
  h2Upstream?: import('../http/h2-upstream.ts').H2UpstreamFactory;
}
