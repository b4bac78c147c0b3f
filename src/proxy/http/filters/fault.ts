// proxy/http/filters: HTTP fault injection (envoy.filters.http.fault) — fixed or header-controlled delays and
// HTTP / gRPC aborts, each sampled by its own percentage; response flags DI (delay) and FI (abort).
// The request headers x-envoy-fault-* are honoured only when the fault is configured as header-controlled
// (header_delay / header_abort); otherwise they are ignored, so clients cannot inject faults.
// Route-level typed_per_filter_config replaces the filter's config (effectiveFaultConfig).
import type { Clock } from '../../../common/clock.ts';
import type { FaultConfig, Fraction, PerFilterConfig } from '../../config/types.ts';
import type { Random } from '../../upstream/lb/types.ts';
import { matchAllHeaders, type HeaderLookup } from './match.ts';

export interface FaultRequest {
  headers: HeaderLookup;
  /** The cluster the route selected (for upstream_cluster). */
  cluster?: string;
  /** Whether this is a gRPC request (content-type application/grpc*): aborts are sent as gRPC statuses. */
  grpc?: boolean;
}

export interface FaultAbort {
  /** HTTP status to send (200 for gRPC aborts). */
  status: number;
  grpcStatus?: number;
  body: string;
  headers: Array<[string, string]>;
}

export interface FaultPlan {
  delayMs?: number;
  abort?: FaultAbort;
  flags: Array<'DI' | 'FI'>;
  /** Call when the request finishes: frees the max_active_faults slot. Idempotent. */
  release: () => void;
}

export const FAULT_ABORT_BODY = 'fault filter abort';

/** The config that applies to a route: its per-filter override when present, else the filter's. */
export function effectiveFaultConfig(filter: FaultConfig | undefined, ...overrides: Array<PerFilterConfig | undefined>): FaultConfig | undefined {
  for (const o of overrides) if (o?.fault) return o.fault;
  return filter;
}

/** gRPC status for an HTTP status, per the gRPC HTTP mapping (used when a gRPC request gets an HTTP abort). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

function sample(random: Random, f: Fraction): boolean {
  if (f.numerator <= 0) return false;
  if (f.numerator >= f.denominator) return true;
  return Math.floor(random() * f.denominator) < f.numerator;
}

/** A header percentage (numerator in the configured denominator) can only lower the configured one. */
function headerFraction(headers: HeaderLookup, name: string, configured: Fraction): Fraction {
  const v = headers.get(name);
  if (v === undefined || !/^\d+$/.test(v.trim())) return configured;
  return { numerator: Math.min(Number(v.trim()), configured.numerator), denominator: configured.denominator };
}

function intHeader(headers: HeaderLookup, name: string): number | undefined {
  const v = headers.get(name);
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

export class FaultFilter {
  /** Faults currently in progress (delayed or aborted requests not yet finished). */
  active = 0;
  readonly stats = { delaysInjected: 0, abortsInjected: 0, faultsOverflow: 0 };

  constructor(private readonly random: Random) {}

  /** Decide the faults for a request. Returns undefined when none applies. */
  plan(cfg: FaultConfig | undefined, req: FaultRequest): FaultPlan | undefined {
    if (!cfg || (!cfg.delay && !cfg.abort)) return undefined;
    if (cfg.upstreamCluster && req.cluster !== cfg.upstreamCluster) return undefined;
    if (!matchAllHeaders(cfg.headers, req.headers)) return undefined;
    if (cfg.downstreamNodes.length) {
      const node = req.headers.get('x-envoy-downstream-service-node');
      if (node === undefined || !cfg.downstreamNodes.includes(node)) return undefined;
    }
    let delayMs: number | undefined;
    if (cfg.delay) {
      const d = cfg.delay;
      const ms = d.headerControlled ? intHeader(req.headers, 'x-envoy-fault-delay-request') : d.fixedDelayMs;
      const pct = d.headerControlled ? headerFraction(req.headers, 'x-envoy-fault-delay-request-percentage', d.percentage) : d.percentage;
      if (ms !== undefined && ms > 0 && sample(this.random, pct)) delayMs = ms;
    }
    let abort: FaultAbort | undefined;
    if (cfg.abort) {
      const a = cfg.abort;
      let http = a.httpStatus;
      let grpc = a.grpcStatus;
      if (a.headerControlled) {
        http = intHeader(req.headers, 'x-envoy-fault-abort-request');
        grpc = intHeader(req.headers, 'x-envoy-fault-abort-grpc-request');
        if (http !== undefined && (http < 200 || http >= 600)) http = undefined;
      }
      const pct = a.headerControlled ? headerFraction(req.headers, 'x-envoy-fault-abort-request-percentage', a.percentage) : a.percentage;
      if ((http !== undefined || grpc !== undefined) && sample(this.random, pct)) abort = this.abortResponse(http, grpc, req.grpc ?? false);
    }
    if (delayMs === undefined && !abort) return undefined;
    if (cfg.maxActiveFaults !== undefined && this.active >= cfg.maxActiveFaults) {
      this.stats.faultsOverflow++;
      return undefined;
    }
    this.active++;
    let released = false;
    const flags: FaultPlan['flags'] = [];
    if (delayMs !== undefined) { flags.push('DI'); this.stats.delaysInjected++; }
    if (abort) { flags.push('FI'); this.stats.abortsInjected++; }
    return { delayMs, abort, flags, release: () => { if (!released) { released = true; this.active--; } } };
  }

  private abortResponse(http: number | undefined, grpc: number | undefined, isGrpc: boolean): FaultAbort {
    if (grpc !== undefined || isGrpc) {
      const code = grpc ?? httpToGrpcStatus(http!);
      // gRPC errors travel as a trailers-only response: HTTP 200 with grpc-status in the headers.
      return { status: 200, grpcStatus: code, body: '', headers: [['content-type', 'application/grpc'], ['grpc-status', String(code)], ['grpc-message', FAULT_ABORT_BODY]] };
    }
    return { status: http!, body: FAULT_ABORT_BODY, headers: [['content-type', 'text/plain']] };
  }

  /** Wait out the plan's delay on the clock (resolves at once when there is none). */
  delay(plan: FaultPlan, clock: Clock, signal?: AbortSignal): Promise<boolean> {
    // Resolves true when the delay elapsed, false when `signal` aborted it (downstream disconnected).
    if (!plan.delayMs) return Promise.resolve(true);
    return new Promise((resolve) => {
      if (signal?.aborted) { resolve(false); return; }
      const onAbort = () => { clock.clearTimeout(t); resolve(false); };
      const t = clock.setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(true); }, plan.delayMs!);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
