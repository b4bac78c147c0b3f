// proxy/http: one request/response exchange — route, faults, circuit breaker, pick an endpoint, forward (with
// retries), stream the response back. Protocol-neutral: the downstream side is an HTTP/1.1 connection or an
// HTTP/2 stream (DownstreamResponder); the upstream side an HTTP/1.1 pooled connection or an HTTP/2 stream.
//
// Order follows Envoy's HCM: route match -> fault filter (may delay / abort: DI, FI) -> router (cluster
// lookup NC, breaker UO, host pick UH, attempt + retries URX, timeouts UT, resets UF/UC/UR).
import type { Socket } from 'node:net';
import { timeoutQueueFor, type Deadline, type DeadlineTarget, type TimerHandle } from '../../common/clock.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext, HttpChainRuntime } from '../listener/runtime.ts';
import type { HeaderEdits, RouteDecision } from './route-types.ts';
import type { DownstreamResponder, IncomingRequest, OutgoingRequest, ResponseSink, UpstreamFailure, UpstreamRequest } from './exchange-types.ts';
import type { H1UpstreamConn } from './h1-upstream.ts';
import type { RawFields } from './codec/head.ts';
import { forwardHeaders } from './codec/serialize.ts';
import { applyHeaderEdits, setHeader, getHeader, removeHeader } from './header-edits.ts';
import { computeRequestHash } from '../upstream/lb/hash-policy.ts';
import type { Host } from '../upstream/lb/types.ts';
import type { ClusterState, EndpointsSummary } from '../upstream/cluster-state.ts';
import type { PriorityBreaker } from '../upstream/circuit-breaker.ts';
import { RetryState, needsEagerRetry, type AttemptFailure } from './retry.ts';
import type { RetryPolicyConfig } from '../config/types.ts';
import { effectiveFaultConfig, type FaultPlan } from './filters/fault.ts';
import { corsRequest } from './filters/cors.ts';
import { authorize, type AuthzOutcome } from './filters/authz.ts';
import { MIRROR_BUFFER_LIMIT, sendMirrors } from './mirror.ts';
import { newRequestId, notFilterState, originalDestination, splitHostPort } from './exchange-util.ts';
export { originalDestination } from './exchange-util.ts';
import { explain, localCodeDetails } from '../telemetry/response-flags.ts';
import { applyXfcc } from '../tls/xfcc.ts';
import type { ResponseFlag } from '../telemetry/response-flags.ts';
import { PEER_HEADER } from '../telemetry/labels.ts';
import { propagateTrace, type TraceDecision } from '../telemetry/trace.ts';
import type { SpanInput } from '../telemetry/tracer-span.ts';

const LOCAL_BODY_TYPE = 'text/plain';
/** Request body kept for retries (Envoy's per_request_buffer_limit_bytes default is similar); beyond it, no retry. */
export const RETRY_BUFFER_LIMIT = 64 * 1024;
const NO_EDITS: HeaderEdits = { add: [], remove: [] };

type Forward = Extract<RouteDecision, { kind: 'forward' }>;

/** String(ms) for route timeouts: nearly every request repeats the previous value. */
let lastMs = -1;
let lastMsString = '';
function msString(ms: number): string {
  if (ms !== lastMs) { lastMs = ms; lastMsString = String(ms); }
  return lastMsString;
}

const FAILURE_KIND: Record<UpstreamFailure, AttemptFailure> = {
  'connect-failure': 'connect-failure',
  'reset-before-response': 'reset-before-response',
  'reset-after-response': 'reset-after-response',
  'protocol-error': 'protocol-error',
  timeout: 'per-try-timeout',
};

