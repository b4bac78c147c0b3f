// proxy/http/h2: the native HTTP/2 client — upstream streams over one multiplexed connection per endpoint, on the
// proxy's own socket I/O (src/proxy/io), framing (wire.ts) and HPACK (hpack.ts), instead of node:http2's session and
// stream objects (node 20 builds an AsyncResource, listeners and a Duplex per stream: ~23% of a client sidecar's
// instructions on the h2 mesh hop). Envoy's codec behaviour is the spec: flow control both ways, the peer's
// SETTINGS honoured, GOAWAY retires a connection (streams it did not take fail as retriable resets), RST_STREAM
// ends one stream, a malformed response is an upstream protocol error.
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../../common/clock.ts';
import type { ClusterState } from '../../upstream/cluster-state.ts';
import type { SocketIO } from '../../io/types.ts';
import type { OutgoingRequest, ResponseSink, UpstreamFailure, UpstreamRequest } from '../exchange-types.ts';
import type { H2UpstreamFactory } from '../h2-upstream.ts';
import { FlowStream, H2Connection, MAX_HEADER_LIST, NOOP, forbidden } from './conn.ts';
import { Flag, Frame, H2Error, MAX_WINDOW, PREFACE, Setting, errorName, goawayFrame, headersFrames, readU32, rstFrame } from './wire.ts';

/** Our receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection (raised at start). */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;

class ClientStream extends FlowStream implements UpstreamRequest {
  gotHead = false;
  /** content-length of the response, -1 if none; bytes of DATA seen. */
  expected = -1;
  received = 0;

  constructor(readonly conn: ClientConnection, id: number, readonly sink: ResponseSink, window: number) { super(id, window); }

  write(buf: Buffer, start: number, end: number): boolean {
    if (this.closed || this.localEnded) return true;
    return this.conn.sendData(this, buf, start, end);
  }
  end(trailers?: string[]): void {
    if (this.closed || this.localEnded || this.pendingEnd !== undefined) return;
    this.pendingEnd = trailers && trailers.length ? trailers : null;
    this.conn.flushStream(this);
  }
  abort(): void { if (!this.closed) this.conn.reset(this, H2Error.CANCEL); }
  pauseResponse(): void { this.paused = true; }
  resumeResponse(): void { if (this.unpause()) this.conn.giveBack(this, 0); }

  /** Finish with a failure (once). */
  fail(kind: UpstreamFailure, detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.onError(kind, detail);
  }
}

/** One HTTP/2 connection to an endpoint. */
export class ClientConnection extends H2Connection<ClientStream> {
  private nextId = 1;
  private readonly scratch: string[] = [];
  /** The peer's MAX_CONCURRENT_STREAMS; before its SETTINGS, what another connection to it learned, else 100. */
  peerMaxStreams = 100;
  /** Set once the peer's SETTINGS arrived. */
  connected = false;
  /** No new streams: GOAWAY received or sent, or the connection failed. */
  retired = false;
  closedConn = false;
  private connectTimer: TimerHandle | undefined;

  constructor(socket: Socket, io: SocketIO, private readonly clock: Clock, connectTimeoutMs: number, private readonly onClosed: (c: ClientConnection) => void) {
    super(io, socket, STREAM_WINDOW, CONNECTION_WINDOW);
    if (connectTimeoutMs > 0) this.connectTimer = clock.setTimeout(() => { if (!this.connected) this.destroy('connect-failure', 'connect timeout'); }, connectTimeoutMs);
    // Preface and our settings go first; writes made before the socket connects are buffered by it.
    this.out.text(PREFACE + this.initialFrames([[Setting.ENABLE_PUSH, 0]]));
    io.read(socket, (b, s, e) => this.readFrames(b, s, e));
    socket.on('close', () => this.destroy(this.connected ? 'reset-before-response' : 'connect-failure', this.connected ? 'connection closed' : 'connection failed'));
    socket.on('error', NOOP);
    socket.on('drain', () => this.onSocketDrain());
    socket.resume();
  }

