// proxy/http: per-request retry state from the route's retry policy (Envoy router semantics).
// The engine asks `evaluate(outcome)` after every failed or retriable attempt and gets back either
// "retry after N ms", "done" (pass this response/failure through) or "give up" with the response flag to
// add (URX: retries exhausted; UO: the cluster's max_retries / retry budget breaker overflowed).
//
// Engine protocol:
//   const rs = new RetryState(decision.retryPolicy, { random, breaker, requestHeaders });
//   loop: host = pick({ rejectHost: rs.rejectHost, hostSelectionRetryMaxAttempts: rs.hostSelectionRetryMaxAttempts });
//         rs.recordHost(host); set x-envoy-attempt-count: rs.attempt (if the virtual host asks);
//         send with per-try timeout rs.perTryTimeoutMs (0: none);
//         d = rs.evaluate(outcome); if d.action === 'retry': await rs.backoff(clock, d.delayMs); continue;
//         else forward the response / local reply, adding d.flag when action is 'give-up'.
//   Always rs.dispose() at the end (releases a held retry budget slot).
import type { Clock } from '../../common/clock.ts';
import type { RetryPolicyConfig } from '../config/types.ts';
import type { Random } from '../upstream/lb/types.ts';
import type { AcquireResult } from '../upstream/circuit-breaker.ts';
import { matchAnyHeader, type HeaderLookup } from './filters/match.ts';

/** Why an attempt failed without a usable response. */
export type AttemptFailure =
  | 'connect-failure' // could not connect (refused, connect timeout)
  | 'reset-before-response' // connection closed / stream reset before the response head
  | 'refused-stream' // HTTP/2 REFUSED_STREAM
  | 'protocol-error' // malformed upstream response (treated as a reset, as Envoy does)
  | 'per-try-timeout' // the attempt's own timeout fired
  | 'timeout' // the route's global timeout: never retried
  | 'reset-after-response'; // response already started downstream: cannot retry

export type AttemptOutcome =
  | { kind: 'response'; status: number; headers: HeaderLookup }
  | { kind: 'failure'; failure: AttemptFailure };

export type RetryDecision =
  | { action: 'retry'; delayMs: number; /** The attempt number the retry will be (2 for the first retry). */ attempt: number; reason: string }
  | { action: 'done' }
  | { action: 'give-up'; flag: 'URX' | 'UO'; reason: string; /** For UO: the retry breaker's limit. */ limit?: number };

export interface RetryBreaker {
  tryAcquire(resource: 'retries'): AcquireResult;
}

export interface RetryStateOptions {
  random: Random;
  /** The cluster's breaker for the request's priority (max_retries / retry budget). */
  breaker?: RetryBreaker;
  /** Downstream request headers: x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries, per-try timeout. */
  requestHeaders?: HeaderLookup;
  /** Honour the x-envoy-* retry request headers (Envoy does unless the edge strips them). Default true. */
  honorRequestHeaders?: boolean;
}

/** retry_on conditions that apply to HTTP status / resets. */
const HTTP_CONDITIONS = new Set(['5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure']);
/** gRPC conditions (from x-envoy-retry-grpc-on or mixed into retry_on, as Istio does) with their grpc-status codes. */
const GRPC_CONDITIONS: Record<string, number> = {
  cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14,
};

export const DEFAULT_BACKOFF_BASE_MS = 25;

function parseConditions(list: readonly string[]): { http: Set<string>; grpc: Set<number>; codes: number[] } {
  const http = new Set<string>();
  const grpc = new Set<number>();
  const codes: number[] = [];
  for (const raw of list) {
    const c = raw.trim().toLowerCase();
    if (!c) continue;
    if (HTTP_CONDITIONS.has(c)) http.add(c);
    else if (c in GRPC_CONDITIONS) grpc.add(GRPC_CONDITIONS[c]);
    else if (/^[1-5]\d\d$/.test(c)) codes.push(Number(c)); // Istio-style bare status codes
  }
  return { http, grpc, codes };
}

/** Policy conditions parsed once per route config object, not per request (the result is only read). */
const policyConditions = new WeakMap<RetryPolicyConfig, ReturnType<typeof parseConditions>>();
function conditionsOf(policy: RetryPolicyConfig | undefined): ReturnType<typeof parseConditions> {
  if (!policy) return parseConditions([]);
  let c = policyConditions.get(policy);
  if (!c) { c = parseConditions(policy.retryOn ?? []); policyConditions.set(policy, c); }
  return c;
}

