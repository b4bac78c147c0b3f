// proxy/http: the upstream attempt loop the engine can call per forwarded request — pick a host (with the
// retry host predicate), take the cluster's request breaker, run one attempt under the per-try timeout,
// feed outlier detection, ask RetryState whether to retry (with backoff on the Clock), and finish with either
// the upstream response or a local reply carrying Envoy's status, body and response flags plus the context
// that explain() turns into "why did I get a 503?".
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { ClusterState } from '../upstream/cluster-state.ts';
import type { Host, PickContext } from '../upstream/lb/types.ts';
import type { RoutingPriority } from '../upstream/circuit-breaker.ts';
import { ResponseFlags, type ExplainContext, type ResponseFlag } from '../telemetry/response-flags.ts';
import type { AttemptFailure, AttemptOutcome, RetryState } from './retry.ts';

/** What one attempt produced: an outcome, and for responses the engine's handle to forward or discard. */
export type AttemptResult<T> =
  | { kind: 'response'; status: number; headers: { get(name: string): string | undefined }; value: T }
  | { kind: 'failure'; failure: AttemptFailure; detail?: string };

export interface RetryLoopOptions<T> {
  cluster: ClusterState;
  retry: RetryState;
  clock: Clock;
  /** Request hash etc. for the balancer. */
  pickContext?: PickContext;
  priority?: RoutingPriority;
  /** Route timeout for the whole exchange including retries; 0 / undefined: none. */
  timeoutMs?: number;
  /**
   * Run one attempt against `host`. Must settle (not reject) with a result; when `signal` aborts
   * (per-try or global timeout), stop the attempt and resolve with any failure (it is ignored).
   */
  attempt: (host: Host, attemptNumber: number, signal: AbortSignal) => Promise<AttemptResult<T>>;
  /** A response that will be retried instead of forwarded: close/drain it. */
  discard?: (value: T) => void;
  /** Aborts when the downstream goes away: the attempt is cancelled, no retry follows (flag DC). */
  signal?: AbortSignal;
}

export type RetryLoopResult<T> =
  | { kind: 'response'; host: Host; status: number; value: T; flags: ResponseFlags; attempts: number; explain: ExplainContext }
  /** status 0 with flag DC: the downstream went away, nothing is to be sent (Envoy logs response code 0). */
  | { kind: 'local-reply'; status: number; body: string; flags: ResponseFlags; attempts: number; host?: Host; explain: ExplainContext };