export class Exchange implements ResponseSink, DeadlineTarget {
  flags: ResponseFlag[] = [];
  status = 0;
  requestId = '';
  private upstream: UpstreamRequest | null = null;
  private decision: RouteDecision | undefined;
  private fwd: Forward | undefined;
  private cluster: ClusterState | undefined;
  private host: Host | undefined;
  private hostId = '';
  /** The host whose active-request count this exchange holds (least-request balancing), until released. */
  private activeHost: Host | undefined;
  /** The breaker whose max_requests slot this exchange holds, until finish. */
  private requestSlot: PriorityBreaker | undefined;
  private out: OutgoingRequest | undefined;
  /** The fault filter's delay. */
  private timer: TimerHandle | undefined;
  /** The route's (global) timeout, on the clock's shared TimeoutQueue: no timer per request. */
  private deadline: Deadline | undefined;
  private tryTimer: TimerHandle | undefined;
  private readonly startedAt: number;
  /** When finish() ran (0 before): durations and the downstream's last-activity time use it. */
  endedAt = 0;
  /** startedAt while start() runs synchronously (no time passed), else -1: attach() then needs no clock read. */
  private syncNow = -1;
  private sentAt = 0;
  private responseStarted = false;
  private finished = false;
  private reqEnded = false;
  private reqTrailers: string[] | undefined;
  /** Body bytes kept while no upstream is attached yet, or for a retry. */
  private body: Buffer[] | null = null;
  private bodyBytes = 0;
  /** Body bytes were sent upstream and not kept: a fresh attempt cannot resend them. */
  private bodyLost = false;
  private retriedStale = false;
  private retry: RetryState | undefined;
  /** A retry policy whose RetryState is built only once an attempt fails (most requests never need it). */
  private lazyRetry: RetryPolicyConfig | undefined;
  private fault: FaultPlan | undefined;
  private setCookie: string | undefined;
  /** CORS response headers for an allowed cross-origin request. */
  private corsHeaders: Array<[string, string]> | undefined;
  /** ext_authz allowed_client_headers_on_success: added to whatever response the client gets. */
  private authzResponseHeaders: Array<readonly [string, string]> | undefined;
  private detail = '';
  /** The last try ended by its per-try timeout (response code details upstream_per_try_timeout). */
  private perTryTimedOut = false;
  /** Set when the auth filters (jwt_authn / RBAC, src/proxy/http/filters/authz.ts) answered: for the log and explanation. */
  authz: AuthzOutcome | undefined;
  private hash: number | undefined;
  private summary: EndpointsSummary | undefined;
  /** Bumped per attempt so late callbacks of an abandoned attempt are ignored. */
  private attemptSeq = 0;
  /** Request body kept for the route's mirrors until the request ends (null: not mirroring). */
  private mirrorBody: Buffer[] | null = null;
  private mirrorBytes = 0;
  private mirrorOut: OutgoingRequest | undefined;
  /** Cancels a request waiting in a pool for a connection (it holds a max_pending_requests slot). */
  /** Cancels what the exchange waits on (a connection acquire, or the auth stage's ext_authz check); finish() runs it. */
  cancelPending: (() => void) | undefined;
  /** The breaker limit that overflowed, for the UO explanation. */
  private breaker: { resource: string; limit: number } | undefined;
  // Telemetry (src/proxy/telemetry): body bytes each way, the other sidecar's peer metadata, the response head.
  private reqBodyBytes = 0;
  private respBodyBytes = 0;
  private peerMeta: string | undefined;
  private grpcStatus: string | undefined;
  private respHeaders: string[] | undefined;
  /** The trace context this hop decided (tracing listeners only); a sampled one becomes a span (telemetry/tracer.ts). */
  private trace: TraceDecision | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly origin: ConnectionOrigin,
    private readonly rt: HttpChainRuntime,
    readonly req: IncomingRequest,
    private readonly down: DownstreamResponder,
    /** The clock's reading, when the caller has just taken one (saves reading it again per request). */
    now = ctx.clock.now(),
  ) {
    this.startedAt = now;
    ctx.stats.downstream_rq_total++;
    ctx.stats.downstream_rq_active++;
  }

  start(): void {
    this.syncNow = this.startedAt;
    try {
      // Auth filters (jwt_authn, RBAC) run first, as in the listener's filter list; they answer 401/403 themselves.
      if (authorize(this, this.ctx, this.origin, this.rt.handler, () => this.routeRequest())) this.routeRequest();
    } finally {
      this.syncNow = -1;
    }
  }

  private routeRequest(): void {
    const req = this.req;
    const d = this.rt.router.route({ authority: req.authority, path: req.path, method: req.method, headers: req, scheme: this.origin.tls ? 'https' : 'http' } as Parameters<HttpChainRuntime['router']['route']>[0]);
    this.decision = d;
    switch (d.kind) {
      case 'none': this.flags.push('NR'); this.localReply(404, '', NO_EDITS); return;
      case 'direct': this.localReply(d.status, d.body ?? '', d.response); return;
      case 'redirect': this.localReply(d.status, '', d.response, ['location', d.location]); return;
    }
    this.fwd = d;
    if (req.upgrade && !this.upgradeAllowed(d.upgradeConfigs)) { this.localReply(403, 'upgrade not allowed', NO_EDITS); return; }
    const cluster = this.ctx.upstreams.cluster(d.cluster);
    if (!cluster) { this.flags.push('NC'); this.localReply(503, 'no cluster match for URL', NO_EDITS); return; }
    this.cluster = cluster;
    // CORS (before fault, as in Istio's filter chain): answer allowed preflights here, tag allowed responses.
    const cors = d.perFilter?.cors;
    if (cors !== undefined && req.get('origin') !== undefined) {
      const cd = corsRequest(cors, { method: req.method, headers: req }, this.ctx.random);
      if (cd.action === 'respond') {
        const h: string[] = [];
        for (const [k, v] of cd.headers) h.push(k, v);
        this.localReply(cd.status, '', NO_EDITS, h);
        return;
      }
      this.corsHeaders = cd.responseHeaders;
    }
    // Fault filter sits before the router: it may delay, then abort or continue.
    const faultCfg = this.rt.fault || d.perFilter?.fault || d.virtualHost?.perFilter.fault
      ? effectiveFaultConfig(this.rt.fault, d.perFilter, d.route?.perFilter, d.virtualHost?.perFilter) : undefined;
    if (faultCfg) {
      this.fault = this.ctx.faults.plan(faultCfg, { headers: req, cluster: d.cluster, grpc: (req.get('content-type') ?? '').startsWith('application/grpc') });
      if (this.fault) {
        this.ctx.stats.fault_injected++;
        for (const f of this.fault.flags) this.flags.push(f);
        if (this.fault.delayMs) {
          this.timer = this.ctx.clock.setTimeout(() => { this.timer = undefined; this.afterFault(); }, this.fault.delayMs);
          return;
        }
      }
    }
    this.afterFault();
  }

  private afterFault(): void {
    if (this.finished) return;
    const d = this.fwd!;
    const a = this.fault?.abort;
    if (a) {
      const h: string[] = [];
      for (const [k, v] of a.headers) h.push(k, v);
      this.localReply(a.status, a.body, NO_EDITS, h);
      return;
    }
    const cluster = this.cluster!;
    const pb = cluster.breakers.forPriority('DEFAULT');
    if (!pb.tryTake('requests')) {
      const limit = pb.limit('requests');
      this.ctx.stats.upstream_rq_pending_overflow++;
      this.flags.push('UO');
      this.detail = `max_requests ${limit} reached`;
      this.breaker = { resource: 'max_requests', limit };
      this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', NO_EDITS);
      return;
    }
    this.requestSlot = pb;
    const req = this.req;
    if (d.hashPolicy.length > 0) {
      const rh = computeRequestHash(d.hashPolicy.filter(notFilterState), { headers: req, path: req.path, authority: req.authority, method: req.method, sourceIp: this.origin.remoteAddress, localAddress: this.origin.localAddress });
      this.hash = rh.hash;
      this.setCookie = rh.setCookie;
    }
    if (!req.upgrade) {
      const byHeader = req.get('x-envoy-retry-on') !== undefined || req.get('x-envoy-retry-grpc-on') !== undefined || req.get('x-envoy-max-retries') !== undefined;
      if (byHeader || (d.retryPolicy !== undefined && needsEagerRetry(d.retryPolicy))) {
        const rs = new RetryState(d.retryPolicy, { random: this.ctx.random, breaker: cluster.breakers.forPriority('DEFAULT'), requestHeaders: req });
        if (rs.enabled) this.retry = rs;
      } else if (d.retryPolicy !== undefined && d.retryPolicy.numRetries > 0) this.lazyRetry = d.retryPolicy;
    }
    this.out = this.buildOutgoing(d);
    if (d.mirrors.length > 0 && !req.upgrade) {
      // Copies leave once the whole request is in, body included. Headers are copied now (attempts add their
      // own); the body so far is all in this.body, as no attempt has started yet.
      this.mirrorOut = { ...this.out, headers: this.out.headers.slice() };
      this.mirrorBody = this.body ? [...this.body] : [];
      this.mirrorBytes = this.bodyBytes;
      if (this.reqEnded) this.flushMirrors();
    }
    // Without a fault delay this runs in the tick the exchange started in: its start time is the clock's now.
    if (d.timeoutMs > 0 && !req.upgrade) this.deadline = timeoutQueueFor(this.ctx.clock).add(d.timeoutMs, this, this.fault?.delayMs ? undefined : this.startedAt);
    this.attempt();
  }

  private upgradeAllowed(routeCfg: readonly { upgradeType: string; enabled: boolean }[]): boolean {
    const t = this.req.upgrade;
    for (const u of routeCfg) if (u.upgradeType.toLowerCase() === t) return u.enabled;
    return this.rt.handler.upgradeTypes.some((u) => u.toLowerCase() === t);
  }

  private buildOutgoing(d: Forward): OutgoingRequest {
    const req = this.req;
    // Host goes first; the request's own Host and Expect are not copied (Envoy answers 100 Continue itself).
    const h: string[] = ['host', d.authority];
    forwardHeaders(req.headers, h, req.upgrade !== '', true);
    if (getHeader(h, 'x-forwarded-proto') === undefined) h.push('x-forwarded-proto', this.origin.tls ? 'https' : 'http');
    applyXfcc(h, this.rt.handler.forwardClientCertDetails, this.origin.peer);
    let rid = getHeader(h, 'x-request-id');
    if (rid === undefined && this.rt.handler.generateRequestId) { rid = newRequestId(); h.push('x-request-id', rid); }
    this.requestId = rid ?? '';
    if (d.timeoutMs > 0) h.push('x-envoy-expected-rq-timeout-ms', msString(d.timeoutMs));
    const tel = this.ctx.telemetry;
    if (tel) {
      // Peer metadata exchange: the caller's sidecar names itself; the callee's sidecar reads and strips it.
      if (d.cluster.startsWith('inbound|')) { this.peerMeta = getHeader(h, PEER_HEADER); removeHeader(h, PEER_HEADER); }
      else setHeader(h, PEER_HEADER, tel.peerHeader);
    }
    const tr = this.rt.handler.tracing;
    if (tr) this.trace = propagateTrace(h, tr.randomSamplingPercent, this.ctx.random);
    applyHeaderEdits(h, d.request);
    return { method: req.method, path: d.path, authority: d.authority, scheme: this.origin.tls ? 'https' : 'http', headers: h, bodyLength: req.bodyLength, upgrade: req.upgrade };
  }

  private flushMirrors(): void {
    const chunks = this.mirrorBody;
    this.mirrorBody = null;
    if (!chunks || !this.fwd || !this.mirrorOut) return;
    const body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    sendMirrors(this.ctx, this.fwd.mirrors, this.req, this.mirrorOut, body);
  }

  /** One attempt: pick a host, get a connection / stream, send. */
  private attempt(): void {
    if (this.finished) return;
    const cluster = this.cluster!;
    const rs = this.retry;
    let address: string, port: number;
    if (cluster.config.type === 'ORIGINAL_DST') {
      const dst = originalDestination(this.origin, this.req.authority);
      if (!dst) {
        this.detail = 'original destination is this listener itself (request loop)';
        this.localReply(502, 'upstream connect error: original destination loops back to this proxy', NO_EDITS);
        return;
      }
      address = dst.address;
      port = dst.port;
      this.host = undefined;
      this.hostId = address + ':' + port;
    } else {
      const r = cluster.pick(rs ? { hash: this.hash, rejectHost: rs.rejectHost, hostSelectionRetryMaxAttempts: rs.hostSelectionRetryMaxAttempts } : { hash: this.hash });
      if (!r.host) {
        this.summary = r.summary;
        this.flags.push('UH');
        this.localReply(503, 'no healthy upstream', NO_EDITS);
        return;
      }
      this.host = r.host;
      cluster.beginRequest(r.host);
      this.activeHost = r.host;
      rs?.recordHost(r.host);
      address = r.host.address;
      port = r.host.port;
      this.hostId = r.host.id; // "address:port", built once per host
    }
    const out = this.out!;
    // Envoy sends the count on every attempt when the virtual host asks, "1" included (not only on retries).
    if (this.fwd?.virtualHost?.includeAttemptCountInRequest) setHeader(out.headers, 'x-envoy-attempt-count', rs ? rs.attemptCountHeader() : '1');
    const seq = ++this.attemptSeq;
    // Every try has the per-try timeout, the first included, also while the RetryState is still deferred (lazyRetry)
    // and with num_retries 0, as Envoy's router applies it.
    const tryMs = rs ? rs.perTryTimeoutMs : this.fwd?.retryPolicy?.perTryTimeoutMs ?? 0;
    if (tryMs > 0) this.tryTimer = this.ctx.clock.setTimeout(() => { if (seq === this.attemptSeq) this.onTryTimeout(); }, tryMs);
    this.ctx.stats.upstream_rq_total++;
    // use_downstream_protocol (Istio's useClientProtocol and sniffed ports): an HTTP/2 request (gRPC with its
    // trailers) stays HTTP/2 upstream; an HTTP/1.1 one stays HTTP/1.1.
    const h2 = cluster.config.http2 || (cluster.config.useDownstreamProtocol && this.down.protocol === 'HTTP/2');
    if (h2 && this.ctx.h2Upstream) {
      const u = this.ctx.h2Upstream.request(cluster, address, port, out, this);
      this.attach(u);
      const body = this.takeBody();
      if (body) u.write(body, 0, body.length);
      if (this.reqEnded) u.end(this.reqTrailers);
      return;
    }
    const pool = this.ctx.upstreams.pool(cluster, address, port);
    // An idle pooled connection (the steady state): use it now, no callback.
    const idle = pool.idleConnection();
    if (idle !== undefined) { this.onConnection(idle, ''); return; }
    let called = false;
    const cancel = pool.acquire((conn, err, overflow) => {
      called = true;
      this.cancelPending = undefined;
      if (seq === this.attemptSeq) this.onConnection(conn, err, overflow);
      else conn?.socket.destroy();
    });
    // Only a request still waiting (callback not yet called) can be cancelled.
    if (!called) this.cancelPending = cancel;
  }

  private releaseHost(): void {
    const h = this.activeHost;
    if (h === undefined) return;
    this.activeHost = undefined;
    this.cluster!.endRequest(h);
  }

  private dropPending(): void {
    const c = this.cancelPending;
    this.cancelPending = undefined;
    c?.();
  }

  private onConnection(conn: H1UpstreamConn | null, err: string, overflow = false): void {
    if (this.finished) { if (conn) conn.socket.destroy(); return; }
    if (!conn && overflow) {
      // The cluster's connections are all in use and its pending queue is full: Envoy's UO, never retried.
      this.ctx.stats.upstream_rq_pending_overflow++;
      this.flags.push('UO');
      this.detail = err;
      this.breaker = { resource: 'max_pending_requests', limit: this.cluster!.breakers.forPriority('DEFAULT').limit('pending') };
      this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow', NO_EDITS);
      return;
    }
    if (!conn) {
      this.ctx.stats.upstream_cx_connect_fail++;
      this.onError('connect-failure', err);
      return;
    }
    const body = this.takeBody();
    // Trailers go in the last chunk, after the body: when there are some, start() must not end the body itself.
    const tr = this.reqEnded && this.req.bodyLength < 0 ? this.trailersFor(conn) : undefined;
    conn.start(this.out!, this, body, this.reqEnded && tr === undefined);
    if (this.reqEnded && this.req.bodyLength < 0) conn.end(tr);
    this.attach(conn);
  }

  /** Request trailers for `u`: HTTP/2 always carries them; HTTP/1.1 only with enable_trailers (Envoy drops them by default). */
  private trailersFor(u: UpstreamRequest): string[] | undefined {
    const t = this.reqTrailers;
    if (t === undefined || t.length === 0) return undefined;
    return (u as Partial<H1UpstreamConn>).requests === undefined || this.cluster?.config.http1EnableTrailers ? t : undefined;
  }

  private attach(u: UpstreamRequest): void {
    this.upstream = u;
    this.sentAt = this.syncNow >= 0 ? this.syncNow : this.ctx.clock.now();
    if (!this.reqEnded) this.down.resumeRequest();
  }

  /** Body to send with the head of a new attempt; kept (not consumed) while a retry might need it again. */
  private takeBody(): Buffer | undefined {
    if (this.body === null || this.body.length === 0) return undefined;
    const b = this.body.length === 1 ? this.body[0] : Buffer.concat(this.body);
    if (this.keepsBody()) this.body = [b];
    else { this.body = null; this.bodyLost = true; }
    return b;
  }

  /** Whether body bytes must be retained: retries enabled, or a stale keep-alive retry still possible. */
  private keepsBody(): boolean {
    return (this.retry !== undefined || this.lazyRetry !== undefined || !this.retriedStale) && this.bodyBytes <= RETRY_BUFFER_LIMIT;
  }

  /** Build the deferred RetryState now (first failed attempt), remembering the host already tried. */
  private ensureRetry(): RetryState | undefined {
    if (this.retry || !this.lazyRetry) return this.retry;
    const rs = new RetryState(this.lazyRetry, { random: this.ctx.random, breaker: this.cluster!.breakers.forPriority('DEFAULT'), requestHeaders: this.req });
    this.lazyRetry = undefined;
    if (!rs.enabled) return undefined;
    if (this.host) rs.recordHost(this.host);
    this.retry = rs;
    return rs;
  }

  // ----- request body from downstream

  requestData(buf: Buffer, start: number, end: number): void {
    if (this.mirrorBody !== null) {
      this.mirrorBytes += end - start;
      if (this.mirrorBytes > MIRROR_BUFFER_LIMIT) this.mirrorBody = null; // too big to mirror
      else this.mirrorBody.push(Buffer.from(buf.subarray(start, end)));
    }
    if (this.finished) return;
    const u = this.upstream;
    const n = end - start;
    this.reqBodyBytes += n;
    if (u === null || this.keepsBody()) {
      this.bodyBytes += n;
      if (this.bodyBytes > RETRY_BUFFER_LIMIT && u !== null) {
        // Too big to replay: stop retaining and give up on retries for this request.
        this.retry?.disable('request body exceeds the retry buffer limit');
        this.retry = undefined;
        this.lazyRetry = undefined;
        this.retriedStale = true;
        this.body = null;
        this.bodyLost = true;
      } else {
        // Copy: the caller's buffer may be reused after this call.
        (this.body ??= []).push(Buffer.from(buf.subarray(start, end)));
        if (u === null) {
          if (this.bodyBytes > RETRY_BUFFER_LIMIT) this.down.pauseRequest();
          return;
        }
      }
    } else this.bodyLost = true;
    if (!u.write(buf, start, end)) {
      this.down.pauseRequest();
      u.onDrain(() => this.down.resumeRequest());
    }
  }

  requestEnd(trailers: string[] | undefined): void {
    if (this.reqEnded) return;
    this.reqEnded = true;
    this.reqTrailers = trailers;
    if (this.mirrorBody !== null) this.flushMirrors();
    if (this.upstream !== null && !this.finished) this.upstream.end(this.trailersFor(this.upstream));
  }

  // ----- response from upstream (ResponseSink)

  onHead(status: number, reason: string, headers: string[], bodyLength: number, _end: boolean, raw?: RawFields): void {
    if (this.finished) return;
    this.ctx.clock.clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
    if (this.host) this.cluster!.reportHttp(this.host, status);
    // 2xx without grpc-status cannot match any retry_on condition a lazily built policy has.
    const rs = this.retry ?? (this.lazyRetry !== undefined && (status >= 300 || getHeader(headers, 'grpc-status') !== undefined) ? this.ensureRetry() : undefined);
    if (rs) {
      const dec = rs.evaluate({ kind: 'response', status, headers: { get: (n: string) => getHeader(headers, n) } });
      if (dec.action === 'retry') { this.scheduleRetry(dec.delayMs, `status ${status}: ${dec.reason}`); return; }
      if (dec.action === 'give-up') { this.flags.push(dec.flag); this.detail = dec.reason; }
    }
    this.responseStarted = true;
    this.cancelDeadline();
    this.status = status;
    const h: string[] = [];
    forwardHeaders(headers, h);
    this.decorateResponse(h);
    if (this.ctx.telemetry) this.responseTelemetry(h);
    this.down.sendHead(status, h, bodyLength, raw !== undefined && raw.headers === headers ? raw : undefined);
  }

  /** Outbound: learn (and strip) the callee's peer metadata; inbound: name this workload to the caller. */
  private responseTelemetry(h: string[]): void {
    this.respHeaders = h;
    this.grpcStatus = getHeader(h, 'grpc-status');
    if (this.fwd && this.fwd.cluster.startsWith('inbound|')) setHeader(h, PEER_HEADER, this.ctx.telemetry!.peerHeader);
    else { this.peerMeta = getHeader(h, PEER_HEADER); if (this.peerMeta !== undefined) removeHeader(h, PEER_HEADER); }
  }

  private decorateResponse(h: string[]): void {
    h.push('x-envoy-upstream-service-time', String(Math.round(this.ctx.clock.now() - this.sentAt)));
    setHeader(h, 'server', this.rt.handler.serverName ?? 'envoy');
    if (this.setCookie) h.push('set-cookie', this.setCookie);
    if (this.corsHeaders) for (const [k, v] of this.corsHeaders) setHeader(h, k, v);
    if (this.authzResponseHeaders) for (const [k, v] of this.authzResponseHeaders) h.push(k, v);
    if (this.fwd?.virtualHost?.includeAttemptCountInResponse) h.push('x-envoy-attempt-count', this.retry ? this.retry.attemptCountHeader() : '1');
    if (this.fwd) applyHeaderEdits(h, this.fwd.response);
  }

  onData(buf: Buffer, start: number, end: number): void {
    if (this.finished || !this.responseStarted) return;
    this.respBodyBytes += end - start;
    if (!this.down.sendData(buf, start, end)) {
      const u = this.upstream;
      if (u) { u.pauseResponse(); this.down.onDrain(() => u.resumeResponse()); }
    }
  }

  onEnd(trailers: string[] | undefined): void {
    if (this.finished || !this.responseStarted) return;
    this.upstream = null;
    if (trailers && this.ctx.telemetry) this.grpcStatus = getHeader(trailers, 'grpc-status') ?? this.grpcStatus;
    this.down.sendEnd(trailers);
    this.finish();
  }

  onUpgrade(status: number, headers: string[], tunnel: Socket, head: Buffer | undefined): void {
    if (this.finished || !this.down.tunnel) { tunnel.destroy(); return; }
    this.cancelDeadline();
    this.status = status;
    const h: string[] = [];
    forwardHeaders(headers, h, true);
    this.upstream = null;
    this.down.tunnel(status, h, tunnel, head);
    this.finish();
  }

  onError(kind: UpstreamFailure, detail: string): void {
    if (this.finished) return;
    this.ctx.clock.clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
    this.detail = detail;
    const prev = this.upstream;
    this.upstream = null;
    if (this.host && !this.responseStarted) {
      this.cluster!.reportLocal(this.host, kind === 'connect-failure' ? 'connect_failed' : kind === 'timeout' ? 'timeout' : 'reset');
    }
    if (this.responseStarted) {
      this.flags.push('UR');
      this.down.abort();
      this.finish();
      return;
    }
    // A reused keep-alive connection the upstream closed as we wrote: one silent retry on a fresh one.
    if (kind === 'reset-before-response' && !this.retriedStale && !this.bodyLost && prev !== null &&
        (prev as Partial<H1UpstreamConn>).requests !== undefined && (prev as H1UpstreamConn).requests > 1) {
      this.retriedStale = true;
      this.ctx.stats.upstream_rq_retry++;
      const seq = ++this.attemptSeq;
      const [address, port] = splitHostPort(this.hostId);
      this.ctx.upstreams.pool(this.cluster!, address, port).open((c, e) => { if (seq === this.attemptSeq) this.onConnection(c, e); else c?.socket.destroy(); });
      return;
    }
    const rs = this.bodyLost ? undefined : this.ensureRetry();
    if (rs) {
      const dec = rs.evaluate({ kind: 'failure', failure: FAILURE_KIND[kind] });
      if (dec.action === 'retry') { this.scheduleRetry(dec.delayMs, `${kind}: ${detail}`); return; }
      if (dec.action === 'give-up') { this.flags.push(dec.flag); this.detail = `${dec.reason}; ${detail}`; }
    }
    this.failureReply(kind, detail);
  }

  private failureReply(kind: UpstreamFailure, detail: string): void {
    switch (kind) {
      case 'connect-failure': this.flags.push('UF'); this.localReply(503, `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${detail}`, NO_EDITS); break;
      case 'protocol-error': this.flags.push('UPE'); this.localReply(502, `upstream protocol error: ${detail}`, NO_EDITS); break;
      case 'timeout': this.flags.push('UT'); this.localReply(504, 'upstream request timeout', NO_EDITS); break;
      default: this.flags.push('UC'); this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', NO_EDITS);
    }
  }

  private scheduleRetry(delayMs: number, why: string): void {
    this.ctx.stats.upstream_rq_retry++;
    this.detail = why;
    const u = this.upstream;
    this.upstream = null;
    u?.abort();
    this.releaseHost();
    const seq = ++this.attemptSeq;
    this.ctx.clock.setTimeout(() => {
      if (this.finished || seq !== this.attemptSeq) return;
      this.retry!.beginRetry();
      this.attempt();
    }, delayMs);
  }

  private onTryTimeout(): void {
    this.tryTimer = undefined;
    if (this.finished || this.responseStarted) return;
    this.perTryTimedOut = true;
    this.dropPending();
    const u = this.upstream;
    this.upstream = null;
    u?.abort();
    this.ctx.stats.upstream_rq_timeout++;
    this.onError('timeout', `per-try timeout ${this.retry?.perTryTimeoutMs} ms`);
  }

  private cancelDeadline(): void {
    if (this.deadline === undefined) return;
    timeoutQueueFor(this.ctx.clock).cancel(this.deadline);
    this.deadline = undefined;
  }

  /** The route timeout passed (TimeoutQueue callback). */
  onDeadline(): void {
    this.deadline = undefined;
    if (this.finished) return;
    this.dropPending();
    this.ctx.stats.upstream_rq_timeout++;
    const u = this.upstream;
    this.upstream = null;
    ++this.attemptSeq;
    u?.abort();
    if (this.host) this.cluster!.reportLocal(this.host, 'timeout');
    this.perTryTimedOut = false; // the route's own timeout ended it, not a try's
    this.flags.push('UT');
    if (this.responseStarted) { this.down.abort(); this.finish(); return; }
    this.localReply(504, 'upstream request timeout', NO_EDITS);
  }

  /** The downstream went away (client closed / reset). */
  downstreamClosed(): void {
    if (this.finished) return;
    this.flags.push('DC');
    const u = this.upstream;
    this.upstream = null;
    ++this.attemptSeq;
    u?.abort();
    this.finish();
  }

  // ----- local replies and completion

  addResponseHeaders(pairs: ReadonlyArray<readonly [string, string]>): void {
    (this.authzResponseHeaders ??= []).push(...pairs);
  }

  localReply(status: number, body: string, edits: HeaderEdits, extra?: string[]): void {
    if (this.finished) return;
    this.status = status;
    const u = this.upstream;
    this.upstream = null;
    u?.abort();
    const b = body ? Buffer.from(body) : undefined;
    const h: string[] = extra ? [...extra] : [];
    if (b && getHeader(h, 'content-type') === undefined) h.push('content-type', LOCAL_BODY_TYPE);
    h.push('date', new Date().toUTCString(), 'server', this.rt.handler.serverName ?? 'envoy');
    if (this.authzResponseHeaders) for (const [k, v] of this.authzResponseHeaders) h.push(k, v);
    applyHeaderEdits(h, edits);
    this.respHeaders = h;
    this.down.sendHead(status, h, b ? b.length : 0);
    if (b && this.req.method !== 'HEAD') { this.respBodyBytes += b.length; this.down.sendData(b, 0, b.length); }
    this.down.sendEnd(undefined);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const now = this.endedAt = this.ctx.clock.now();
    this.dropPending();
    this.cancelDeadline();
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    if (this.tryTimer !== undefined) this.ctx.clock.clearTimeout(this.tryTimer);
    this.timer = this.tryTimer = undefined;
    this.releaseHost();
    if (this.requestSlot !== undefined) { this.requestSlot.give('requests'); this.requestSlot = undefined; }
    this.fault?.release();
    this.retry?.dispose();
    const s = this.ctx.stats;
    s.downstream_rq_active--;
    s.countStatus(this.status || 0);
    if (this.flags.length) s.countFlags(this.flags);
    if (this.flags.includes('URX')) s.upstream_rq_retry_limit_exceeded++;
    if (this.ctx.onRequestComplete && (this.flags.length > 0 || this.authz !== undefined || !this.ctx.completeOnlyFlagged)) {
      const d = this.decision;
      const cluster = d && d.kind === 'forward' ? d.cluster : '';
      const routeName = d && d.kind !== 'none' ? d.routeName ?? '' : '';
      this.ctx.onRequestComplete({
        method: this.req.method, path: this.req.path, authority: this.req.authority, status: this.status, flags: this.flags,
        cluster, upstreamHost: this.hostId, routeName, durationMs: now - this.startedAt,
        requestId: this.requestId || this.req.get('x-request-id') || '', listener: this.origin.listenerName,
        explanation: this.flags.length || this.authz ? this.explain(cluster, routeName) : undefined,
      });
    }
    if (this.ctx.telemetry) this.report(this.ctx.telemetry);
    this.down.done(this);
  }

  /** One call into telemetry per request: metrics always, the access log entry only when loggers are configured. */
  private report(tel: NonNullable<EngineContext['telemetry']>): void {
    const d = this.decision;
    const cluster = d && d.kind === 'forward' ? d.cluster : '';
    const accessLog = this.rt.handler.accessLog;
    // a local reply (NR, FI, a 403 ...) never reached buildOutgoing: decide its trace now so it is reported too
    const tr = this.rt.handler.tracing;
    if (tr?.zipkin && !this.trace) this.trace = propagateTrace([...this.req.headers], tr.randomSamplingPercent, this.ctx.random);
    tel.onHttp({
      inbound: cluster.startsWith('inbound|') || (cluster === '' && this.origin.peer !== undefined),
      cluster, authority: this.req.authority, status: this.status, flags: this.flags, grpcStatus: this.grpcStatus,
      grpc: (this.req.get('content-type') ?? '').startsWith('application/grpc'),
      durationMs: this.endedAt - this.startedAt, requestBytes: this.reqBodyBytes, responseBytes: this.respBodyBytes,
      peerPrincipal: this.origin.peer?.principal, peerMeta: this.peerMeta, accessLog,
      entry: accessLog.length ? () => this.logEntry(cluster, d && d.kind !== 'none' ? d.routeName ?? '' : '') : undefined,
      span: this.trace?.sampled && this.rt.handler.tracing?.zipkin ? this.spanInput(this.trace) : undefined,
    });
  }

  /** What the tracer needs for this request's span; built only for a sampled request with a zipkin provider. */
  private spanInput(trace: TraceDecision): SpanInput {
    const req = this.req;
    const upstreams = this.ctx.upstreams;
    return {
      trace, tracing: this.rt.handler.tracing!, method: req.method, scheme: this.origin.tls ? 'https' : 'http', path: req.path,
      protocol: this.down.protocol, requestId: this.requestId || req.get('x-request-id') || '', upstreamHost: this.hostId,
      downstreamRemote: `${this.origin.remoteAddress}:${this.origin.remotePort}`, header: (n) => req.get(n),
      // the collector's endpoint, picked by the proxy's own balancer over the collector cluster's EDS hosts
      collector: (c) => { const r = upstreams.cluster(c)?.pick(); return r?.host ? { address: r.host.address, port: r.host.port } : undefined; },
    };
  }

  private logEntry(cluster: string, routeName: string): import('../telemetry/access-log.ts').AccessLogEntry {
    const req = this.req;
    const resp = this.respHeaders;
    const durationMs = this.ctx.clock.now() - this.startedAt;
    // Envoy's HCM assigns the id before any filter runs, so local replies (FI, NR, UO...) log one too.
    if (!this.requestId) this.requestId = req.get('x-request-id') ?? (this.rt.handler.generateRequestId ? newRequestId() : '');
    return {
      startMs: Date.now() - durationMs,
      method: req.method, path: req.path, protocol: this.down.protocol, status: this.status,
      flags: this.flags.length ? this.flags.join(',') : '-',
      bytesReceived: this.reqBodyBytes, bytesSent: this.respBodyBytes, durationMs,
      upstreamHost: this.hostId, upstreamCluster: cluster, routeName,
      upstreamTransportFailureReason: this.flags.includes('UF') ? this.detail : undefined,
      downstreamLocalAddress: `${this.origin.localAddress}:${this.origin.localPort}`,
      downstreamRemoteAddress: `${this.origin.remoteAddress}:${this.origin.remotePort}`,
      downstreamPeerUriSan: this.origin.peer?.principal,
      responseCodeDetails: this.authz ? this.authz.details : this.responseStarted && !this.flags.includes('DC') ? 'via_upstream'
        : localCodeDetails(this.flags, this.perTryTimedOut, this.decision?.kind === 'direct' || this.decision?.kind === 'redirect'),
      grpcStatus: this.grpcStatus,
      req: (n) => n === ':method' ? req.method : n === ':path' ? req.path : n === ':authority' ? req.authority : n === ':scheme' ? req.scheme
        : n === 'x-request-id' ? this.requestId || req.get(n) : req.get(n),
      resp: (n) => resp ? getHeader(resp, n) : undefined,
    };
  }

  private explain(cluster: string, route: string): string {
    try {
      return explain(this.flags, {
        status: this.status, method: this.req.method, authority: this.req.authority, path: this.req.path, route, cluster,
        upstreamHost: this.hostId || undefined, detail: this.detail || undefined, breaker: this.breaker,
        endpoints: this.summary ?? this.cluster?.summary(), timeoutMs: this.fwd?.timeoutMs,
        retries: this.retry ? { done: this.retry.retriesDone, max: this.retry.retriesDone + this.retry.retriesRemaining } : undefined,
        fault: this.fault ? { delayMs: this.fault.delayMs, abortStatus: this.fault.abort?.status, grpcStatus: this.fault.abort?.grpcStatus } : undefined,
        authz: this.authz,
      });
    } catch {
      return this.flags.join(',');
    }
  }

  get isFinished(): boolean { return this.finished; }
  /** Whether the upstream took the whole request (an early response leaves body bytes unread downstream). */
  get requestComplete(): boolean { return this.reqEnded; }
}
