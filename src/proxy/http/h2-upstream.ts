// proxy/http: HTTP/2 upstream streams (h2c / TLS+ALPN) over one multiplexed node:http2 session per endpoint.
import { connect as h2connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Clock } from '../../common/clock.ts';
import type { ClusterState } from '../upstream/cluster-state.ts';
import type { Duplex } from 'node:stream';
import type { SocketIO } from '../io/types.ts';
import type { OutgoingRequest, ResponseSink, UpstreamRequest } from './exchange-types.ts';
import { forbidden } from './h2/conn.ts';

export interface H2UpstreamFactory {
  request(cluster: ClusterState, address: string, port: number, req: OutgoingRequest, sink: ResponseSink): UpstreamRequest;
  close(): void;
}

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL } = constants;
/** Flat [name, value...] -> node:http2 headers object; repeated names become arrays (set-cookie...). */
export function toH2Headers(flat: readonly string[], into: OutgoingHttpHeaders): OutgoingHttpHeaders {
  let te: string | undefined;
  for (let i = 0; i < flat.length; i += 2) {
    const n = flat[i];
    if (n.charCodeAt(0) === 58 /* : */) continue;
    if (forbidden(n)) {
      // The one TE value HTTP/2 allows is "trailers" (gRPC needs it end to end).
      if (n === 'te' && te === undefined) te = flat[i + 1];
      continue;
    }
    const prev = into[n];
    if (prev === undefined) into[n] = flat[i + 1];
    else into[n] = Array.isArray(prev) ? [...prev, flat[i + 1]] : [String(prev), flat[i + 1]];
  }
  if (te !== undefined && /trailers/i.test(te)) into.te = 'trailers';
  return into;
}

/**
 * node:http2 headers object -> flat list, skipping pseudo-headers. Object.keys + an indexed loop: node's header
 * objects are null-prototype dictionaries, which for-in walks more slowly (3.0k instead of 3.8k instructions for
 * a 7-field request head).
 */
export function fromH2Headers(h: Record<string, string | string[] | undefined | number>): string[] {
  const out: string[] = [];
  const keys = Object.keys(h);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.charCodeAt(0) === 58 /* : */) continue;
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, typeof v === 'string' ? v : String(v));
  }
  return out;
}

const NOOP = (): void => {};

/**
 * session.request() options. The priority fields are given (their documented defaults) so node's copy of the
 * options already has them: node adds each missing one to its copy, a map transition per request. node copies
 * the object, so one per shape is shared.
 */
const REQUEST_NO_BODY = { endStream: true, waitForTrailers: false, weight: 16, parent: 0, exclusive: false };
// A request with a body may end with trailers (client-streaming gRPC): only known at its end, so keep the stream
// open for them. Without this, trailers given to end() would never be sent.
const REQUEST_WITH_BODY = { endStream: false, waitForTrailers: true, weight: 16, parent: 0, exclusive: false };

