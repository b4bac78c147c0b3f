// proxy/http: one request/response exchange — route, pick an endpoint, forward, stream the response back.
// Protocol-neutral: the downstream side is an HTTP/1.1 connection or an HTTP/2 stream (DownstreamResponder),
// the upstream side an HTTP/1.1 pooled connection or an HTTP/2 stream (UpstreamRequest).
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TimerHandle } from '../../common/clock.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext, HttpChainRuntime } from '../listener/runtime.ts';
import type { RouteDecision } from './route-types.ts';
import type { OutgoingRequest, ResponseSink, UpstreamFailure, UpstreamRequest } from './exchange-types.ts';
import type { H1UpstreamConn } from './h1-upstream.ts';
import { forwardHeaders } from './codec/serialize.ts';
import { applyHeaderEdits, setHeader, getHeader } from './header-edits.ts';
import { computeRequestHash } from '../upstream/lb/hash-policy.ts';
import type { Host } from '../upstream/lb/types.ts';
import type { ClusterEntry } from '../upstream/pool-manager.ts';

/** The request as parsed from either protocol. Headers flat, lower-cased. */
export interface IncomingRequest {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: string[];
  /** -1 streamed with unknown length, 0 none, n exact. */
  bodyLength: number;
  upgrade: string;
  get(name: string): string | undefined;
}

/** What an exchange needs from the downstream side. */
export interface DownstreamResponder {
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  sendHead(status: number, headers: string[], bodyLength: number): void;
  sendData(buf: Buffer, start: number, end: number): boolean;
  sendEnd(trailers: string[] | undefined): void;
  onDrain(cb: () => void): void;
  pauseRequest(): void;
  resumeRequest(): void;
  /** Reset the stream (HTTP/2) or close the connection (HTTP/1.1). */
  abort(): void;
  /** Switch to a raw tunnel after a 101 from upstream. */
  tunnel?(status: number, headers: string[], upstream: Socket, head: Buffer | undefined): void;
  /** Called once when the exchange is over (response fully sent or aborted). */
  done(ex: Exchange): void;
}

const LOCAL_BODY_TYPE = 'text/plain';
/** Request body kept for a retry on a fresh connection (stale keep-alive race); beyond it, no such retry. */
export const RETRY_BUFFER_LIMIT = 64 * 1024;

export class Exchange implements ResponseSink {
  flags: string[] = [];
  status = 0;
  private upstream: UpstreamRequest | null = null;
  private decision: RouteDecision | undefined;
  private cluster: ClusterEntry | undefined;
  private host: Host | undefined;
  private hostId = '';
  private out: OutgoingRequest | undefined;
  private timer: TimerHandle | undefined;
  private readonly startedAt: number;
  private sentAt = 0;
  private responseStarted = false;
  private finished = false;
  private reqEnded = false;
  private reqTrailers: string[] | undefined;
  /** Body bytes received before an upstream is ready, and kept for a stale-connection retry. */
  private body: Buffer[] | null = null;
  private bodyBytes = 0;
  private bodyStreamed = false;
  private retriedStale = false;
  private setCookie: string | undefined;
  requestId = '';

  constructor(
    private readonly ctx: EngineContext,
    private readonly origin: ConnectionOrigin,
    private readonly rt: HttpChainRuntime,
    readonly req: IncomingRequest,
    private readonly down: DownstreamResponder,
  ) {
    this.startedAt = ctx.clock.now();
    ctx.stats.downstream_rq_total++;
    ctx.stats.downstream_rq_active++;
  }

  start(): void {
    const req = this.req;
    const d = this.rt.router.route({ authority: req.authority, path: req.path, method: req.method, headers: req });
    this.decision = d;
    switch (d.kind) {
      case 'none': this.flags.push('NR'); this.localReply(404, '', undefined); return;
      case 'direct': this.localReply(d.status, d.body ?? '', d.response); return;
      case 'redirect': this.localReply(d.status, '', d.response, ['location', d.location]); return;
    }
    if (req.upgrade && !this.upgradeAllowed(d.upgradeConfigs)) { this.localReply(403, 'upgrade not allowed', undefined); return; }
    const cluster = this.ctx.upstreams.cluster(d.cluster);
    if (!cluster) { this.flags.push('NC'); this.localReply(503, 'no cluster match for URL', undefined); return; }
    this.cluster = cluster;
    let address: string, port: number;
    if (cluster.config.type === 'ORIGINAL_DST') {
      address = this.origin.destination.address;
      port = this.origin.destination.port;
    } else {
      let hash: number | undefined;
      if (d.hashPolicy.length > 0) {
        const rh = computeRequestHash(d.hashPolicy.filter(notFilterState), { headers: req, path: req.path, authority: req.authority, method: req.method, sourceIp: this.origin.remoteAddress, localAddress: this.origin.localAddress });
        hash = rh.hash;
        this.setCookie = rh.setCookie;
      }
      const host = cluster.pick({ hash });
      if (!host) { this.flags.push('UH'); this.localReply(503, 'no healthy upstream', undefined); return; }
      this.host = host;
      host.activeRequests++;
      address = host.address;
      port = host.port;
    }
    this.hostId = address + ':' + port;
    this.out = this.buildOutgoing(d);
    if (d.timeoutMs > 0 && !req.upgrade) this.timer = this.ctx.clock.setTimeout(() => this.onTimeout(), d.timeoutMs);
    this.ctx.stats.upstream_rq_total++;
    if (cluster.config.http2 && this.ctx.h2Upstream) {
      this.attach(this.ctx.h2Upstream.request(cluster, address, port, this.out, this));
      return;
    }
    const pool = this.ctx.upstreams.pool(cluster, address, port);
    pool.acquire((conn, err) => this.onConnection(conn, err));
  }

