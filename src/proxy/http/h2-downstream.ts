// proxy/http: downstream HTTP/2 (h2c via preface sniffing, or TLS with ALPN "h2") through node:http2's documented API.
import { createServer, constants, type Http2Server, type ServerHttp2Stream, type ServerHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { Exchange } from './exchange.ts';
import type { DownstreamResponder, IncomingRequest } from './exchange-types.ts';
import type { HeaderEdits } from './route-types.ts';
import { fromH2Headers, toH2Headers } from './h2-upstream.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import type { EngineContext, HttpChainRuntime } from '../listener/runtime.ts';

interface SessionMeta { origin: ConnectionOrigin; runtime: () => HttpChainRuntime | undefined }

/** RFC 9110 token characters; a method must be one, in upper case (see requestProblem). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;

/**
 * Why Envoy would refuse this HTTP/2 request with 400, or undefined: the same checks as the HTTP/1.1 parser. A method
 * that is not an upper-case token (so "get" cannot dodge a policy on GET in a case-insensitive backend), an encoded
 * NUL (%00) in :path, and a #fragment in :path (Envoy rejects fragments on every codec by default since 1.17.4 /
 * 1.19.1; stripping them is only a runtime-guard fallback, so no normalization mode keeps or strips one here).
 */
export function requestProblem(method: string, path: string): string | undefined {
  if (!TOKEN.test(method)) return 'method not an upper-case token';
  if (path.includes('%00')) return 'encoded NUL (%00) in :path';
  if (path.indexOf('#') !== -1) return 'fragment in :path';
  return undefined;
}

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export class H2Request implements IncomingRequest {
  constructor(
    public method: string, public path: string, public authority: string, public scheme: string,
    public headers: string[], public bodyLength: number,
  ) {}
  upgrade = '';
  get(name: string): string | undefined {
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }
}

const NOOP = (): void => {};
const NO_EDITS: HeaderEdits = { add: [], remove: [] };

/**
 * node:http2 decides at respond() whether a stream waits for trailers (waitForTrailers); one that waits and gets none
 * ends with an extra empty DATA frame. So the head of a known-length response waits for its body: a whole body in one
 * chunk (most responses) goes out with it at sendEnd, which knows whether trailers came. A body in several chunks
 * must answer at its first chunk, before its end says whether trailers follow: it waits for them (Envoy forwards
 * trailers to any h2 client), paying the empty frame when none come.
 *
 * A response body's last write must not end the stream when the request's body was read to its end. node:http2
 * destroys a stream when it closes if its readable side has ended, and reports the write that carried END_STREAM
 * done only after that (next flush); node's Writable then builds an ERR_STREAM_DESTROYED, stack trace and all, for
 * every such write (errorBuffer runs whenever a write completes on a destroyed stream, callbacks or not): ~20% of
 * a request's instructions. So such a response waits for trailers (waitForTrailers) and, when there are none, ends
 * with an empty DATA frame sent after the body's write completed: one 9-byte frame is far cheaper than the Error.
 * A request that ended with its HEADERS is never read (see onStream), so its stream is destroyed only after the
 * response's writes have finished and its response needs no extra frame.
 */
class H2Responder implements DownstreamResponder {
  readonly protocol = 'HTTP/2' as const;
  private trailers: string[] | undefined;
  private drainCb: () => void = NOOP;
  private drainHooked = false;
  /** The response head, not yet given to respond(): a body of known length decides trailers at its end. */
  private head: OutgoingHttpHeaders | undefined;
  private bodyLength = 0;
  /** The whole body (one chunk, a copy), held with the head until sendEnd. */
  private whole: Buffer | undefined;
  /** The request's body was read to its end ('end' emitted): see endsWithoutWrite. */
  requestRead = false;
  constructor(
    private readonly stream: ServerHttp2Stream,
    /** The request ended with its HEADERS: nothing to read, and its stream must stay unread (see onStream). */
    private readonly bodyless: boolean,
  ) {}

  sendHead(status: number, headers: string[], bodyLength: number): void {
    if (this.stream.closed || this.stream.headersSent) return;
    const h = toH2Headers(headers, { ':status': status });
    if (bodyLength > 0 && h['content-length'] === undefined) h['content-length'] = bodyLength;
    // Unknown length (streamed / chunked upstream): the head goes now and the stream waits for trailers.
    if (bodyLength < 0) { this.respond(h, true, false); return; }
    this.head = h;
    this.bodyLength = bodyLength;
  }

  /** False when the stream closed meanwhile (a client reset): respond() would throw. */
  private respond(h: OutgoingHttpHeaders, waitForTrailers: boolean, endStream: boolean): boolean {
    this.head = undefined;
    if (this.stream.closed) return false;
    if (waitForTrailers) this.stream.once('wantTrailers', () => this.onWantTrailers());
    this.stream.respond(h, { endStream, waitForTrailers });
    return true;
  }

  private onWantTrailers(): void {
    const t = this.trailers;
    if (!this.stream.destroyed) this.stream.sendTrailers(t && t.length ? toH2Headers(t, {}) : {});
  }

  sendData(buf: Buffer, start: number, end: number): boolean {
    const stream = this.stream;
    if (stream.destroyed) return true;
    // Always a copy: the stream may hold it after we return, and read buffers can be reused (io fast path).
    const n = end - start;
    const copy = Buffer.allocUnsafe(n);
    buf.copy(copy, 0, start, end);
    const h = this.head;
    if (h !== undefined) {
      const held = this.whole;
      // The first chunk is the whole body: hold both until sendEnd, which knows whether trailers follow.
      if (held === undefined && n >= this.bodyLength) { this.whole = copy; return true; }
      // The body comes in several chunks: trailers may still follow its end (an h2 upstream's), and node:http2 takes
      // them only on a stream that said so at respond(). Envoy forwards them to any h2 client, so wait; without any,
      // the end costs one empty frame, only on this path (a body in one chunk decides at sendEnd).
      if (!this.respond(h, true, false)) return true;
      // More than the declared length after all (the upstream's framing is its codec's to police): send it all.
      if (held !== undefined) { this.whole = undefined; stream.write(held); }
    }
    return stream.write(copy);
  }

  sendEnd(trailers: string[] | undefined): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    const t = trailers !== undefined && trailers.length > 0 ? trailers : undefined;
    this.trailers = t;
    const h = this.head;
    const whole = this.whole;
    this.whole = undefined;
    if (h !== undefined) {
      // Head (and whole body) still here: trailers decide waitForTrailers; none and no body -> END_STREAM on HEADERS.
      const wait = t !== undefined || (whole !== undefined && this.requestRead);
      if (!this.respond(h, wait, whole === undefined && !wait)) return;
      if (stream.writableEnded) return; // endStream, or HEAD / 204 / 304 (node ended it)
      if (whole !== undefined) stream.end(whole);
      else stream.end();
      return;
    }
    // Streamed or several chunks: the stream waits for trailers (wantTrailers sends this.trailers, or none).
    if (!stream.writableEnded) stream.end();
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
    // One listener, only on a stream that ever had to wait (most never do).
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.stream.on('drain', () => { const f = this.drainCb; this.drainCb = NOOP; f(); });
    }
  }
  pauseRequest(): void { if (!this.bodyless) this.stream.pause(); }
  resumeRequest(): void { if (!this.bodyless) this.stream.resume(); }
  abort(): void { if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR); }
  done(): void {}
}