  /** Can take another stream now. */
  get available(): boolean { return !this.retired && !this.closedConn && this.streams.size < this.peerMaxStreams && this.nextId < MAX_WINDOW; }

  request(req: OutgoingRequest, sink: ResponseSink): ClientStream {
    const id = this.nextId;
    this.nextId += 2;
    const s = new ClientStream(this, id, sink, this.peerInitialWindow);
    this.streams.set(id, s);
    const h = this.scratch;
    h.length = 0;
    h.push(':method', req.method, ':scheme', req.scheme, ':authority', req.authority);
    if (req.method !== 'CONNECT') h.push(':path', req.path);
    const flat = req.headers;
    let te = false;
    for (let i = 0; i < flat.length; i += 2) {
      const n = flat[i]!;
      if (n.charCodeAt(0) === 58 /* : */) continue;
      if (forbidden(n)) { if (n === 'te' && /trailers/i.test(flat[i + 1]!)) te = true; continue; }
      h.push(n, flat[i + 1]!);
    }
    if (te) h.push('te', 'trailers');
    const noBody = req.bodyLength === 0;
    if (noBody) { s.localEnded = true; s.pendingEnd = null; }
    this.out.text(headersFrames(id, this.enc.encodeLatin1(undefined, h), noBody, this.peerMaxFrame));
    return s;
  }

  reset(s: ClientStream, code: number): void {
    s.closed = true;
    this.forget(s);
    if (!this.closedConn) this.out.text(rstFrame(s.id, code));
    this.afterStreamGone();
  }

  protected localEnd(s: ClientStream): void { this.maybeClose(s); }

  private maybeClose(s: ClientStream): void {
    if (!s.localEnded || !s.remoteEnded) return;
    this.forget(s);
    this.afterStreamGone();
  }

  private afterStreamGone(): void {
    if (this.retired && this.streams.size === 0) this.close();
  }

  protected isIdle(id: number): boolean { return id >= this.nextId; }

