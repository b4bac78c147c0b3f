// proxy/http: downstream HTTP/2 (h2c via preface sniffing, or TLS with ALPN "h2") through node:http2's documented API.
import { createServer, constants, type Http2Server, type ServerHttp2Stream, type ServerHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { Exchange } from './exchange.ts';
import type { DownstreamResponder, IncomingRequest } from './exchange-types.ts';
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

class H2Request implements IncomingRequest {
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

class H2Responder implements DownstreamResponder {
  readonly protocol = 'HTTP/2' as const;
  private trailers: string[] | undefined;
  private drainCb: (() => void) | null = null;
  constructor(private readonly stream: ServerHttp2Stream, private readonly grpc: boolean) {
    stream.on('drain', () => { const cb = this.drainCb; this.drainCb = null; cb?.(); });
    stream.on('wantTrailers', () => {
      const t = this.trailers;
      if (!this.stream.destroyed) this.stream.sendTrailers(t && t.length ? toH2Headers(t, {}) : {});
    });
  }
  sendHead(status: number, headers: string[], bodyLength: number): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    const h = toH2Headers(headers, { [constants.HTTP2_HEADER_STATUS]: status });
    if (bodyLength >= 0 && h['content-length'] === undefined && bodyLength > 0) h['content-length'] = bodyLength;
    // Never endStream here: sendEnd() closes the stream, after trailers when they may come: gRPC, and bodies of
    // unknown length (streamed / chunked upstream responses). A response with a known length ends on its last
    // DATA frame, so its rare trailers are dropped rather than costing every response an extra frame.
    this.stream.respond(h, { endStream: false, waitForTrailers: this.grpc || bodyLength < 0 });
  }
  sendData(buf: Buffer, start: number, end: number): boolean {
    if (this.stream.destroyed) return true;
    // Always a copy: the stream may hold it after we return, and read buffers can be reused (io fast path).
    return this.stream.write(Buffer.from(buf.subarray(start, end)));
  }
  sendEnd(trailers: string[] | undefined): void {
    if (this.stream.destroyed) return;
    this.trailers = trailers;
    this.stream.end();
  }
  onDrain(cb: () => void): void { this.drainCb = cb; }
  pauseRequest(): void { this.stream.pause(); }
  resumeRequest(): void { this.stream.resume(); }
  abort(): void { if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR); }
  done(): void {}
}

/** A local 400 on the stream (Envoy answers a malformed h2 request on its stream, the connection lives on). */
function reject400(stream: ServerHttp2Stream, why: string): void {
  if (stream.destroyed || stream.headersSent) return;
  const body = `Bad Request: ${why}`;
  stream.respond({ ':status': 400, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}

/** One node:http2 server per engine; sockets are handed to it after the listener picked an HTTP chain. */
export class H2Downstream {
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

  /** Serve HTTP/2 on `socket`; `initial` are bytes already read while sniffing. */
  attach(socket: Socket, origin: ConnectionOrigin, runtime: () => HttpChainRuntime | undefined, initial?: Buffer): void {
    if (initial && initial.length) socket.unshift(initial);
    this.nextMeta = { origin, runtime };
    this.ctx.stats.downstream_cx_total++;
    this.server.emit('connection', socket);
    this.nextMeta = undefined;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const m = this.meta.get(stream.session as ServerHttp2Session);
    const rt = m?.runtime();
    stream.on('error', () => {});
    if (!m || !rt) { stream.close(constants.NGHTTP2_REFUSED_STREAM); return; }
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    // CONNECT carries no :path; the others are checked the way the HTTP/1.1 parser checks its request line.
    const problem = requestProblem(method, method === 'CONNECT' && headers[':path'] === undefined ? '/' : path);
    if (problem) { reject400(stream, problem); return; }
    const cl = headers['content-length'];
    const bodyLength = stream.endAfterHeaders ? 0 : cl !== undefined ? Number(cl) : -1;
    const flat = fromH2Headers(headers as Record<string, string | string[] | undefined>);
    const req = new H2Request(
      method, path, String(headers[':authority'] ?? headers.host ?? ''),
      String(headers[':scheme'] ?? 'http'), flat, bodyLength,
    );
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    const responder = new H2Responder(stream, grpc);
    const ex = new Exchange(this.ctx, m.origin, rt, req, responder);
    let trailers: string[] | undefined;
    stream.on('trailers', (t) => { trailers = fromH2Headers(t as Record<string, string>); });
    stream.on('data', (b: Buffer) => ex.requestData(b, 0, b.length));
    stream.on('end', () => ex.requestEnd(trailers));
    stream.on('close', () => { if (!ex.isFinished) ex.downstreamClosed(); });
    if (bodyLength !== 0) stream.pause();
    ex.start();
    if (bodyLength === 0) ex.requestEnd(undefined);
  }

  /** Send GOAWAY on every session (drain); streams in flight finish. */
  drain(): void { for (const s of this.sessions) if (!s.closed) s.close(); }
  destroy(): void { for (const s of this.sessions) s.destroy(); }
}