/**
 * Policies that may retry a 2xx (retriable headers, or status lists below 300) need their state from the first
 * response; the others can create it lazily on a failure. Read from the policy's cached conditions.
 */
export function needsEagerRetry(p: RetryPolicyConfig): boolean {
  const c = conditionsOf(p);
  return c.http.has('retriable-headers') || p.retriableStatusCodes.some((x) => x < 300) || c.codes.some((x) => x < 300);
}

function splitList(v: string | undefined): string[] {
  return v ? v.split(',') : [];
}

export class RetryState {
  private readonly http: Set<string>;
  private readonly grpc: Set<number>;
  private readonly retriableCodes: Set<number>;
  private readonly policy: RetryPolicyConfig | undefined;
  private readonly random: Random;
  private readonly breaker: RetryBreaker | undefined;
  private readonly maxRetries: number;
  private readonly triedHosts = new Set<string>();
  private readonly usePreviousHosts: boolean;
  private held: (() => void) | undefined;
  private disabledReason: string | undefined;
  /** 1 for the first attempt; incremented by backoff()/beginRetry(). */
  attempt = 1;
  /** Retries performed so far. */
  retriesDone = 0;
  /** Per-attempt timeout in ms; 0 = none (the route timeout still applies). */
  readonly perTryTimeoutMs: number;
  readonly hostSelectionRetryMaxAttempts: number;

  constructor(policy: RetryPolicyConfig | undefined, opts: RetryStateOptions) {
    this.policy = policy;
    this.random = opts.random;
    this.breaker = opts.breaker;
    const honor = opts.honorRequestHeaders ?? true;
    const hdr = honor ? opts.requestHeaders : undefined;
    const fromPolicy = conditionsOf(policy);
    const fromHeader = parseConditions([...splitList(hdr?.get('x-envoy-retry-on')), ...splitList(hdr?.get('x-envoy-retry-grpc-on'))]);
    this.http = new Set([...fromPolicy.http, ...fromHeader.http]);
    this.grpc = new Set([...fromPolicy.grpc, ...fromHeader.grpc]);
    this.retriableCodes = new Set([...(policy?.retriableStatusCodes ?? []), ...fromPolicy.codes, ...fromHeader.codes]);
    if (fromPolicy.codes.length || fromHeader.codes.length) this.http.add('retriable-status-codes');
    // Without a policy, request headers alone may enable retries; the count then defaults to 1 (Envoy).
    let max = policy?.numRetries ?? 1;
    const headerMax = hdr?.get('x-envoy-max-retries');
    if (headerMax !== undefined && /^\d+$/.test(headerMax.trim())) max = Number(headerMax.trim());
    this.maxRetries = this.http.size || this.grpc.size ? max : 0;
    let perTry = policy?.perTryTimeoutMs ?? 0;
    const headerPerTry = hdr?.get('x-envoy-upstream-rq-per-try-timeout-ms');
    if (headerPerTry !== undefined && /^\d+$/.test(headerPerTry.trim())) perTry = Number(headerPerTry.trim());
    this.perTryTimeoutMs = perTry;
    this.usePreviousHosts = (policy?.retryHostPredicates ?? []).some((p) => p.endsWith('previous_hosts'));
    this.hostSelectionRetryMaxAttempts = policy?.hostSelectionRetryMaxAttempts ?? 1;
    if (policy && policy.retriableRequestHeaders.length && opts.requestHeaders && !matchAnyHeader(policy.retriableRequestHeaders, opts.requestHeaders)) {
      this.disabledReason = 'request does not match retriable_request_headers';
    }
  }

  /** Whether any retry may happen for this request. */
  get enabled(): boolean {
    return this.maxRetries > 0 && this.disabledReason === undefined;
  }

  get retriesRemaining(): number {
    return Math.max(0, this.maxRetries - this.retriesDone);
  }

  /** Turn retries off for this request (e.g. the body exceeded the retry buffer limit). */
  disable(reason: string): void {
    this.disabledReason ??= reason;
  }

  /** Host predicate for the balancer: with previous_hosts, reject hosts already tried. */
  readonly rejectHost = (h: { id: string }): boolean => this.usePreviousHosts && this.triedHosts.has(h.id);

  recordHost(h: { id: string }): void {
    this.triedHosts.add(h.id);
  }