/** Envoy's local reply status and body for a final attempt failure. */
function failureReply(f: AttemptFailure): { status: number; body: string; flag: ResponseFlag } {
  switch (f) {
    case 'connect-failure': return { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure', flag: 'UF' };
    case 'per-try-timeout':
    case 'timeout': return { status: 504, body: 'upstream request timeout', flag: 'UT' };
    case 'protocol-error': return { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: protocol error', flag: 'UPE' };
    case 'refused-stream': return { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset', flag: 'UR' };
    default: return { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', flag: 'UC' };
  }
}

function outlierEvent(f: AttemptFailure): 'connect_failed' | 'timeout' | 'reset' | undefined {
  if (f === 'connect-failure') return 'connect_failed';
  if (f === 'per-try-timeout' || f === 'timeout') return 'timeout';
  if (f === 'reset-before-response' || f === 'refused-stream' || f === 'protocol-error') return 'reset';
  return undefined;
}

export async function runWithRetries<T>(o: RetryLoopOptions<T>): Promise<RetryLoopResult<T>> {
  const { cluster, retry, clock } = o;
  const flags = new ResponseFlags();
  const ctx: ExplainContext = { cluster: cluster.name, timeoutMs: o.timeoutMs || undefined, perTryTimeoutMs: retry.perTryTimeoutMs || undefined };
  const started = clock.now();
  const deadline = o.timeoutMs ? started + o.timeoutMs : Infinity;
  let lastHost: Host | undefined;
  let lastReason: string | undefined;
  const finishRetries = () => { ctx.retries = { done: retry.retriesDone, max: retry.retriesDone + retry.retriesRemaining, lastReason }; };
  try {
    for (let guard = 0; guard < 1000; guard++) {
      const picked = cluster.pick({ ...o.pickContext, rejectHost: retry.rejectHost, hostSelectionRetryMaxAttempts: retry.hostSelectionRetryMaxAttempts });
      if (!picked.host) {
        cluster.counters.upstream_cx_none_healthy++;
        ctx.endpoints = picked.summary;
        return { kind: 'local-reply', status: 503, body: 'no healthy upstream', flags: flags.add('UH'), attempts: retry.attempt, host: lastHost, explain: { ...ctx, status: 503 } };
      }
      const host = picked.host;
      lastHost = host;
      ctx.upstreamHost = host.id;
      retry.recordHost(host);
      const slot = cluster.breakers.tryAcquire('requests', o.priority);
      if (!slot.ok) {
        ctx.breaker = { resource: 'requests', limit: slot.limit };
        return { kind: 'local-reply', status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow', flags: flags.add('UO'), attempts: retry.attempt, host, explain: { ...ctx, status: 503 } };
      }
      const done = cluster.startRequest(host);
      cluster.counters.upstream_rq_total++;
      const ac = new AbortController();
      const onDownstreamAbort = () => ac.abort();
      o.signal?.addEventListener('abort', onDownstreamAbort, { once: true });
      let timedOut: AttemptFailure | undefined;
      const now = clock.now();
      const perTryEnd = retry.perTryTimeoutMs ? now + retry.perTryTimeoutMs : Infinity;
      const end = Math.min(perTryEnd, deadline);
      let timer: TimerHandle | undefined;
      let result: AttemptResult<T>;
      try {
        const timeout = end === Infinity ? undefined : new Promise<AttemptResult<T>>((resolve) => {
          timer = clock.setTimeout(() => {
            timedOut = end === deadline ? 'timeout' : 'per-try-timeout';
            ac.abort();
            resolve({ kind: 'failure', failure: timedOut });
          }, end - now);
        });
        const attempt = o.attempt(host, retry.attempt, ac.signal);
        result = await (timeout ? Promise.race([attempt, timeout]) : attempt);
        if (timedOut) result = { kind: 'failure', failure: timedOut };
      } finally {
        o.signal?.removeEventListener('abort', onDownstreamAbort);
        clock.clearTimeout(timer);
        done();
        slot.release();
      }
      if (o.signal?.aborted) {
        // The client left: nothing to forward, and not the upstream's fault (no outlier report).
        if (result.kind === 'response') o.discard?.(result.value);
        return { kind: 'local-reply', status: 0, body: '', flags: flags.add('DC'), attempts: retry.attempt, host, explain: { ...ctx, status: 0 } };
      }
      if (result.kind === 'failure') {
        if (result.failure === 'per-try-timeout') cluster.counters.upstream_rq_per_try_timeout++;
        else if (result.failure === 'timeout') cluster.counters.upstream_rq_timeout++;
        else if (result.failure === 'connect-failure') cluster.counters.upstream_cx_connect_fail++;
      }
      let outcome: AttemptOutcome;
      if (result.kind === 'response') {
        cluster.reportLocal(host, 'connect_success');
        cluster.reportHttp(host, result.status);
        outcome = { kind: 'response', status: result.status, headers: result.headers };
      } else {
        const ev = outlierEvent(result.failure);
        if (ev) cluster.reportLocal(host, ev);
        ctx.detail = result.detail;
        outcome = { kind: 'failure', failure: result.failure };
      }
      const decision = retry.evaluate(outcome);
      if (decision.action === 'retry' && clock.now() + decision.delayMs < deadline) {
        lastReason = decision.reason;
        cluster.counters.upstream_rq_retry++;
        if (result.kind === 'response') o.discard?.(result.value);
        if (await retry.backoff(clock, decision.delayMs, o.signal)) continue;
        return { kind: 'local-reply', status: 0, body: '', flags: flags.add('DC'), attempts: retry.attempt, host, explain: { ...ctx, status: 0 } };
      }
      if (decision.action === 'give-up') {
        flags.add(decision.flag);
        if (decision.flag === 'URX') cluster.counters.upstream_rq_retry_limit_exceeded++;
        if (decision.flag === 'UO') ctx.breaker = { resource: 'retries', limit: decision.limit ?? 0 };
        lastReason = decision.reason;
      }
      if (decision.action === 'retry') retry.dispose(); // no time left before the route deadline
      finishRetries();
      if (retry.retriesDone > 0 && decision.action === 'done') cluster.counters.upstream_rq_retry_success++;
      if (result.kind === 'response') {
        return { kind: 'response', host, status: result.status, value: result.value, flags, attempts: retry.attempt, explain: { ...ctx, status: result.status } };
      }
      const reply = failureReply(result.failure);
      flags.add(reply.flag);
      return { kind: 'local-reply', status: reply.status, body: reply.body, flags, attempts: retry.attempt, host, explain: { ...ctx, status: reply.status } };
    }
    throw new Error('retry loop exceeded its bound');
  } finally {
    retry.dispose();
  }
}