  private upgradeAllowed(routeCfg: readonly { upgradeType: string; enabled: boolean }[]): boolean {
    const t = this.req.upgrade;
    for (const u of routeCfg) if (u.upgradeType.toLowerCase() === t) return u.enabled;
    return this.rt.handler.upgradeTypes.some((u) => u.toLowerCase() === t);
  }

  private buildOutgoing(d: Extract<RouteDecision, { kind: 'forward' }>): OutgoingRequest {
    const req = this.req;
    const h: string[] = ['host', d.authority];
    forwardHeaders(req.headers, h, req.upgrade !== '');
    for (let i = 2; i < h.length; i += 2) {
      // Host goes first (set above); Expect is answered here (Envoy sends 100 Continue itself).
      if (h[i] === 'host' || h[i] === 'expect') { h.splice(i, 2); i -= 2; }
    }
    if (getHeader(h, 'x-forwarded-proto') === undefined) h.push('x-forwarded-proto', this.origin.tls ? 'https' : 'http');
    let rid = getHeader(h, 'x-request-id');
    if (rid === undefined && this.rt.handler.generateRequestId) { rid = randomUUID(); h.push('x-request-id', rid); }
    this.requestId = rid ?? '';
    if (d.timeoutMs > 0) h.push('x-envoy-expected-rq-timeout-ms', String(d.timeoutMs));
    applyHeaderEdits(h, d.request);
    return { method: req.method, path: d.path, authority: d.authority, scheme: this.origin.tls ? 'https' : 'http', headers: h, bodyLength: req.bodyLength, upgrade: req.upgrade };
  }

  private onConnection(conn: H1UpstreamConn | null, err: string): void {
    if (this.finished) { if (conn) conn.socket.destroy(); return; }
    if (!conn) {
      this.ctx.stats.upstream_cx_connect_fail++;
      this.onError('connect-failure', err);
      return;
    }
    const body = this.takeBufferedBody();
    conn.start(this.out!, this, body, this.reqEnded);
    if (this.reqEnded && this.req.bodyLength < 0) conn.end(this.reqTrailers);
    this.attach(conn);
  }

  private attach(u: UpstreamRequest): void {
    this.upstream = u;
    this.sentAt = this.ctx.clock.now();
    if (!this.reqEnded) this.down.resumeRequest();
  }

  private takeBufferedBody(): Buffer | undefined {
    if (this.body === null || this.body.length === 0) return undefined;
    const b = this.body.length === 1 ? this.body[0] : Buffer.concat(this.body);
    // Keep it only if a stale-connection retry could still need the whole body.
    if (!(this.reqEnded && this.bodyBytes <= RETRY_BUFFER_LIMIT)) { this.body = null; this.bodyStreamed = true; }
    else this.body = [b];
    return b;
  }

  // ----- request body from downstream

  requestData(buf: Buffer, start: number, end: number): void {
    if (this.finished) return;
    const u = this.upstream;
    if (u === null) {
      // Not connected yet: keep a copy (the caller's buffer may be reused) and apply back-pressure.
      (this.body ??= []).push(Buffer.from(buf.subarray(start, end)));
      this.bodyBytes += end - start;
      if (this.bodyBytes > RETRY_BUFFER_LIMIT) this.down.pauseRequest();
      return;
    }
    this.bodyStreamed = true;
    this.body = null;
    if (!u.write(buf, start, end)) {
      this.down.pauseRequest();
      u.onDrain(() => this.down.resumeRequest());
    }
  }

  requestEnd(trailers: string[] | undefined): void {
    if (this.reqEnded) return;
    this.reqEnded = true;
    this.reqTrailers = trailers;
    if (this.upstream !== null && !this.finished) this.upstream.end(trailers);
  }

  // ----- response from upstream (ResponseSink)

  onHead(status: number, reason: string, headers: string[], bodyLength: number, _end: boolean): void {
    if (this.finished) return;
    this.responseStarted = true;
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.status = status;
    const h: string[] = [];
    forwardHeaders(headers, h);
    this.decorateResponse(h);
    this.down.sendHead(status, h, bodyLength);
  }