class H2UpstreamStream implements UpstreamRequest {
  private drainCb: () => void = NOOP;
  private drainHooked = false;
  constructor(private readonly stream: ClientHttp2Stream, sink: ResponseSink, private readonly waitsForTrailers: boolean) {
    let gotHead = false;
    let ended = false;
    let trailers: string[] | undefined;
    stream.on('response', (headers) => {
      const status = Number(headers[HTTP2_HEADER_STATUS]);
      if (status >= 100 && status < 200) return;
      gotHead = true;
      const cl = headers['content-length'];
      const len = cl !== undefined ? Number(cl) : -1;
      sink.onHead(status, '', fromH2Headers(headers), stream.endAfterHeaders ? 0 : len, stream.endAfterHeaders);
    });
    stream.on('trailers', (t) => { trailers = fromH2Headers(t); });
    stream.on('data', (b: Buffer) => sink.onData(b, 0, b.length));
    stream.on('end', () => { if (!ended && gotHead) { ended = true; sink.onEnd(trailers); } });
    stream.on('error', NOOP);
    stream.on('close', () => {
      if (ended) return;
      ended = true;
      if (!gotHead) sink.onError('reset-before-response', `http2 stream closed (code ${stream.rstCode})`);
      else if (stream.rstCode !== 0) sink.onError('reset-after-response', `http2 stream reset (code ${stream.rstCode})`);
      else sink.onEnd(trailers);
    });
  }
  write(buf: Buffer, start: number, end: number): boolean {
    // Always a copy: the stream may hold it after we return, and read buffers can be reused (io fast path).
    const copy = Buffer.allocUnsafe(end - start);
    buf.copy(copy, 0, start, end);
    return this.stream.write(copy);
  }
  end(trailers?: string[]): void {
    // The stream was opened with waitForTrailers (it has a body): it stays open until sendTrailers. With no
    // trailers, node:http2 closes it with an empty END_STREAM DATA frame instead of an empty HEADERS frame.
    if (this.waitsForTrailers) {
      this.stream.once('wantTrailers', () => {
        if (!this.stream.destroyed) this.stream.sendTrailers(trailers && trailers.length ? toH2Headers(trailers, {}) : {});
      });
    }
    this.stream.end();
  }
  abort(): void { if (!this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL); }
  onDrain(cb: () => void): void {
    this.drainCb = cb;
    // One listener, only on a stream that ever had to wait (most never do).
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.stream.on('drain', () => { const f = this.drainCb; this.drainCb = NOOP; f(); });
    }
  }
  pauseResponse(): void { this.stream.pause(); }
  resumeResponse(): void { this.stream.resume(); }
}

/** One session per endpoint; a session that errors or closes is replaced on the next request. */
export class H2UpstreamPool implements H2UpstreamFactory {
  private sessions = new Map<string, ClientHttp2Session>();
  /** `tlsDial`: how to open a TLS connection to an endpoint of a cluster that has a TLS transport socket (else undefined). */
  constructor(private readonly clock: Clock, private readonly tlsDial?: (cluster: ClusterState, address: string, port: number) => SocketIO | undefined) {}

  private session(address: string, port: number, connectTimeoutMs: number, tls?: SocketIO): ClientHttp2Session {
    const key = (tls ? 'tls|' : '') + address + ':' + port;
    let s = this.sessions.get(key);
    if (s && !s.closed && !s.destroyed) return s;
    const host = address.includes(':') ? `[${address}]` : address;
    s = tls ? h2connect(`https://${host}:${port}`, { createConnection: () => tls.dial(address, port) as unknown as Duplex }) : h2connect(`http://${host}:${port}`);
    const sess = s;
    const t = connectTimeoutMs > 0 ? this.clock.setTimeout(() => { if (!sess.socket || sess.connecting) sess.destroy(new Error('connect timeout')); }, connectTimeoutMs) : undefined;
    sess.once('connect', () => this.clock.clearTimeout(t));
    sess.on('error', () => {});
    sess.on('close', () => { this.clock.clearTimeout(t); if (this.sessions.get(key) === sess) this.sessions.delete(key); });
    this.sessions.set(key, sess);
    return sess;
  }

  request(cluster: ClusterState, address: string, port: number, req: OutgoingRequest, sink: ResponseSink): UpstreamRequest {
    const sess = this.session(address, port, cluster.config.connectTimeoutMs, this.tlsDial?.(cluster, address, port));
    const headers: OutgoingHttpHeaders = { ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': req.scheme };
    toH2Headers(req.headers, headers);
    const waitForTrailers = req.bodyLength !== 0;
    let stream: ClientHttp2Stream;
    try {
      stream = sess.request(headers, waitForTrailers ? REQUEST_WITH_BODY : REQUEST_NO_BODY);
    } catch (e) {
      queueMicrotask(() => sink.onError('connect-failure', (e as Error).message));
      return { write: () => true, end: () => {}, abort: () => {}, onDrain: () => {}, pauseResponse: () => {}, resumeResponse: () => {} };
    }
    return new H2UpstreamStream(stream, sink, waitForTrailers);
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