  protected override onPeerSetting(key: number, v: number): void {
    if (key === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = v;
  }

  protected override afterPeerSettings(): void {
    if (!this.connected) { this.connected = true; this.clock.clearTimeout(this.connectTimer); }
  }

  // ---- receiving ----

  protected otherFrame(type: number, _flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (type === Frame.RST_STREAM) {
      if (id === 0 || end - start !== 4) { this.connectionError(id === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'bad RST_STREAM'); return; }
      const st = this.streams.get(id);
      if (!st) return;
      const code = readU32(buf, start);
      this.forget(st);
      // A reset after the whole response (NO_ERROR: "stop sending the request") leaves the response standing.
      if (st.remoteEnded) { st.closed = true; this.afterStreamGone(); return; }
      st.fail(st.gotHead ? 'reset-after-response' : 'reset-before-response', `upstream reset the stream (${errorName(code)})`);
      this.afterStreamGone();
      return;
    }
    if (type === Frame.GOAWAY) {
      if (id !== 0 || end - start < 8) { this.connectionError(H2Error.PROTOCOL_ERROR, 'bad GOAWAY'); return; }
      const last = readU32(buf, start) & 0x7fffffff;
      const code = readU32(buf, start + 4);
      this.retired = true;
      // Streams the peer did not take were never processed: they fail as retriable resets.
      for (const st of [...this.streams.values()]) {
        if (st.id > last) {
          this.forget(st);
          st.fail('reset-before-response', `upstream sent GOAWAY (${errorName(code)}) before taking the stream`);
        }
      }
      this.afterStreamGone();
      return;
    }
    this.connectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
  }

  protected headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void {
    // decoded into a reused array: what is kept is copied out of it (headers, trailers)
    const fields = this.fields;
    fields.length = 0;
    const err = this.dec.decode(buf, start, end, fields, MAX_HEADER_LIST);
    const s = this.streams.get(id);
    if (err !== undefined && err !== 'header list too large') { this.connectionError(H2Error.COMPRESSION_ERROR, `HPACK: ${err}`); return; }
    if (!s) { if (id >= this.nextId) this.connectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on an idle stream'); return; }
    if (err !== undefined) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'response header list too large'); return; }
    if (!s.gotHead) { this.responseHead(s, fields, endStream); return; }
    // trailers: must end the stream, no pseudo-headers
    if (!endStream) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'second header block without END_STREAM'); return; }
    const trailers: string[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i]!.charCodeAt(0) === 58) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'pseudo-header in trailers'); return; }
      trailers.push(fields[i]!, fields[i + 1]!);
    }
    this.endOfResponse(s, trailers);
  }

  /** The response head (or an informational one): :status first, no other pseudo-header. */
  private responseHead(s: ClientStream, fields: string[], endStream: boolean): void {
    if (fields[0] !== ':status' || !/^[1-5][0-9][0-9]$/.test(fields[1]!)) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'response without a valid :status'); return; }
    const status = Number(fields[1]);
    const headers: string[] = [];
    for (let i = 2; i < fields.length; i += 2) {
      const n = fields[i]!;
      if (n.charCodeAt(0) === 58 || n !== n.toLowerCase() || forbidden(n) && n !== 'te') { this.streamError(s, H2Error.PROTOCOL_ERROR, `malformed response header ${JSON.stringify(n)}`); return; }
      headers.push(n, fields[i + 1]!);
    }
    if (status < 200) {
      if (endStream) this.streamError(s, H2Error.PROTOCOL_ERROR, 'informational response ends the stream');
      return; // 1xx: wait for the final head
    }
    let len = -1;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-length') { len = /^[0-9]+$/.test(headers[i + 1]!) ? Number(headers[i + 1]) : -2; break; }
    if (len === -2) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'invalid content-length'); return; }
    if (endStream && len > 0) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'content-length without a body'); return; }
    s.gotHead = true;
    s.expected = len;
    s.sink.onHead(status, '', headers, endStream ? 0 : len, endStream);
    if (endStream && !s.closed) this.endOfResponse(s, undefined);
  }

  /**
   * The response is complete (its length checked); a request still sending is told to stop (RST NO_ERROR), as Envoy
   * does.
   */
  private endOfResponse(s: ClientStream, trailers: string[] | undefined): void {
    if (s.expected >= 0 && s.received !== s.expected) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'body shorter than content-length'); return; }
    s.remoteEnded = true;
    s.closed = true;
    s.sink.onEnd(trailers);
    if (!s.localEnded) { this.reset(s, H2Error.NO_ERROR); return; }
    this.maybeClose(s);
  }

  protected onData(flags: number, id: number, buf: Buffer, s0: number, e0: number, frameLen: number): void {
    const s = this.streams.get(id);
    if (!s || s.closed) {
      // a stream we reset or finished: count it against the connection window only
      this.giveBack(undefined, frameLen);
      if (!s && id >= this.nextId) this.connectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      return;
    }
    if (!s.gotHead) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'DATA before the response head'); return; }
    if (!this.withinWindow(s, frameLen)) { this.streamError(s, H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the stream window'); return; }
    s.received += e0 - s0;
    if (s.expected >= 0 && s.received > s.expected) { this.streamError(s, H2Error.PROTOCOL_ERROR, 'body longer than content-length'); return; }
    if (e0 > s0) s.sink.onData(buf, s0, e0);
    if (s.closed) return; // the sink aborted meanwhile
    this.giveBack(s, frameLen);
    if (flags & Flag.END_STREAM) this.endOfResponse(s, undefined);
  }

  // ---- errors and teardown ----

  /** A malformed response on one stream: reset it; the upstream protocol error goes to the exchange (UPE). */
  protected streamError(s: ClientStream, code: number, why: string): void {
    const live = !s.closed;
    this.reset(s, code);
    if (live) s.sink.onError('protocol-error', `HTTP/2 upstream: ${why}`);
  }

  protected connectionError(code: number, why: string): void {
    if (this.closedConn) return;
    this.out.text(goawayFrame(0, code, why.slice(0, 64)));
    this.out.flush();
    this.destroy('protocol-error', `HTTP/2 upstream connection error (${errorName(code)}): ${why}`);
  }

  /** Close gracefully (no streams left on a retired connection). */
  close(): void {
    if (this.closedConn) return;
    if (this.streams.size > 0) { this.retired = true; this.out.text(goawayFrame(0, H2Error.NO_ERROR)); return; }
    this.out.text(goawayFrame(0, H2Error.NO_ERROR));
    this.out.flush();
    this.destroy('reset-before-response', 'connection closed');
  }

  destroy(kind: UpstreamFailure, detail: string): void {
    if (this.closedConn) return;
    this.closedConn = true;
    this.retired = true;
    this.stopped = true;
    this.clock.clearTimeout(this.connectTimer);
    const left = [...this.streams.values()];
    for (const s of left) this.forget(s);
    for (const s of left) s.fail(s.gotHead ? 'reset-after-response' : kind, detail);
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClosed(this);
  }
}