  /** Value for x-envoy-attempt-count. */
  attemptCountHeader(): string {
    return String(this.attempt);
  }

  /** Whether the outcome matches a retry_on condition (ignores remaining budget). */
  isRetriable(o: AttemptOutcome): string | undefined {
    const on = this.http;
    if (o.kind === 'failure') {
      switch (o.failure) {
        case 'timeout':
        case 'reset-after-response':
          return undefined;
        case 'connect-failure':
          if (on.has('connect-failure')) return 'connect-failure';
          // A failed connect is the one reset we know happened before any request byte went out.
          if (on.has('reset-before-request')) return 'reset-before-request (connect-failure)';
          break;
        case 'refused-stream':
          if (on.has('refused-stream')) return 'refused-stream';
          break;
        default:
          break;
      }
      // 5xx, gateway-error and reset all cover every reset kind, connect failures and per-try timeouts.
      for (const c of ['5xx', 'gateway-error', 'reset']) if (on.has(c)) return `${c} (${o.failure})`;
      return undefined;
    }
    const s = o.status;
    const h = o.headers;
    if (h.get('x-envoy-overloaded') !== undefined) return undefined;
    if (on.has('5xx') && s >= 500 && s <= 599) return '5xx';
    if (on.has('gateway-error') && (s === 502 || s === 503 || s === 504)) return 'gateway-error';
    if (on.has('retriable-4xx') && s === 409) return 'retriable-4xx';
    if (on.has('retriable-status-codes') && this.retriableCodes.has(s)) return `retriable-status-codes (${s})`;
    if (on.has('envoy-ratelimited') && h.get('x-envoy-ratelimited') !== undefined) return 'envoy-ratelimited';
    if (on.has('retriable-headers') && this.policy && matchAnyHeader(this.policy.retriableHeaders, h)) return 'retriable-headers';
    if (this.grpc.size) {
      const gs = h.get('grpc-status');
      if (gs !== undefined && /^\d+$/.test(gs) && this.grpc.has(Number(gs))) return `grpc-status ${gs}`;
    }
    return undefined;
  }

  /** Jittered exponential backoff: uniform in [0, (2^N - 1) x base), capped at max (default 10 x base). */
  backoffMs(retryNumber: number): number {
    const base = this.policy?.backoff.baseIntervalMs || DEFAULT_BACKOFF_BASE_MS;
    const max = this.policy?.backoff.maxIntervalMs || base * 10;
    const upper = Math.min((2 ** Math.min(retryNumber, 30) - 1) * base, max);
    return Math.min(max, Math.floor(this.random() * upper));
  }

  evaluate(o: AttemptOutcome): RetryDecision {
    const why = this.isRetriable(o);
    if (why === undefined || this.disabledReason !== undefined || this.maxRetries === 0) return { action: 'done' };
    if (this.retriesDone >= this.maxRetries) {
      return { action: 'give-up', flag: 'URX', reason: `retry limit (${this.maxRetries}) exceeded; last attempt: ${why}` };
    }
    if (this.breaker) {
      const r = this.breaker.tryAcquire('retries');
      if (!r.ok) return { action: 'give-up', flag: 'UO', limit: r.limit, reason: `retry overflow: ${r.limit} concurrent retries allowed (max_retries / retry budget)` };
      this.held?.();
      this.held = r.release;
    }
    const delayMs = this.backoffMs(this.retriesDone + 1);
    return { action: 'retry', delayMs, attempt: this.attempt + 1, reason: why };
  }

  /** Start the retry now: releases the retry-budget slot (held only during backoff, as Envoy does). */
  beginRetry(): void {
    this.held?.();
    this.held = undefined;
    this.retriesDone++;
    this.attempt++;
  }

  /** Wait the backoff on the clock, then beginRetry(). */
  backoff(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<boolean> {
    // Resolves true when the retry may start, false when `signal` aborted the wait (downstream went away).
    return new Promise((resolve) => {
      if (signal?.aborted) { this.dispose(); resolve(false); return; }
      const onAbort = () => { clock.clearTimeout(t); this.dispose(); resolve(false); };
      const t = clock.setTimeout(() => { signal?.removeEventListener('abort', onAbort); this.beginRetry(); resolve(true); }, delayMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Release anything held (request finished or cancelled during backoff). */
  dispose(): void {
    this.held?.();
    this.held = undefined;
  }
}