  private decorateResponse(h: string[]): void {
    h.push('x-envoy-upstream-service-time', String(Math.round(this.ctx.clock.now() - this.sentAt)));
    setHeader(h, 'server', this.rt.handler.serverName ?? 'envoy');
    if (this.setCookie) h.push('set-cookie', this.setCookie);
    const d = this.decision;
    if (d && d.kind === 'forward') applyHeaderEdits(h, d.response);
  }

  onData(buf: Buffer, start: number, end: number): void {
    if (this.finished) return;
    if (!this.down.sendData(buf, start, end)) {
      const u = this.upstream;
      if (u) { u.pauseResponse(); this.down.onDrain(() => u.resumeResponse()); }
    }
  }

  onEnd(trailers: string[] | undefined): void {
    if (this.finished) return;
    this.down.sendEnd(trailers);
    this.finish();
  }

  onUpgrade(status: number, headers: string[], tunnel: Socket, head: Buffer | undefined): void {
    if (this.finished || !this.down.tunnel) { tunnel.destroy(); return; }
    this.ctx.clock.clearTimeout(this.timer);
    this.status = status;
    const h: string[] = [];
    forwardHeaders(headers, h, true);
    this.down.tunnel(status, h, tunnel, head);
    this.finish();
  }

  onError(kind: UpstreamFailure, detail: string): void {
    if (this.finished) return;
    // A reused keep-alive connection the upstream closed just as we wrote: try once on a fresh one.
    if (kind === 'reset-before-response' && !this.retriedStale && !this.bodyStreamed && this.upstream !== null &&
        (this.upstream as Partial<H1UpstreamConn>).requests !== undefined && (this.upstream as H1UpstreamConn).requests > 1 && this.cluster) {
      this.retriedStale = true;
      this.upstream = null;
      this.ctx.stats.upstream_rq_retry++;
      const [address, port] = splitHostPort(this.hostId);
      this.ctx.upstreams.pool(this.cluster, address, port).open((c, e) => this.onConnection(c, e));
      return;
    }
    this.upstream = null;
    if (this.responseStarted) {
      this.flags.push('UR');
      this.down.abort();
      this.finish();
      return;
    }
    switch (kind) {
      case 'connect-failure': this.flags.push('UF'); this.localReply(503, `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${detail}`, undefined); break;
      case 'protocol-error': this.flags.push('UPE'); this.localReply(502, `upstream protocol error: ${detail}`, undefined); break;
      case 'timeout': this.flags.push('UT'); this.localReply(504, 'upstream request timeout', undefined); break;
      default: this.flags.push('UC'); this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', undefined);
    }
  }

  private onTimeout(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.ctx.stats.upstream_rq_timeout++;
    const u = this.upstream;
    this.upstream = null;
    u?.abort();
    if (this.responseStarted) { this.flags.push('UT'); this.down.abort(); this.finish(); return; }
    this.flags.push('UT');
    this.localReply(504, 'upstream request timeout', undefined);
  }

  /** The downstream went away (client closed / reset). */
  downstreamClosed(): void {
    if (this.finished) return;
    this.flags.push('DC');
    const u = this.upstream;
    this.upstream = null;
    u?.abort();
    this.finish();
  }

  // ----- local replies and completion

  localReply(status: number, body: string, edits: Parameters<typeof applyHeaderEdits>[1], extra?: string[]): void {
    if (this.finished) return;
    this.status = status;
    const b = body ? Buffer.from(body) : undefined;
    const h: string[] = extra ? [...extra] : [];
    if (b) h.push('content-type', LOCAL_BODY_TYPE);
    h.push('date', new Date().toUTCString(), 'server', this.rt.handler.serverName ?? 'envoy');
    applyHeaderEdits(h, edits);
    const noBody = this.req.method === 'HEAD';
    this.down.sendHead(status, h, b ? b.length : 0);
    if (b && !noBody) this.down.sendData(b, 0, b.length);
    this.down.sendEnd(undefined);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.host) this.host.activeRequests--;
    const s = this.ctx.stats;
    s.downstream_rq_active--;
    s.countStatus(this.status || 0);
    if (this.ctx.onRequestComplete) {
      const d = this.decision;
      this.ctx.onRequestComplete({
        method: this.req.method, path: this.req.path, authority: this.req.authority, status: this.status, flags: this.flags,
        cluster: d && d.kind === 'forward' ? d.cluster : '', upstreamHost: this.hostId,
        routeName: d && d.kind !== 'none' ? d.routeName ?? '' : '', durationMs: this.ctx.clock.now() - this.startedAt,
        requestId: this.requestId || this.req.get('x-request-id') || '', listener: this.origin.listenerName,
      });
    }
    this.down.done(this);
  }

  get isFinished(): boolean { return this.finished; }
  /** Whether the upstream took the whole request (an early response leaves body bytes unread downstream). */
  get requestComplete(): boolean { return this.reqEnded; }
}

function splitHostPort(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

function notFilterState<T extends { kind: string }>(p: T): p is Exclude<T, { kind: 'filterState' }> { return p.kind !== 'filterState'; }