/**
 * Connections per endpoint: a request takes the first that has room (the peer's MAX_CONCURRENT_STREAMS) and opens
 * another when none has; retired ones (GOAWAY) finish their streams and leave.
 */
export class H2ClientPool implements H2UpstreamFactory {
  private readonly conns = new Map<string, ClientConnection[]>();
  /**
   * `plain`: the I/O path for plaintext (h2c) endpoints; `tlsDial`: how to open a TLS connection to an endpoint of a
   * cluster with a TLS transport socket (undefined: plaintext).
   */
  constructor(private readonly clock: Clock, private readonly plain: () => SocketIO, private readonly tlsDial?: (cluster: ClusterState, address: string, port: number) => SocketIO | undefined) {}

  request(cluster: ClusterState, address: string, port: number, req: OutgoingRequest, sink: ResponseSink): UpstreamRequest {
    const tls = this.tlsDial?.(cluster, address, port);
    const key = (tls ? 'tls|' : '') + address + ':' + port;
    let list = this.conns.get(key);
    if (!list) { list = []; this.conns.set(key, list); }
    let c: ClientConnection | undefined;
    for (let i = 0; i < list.length; i++) if (list[i]!.available) { c = list[i]; break; }
    if (!c) {
      const io = tls ?? this.plain();
      const conn: ClientConnection = new ClientConnection(io.dial(address, port), io, this.clock, cluster.config.connectTimeoutMs, (gone) => {
        const l = this.conns.get(key);
        const i = l ? l.indexOf(gone) : -1;
        if (i >= 0) l!.splice(i, 1);
        if (l && l.length === 0) this.conns.delete(key);
      });
      if (tls) {
        // The cluster says HTTP/2, so HTTP/2 is spoken whatever ALPN settled on, as Envoy's explicit codec does: Istio's
        // in-mesh clusters offer ["istio", "h2"] and a peer sidecar may pick "istio". Only a server that chose
        // HTTP/1.1 has said it cannot take these frames: fail fast with that reason instead of a protocol error.
        conn.socket.once('connect', () => {
          const alpn = (conn.socket as unknown as { alpnProtocol?: string | false }).alpnProtocol;
          if (alpn === 'http/1.1' || alpn === 'http/1.0') conn.destroy('connect-failure', `upstream TLS negotiated ${alpn}, not h2`);
        });
      }
      // Until its own SETTINGS arrive, a new connection assumes the limit another connection to the same peer
      // learned (streams beyond the peer's real limit would be refused).
      for (const o of list) if (o.connected) conn.peerMaxStreams = o.peerMaxStreams;
      list.push(conn);
      c = conn;
    }
    return c.request(req, sink);
  }

  /** The engine is closing: every connection goes now (streams still open fail as resets). */
  close(): void {
    for (const list of this.conns.values()) for (const c of [...list]) c.destroy('reset-before-response', 'proxy shutting down');
    this.conns.clear();
  }

  /** Open connections (for tests and stats). */
  get connectionCount(): number {
    let n = 0;
    for (const l of this.conns.values()) n += l.length;
    return n;
  }
}