/**
 * A malformed request is answered 400 on its stream (Envoy does the same; the connection lives on), through an
 * exchange so it counts and logs like every other request: downstream_rq_4xx, DPE in the flags, the access log and
 * istio_requests_total (an HTTP/1.1 request line this bad never becomes a request; an h2 stream already is one).
 */
function reject400(ex: Exchange, why: string): void {
  ex.flags.push('DPE');
  ex.localReply(400, `Bad Request: ${why}`, NO_EDITS);
}

/** One node:http2 server per engine; sockets are handed to it after the listener picked an HTTP chain. */
export class H2Downstream {
  /** node:http2 reads the socket itself. */
  readonly readsThroughIO = false;
  readonly server: Http2Server;
  private nextMeta: SessionMeta | undefined;
  private readonly meta = new WeakMap<ServerHttp2Session, SessionMeta>();
  readonly sessions = new Set<ServerHttp2Session>();

  constructor(private readonly ctx: EngineContext) {
    this.server = createServer({ settings: { maxConcurrentStreams: 1024 } });
    this.server.on('session', (s: ServerHttp2Session) => {
      if (this.nextMeta) { this.meta.set(s, this.nextMeta); this.nextMeta = undefined; }
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => {});
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** Serve HTTP/2 on `socket`; `initial` are bytes already read while sniffing (node:http2 reads the socket itself). */
  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer, _io?: unknown): void {
    if (initial && initial.length) socket.unshift(initial);
    this.nextMeta = { origin, runtime };
    this.ctx.stats.downstream_cx_total++;
    this.server.emit('connection', socket);
    this.nextMeta = undefined;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const m = this.meta.get(stream.session as ServerHttp2Session);
    const rt = m?.runtime();
    stream.on('error', NOOP);
    if (!m || !rt) { stream.close(constants.NGHTTP2_REFUSED_STREAM); return; }
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    const bodyless = stream.endAfterHeaders;
    const cl = headers['content-length'];
    const req = new H2Request(
      method, path, String(headers[':authority'] ?? headers.host ?? ''),
      String(headers[':scheme'] ?? 'http'), fromH2Headers(headers as Record<string, string | string[] | undefined>),
      bodyless ? 0 : cl !== undefined ? Number(cl) : -1,
    );
    const responder = new H2Responder(stream, bodyless);
    const ex = new Exchange(this.ctx, m.origin, rt, req, responder);
    // CONNECT carries no :path; the others are checked the way the HTTP/1.1 parser checks its request line.
    const problem = requestProblem(method, method === 'CONNECT' && headers[':path'] === undefined ? '/' : path);
    if (problem) { reject400(ex, problem); return; }
    stream.on('close', () => { if (!ex.isFinished) ex.downstreamClosed(); });
    if (bodyless) {
      // No body listeners: a request stream nobody read is destroyed only once the response's writes have
      // completed. One whose readable side already ended is destroyed when the stream closes, before node reports
      // the last write done, and node then builds an ERR_STREAM_DESTROYED (stack trace and all) per request.
      ex.start();
      ex.requestEnd(undefined);
      return;
    }
    let trailers: string[] | undefined;
    stream.on('trailers', (t) => { trailers = fromH2Headers(t as Record<string, string>); });
    stream.on('data', (b: Buffer) => ex.requestData(b, 0, b.length));
    stream.on('end', () => { responder.requestRead = true; ex.requestEnd(trailers); });
    stream.pause();
    ex.start();
  }

  /** Send GOAWAY on every session (drain); streams in flight finish. */
  drain(): void { for (const s of this.sessions) if (!s.closed) s.close(); }
  destroy(): void { for (const s of this.sessions) s.destroy(); }
}
