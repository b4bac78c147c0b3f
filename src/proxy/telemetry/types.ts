// proxy/telemetry: what the request path hands telemetry when an exchange ends (kept small: the engine's
// context holds one RequestTelemetry, and exchanges call it once per request).
import type { AccessLogConfig } from '../config/types.ts';
import type { AccessLogEntry } from './access-log.ts';
import type { SpanInput } from './tracer-span.ts';

export interface HttpDone {
  inbound: boolean;
  cluster: string;
  authority: string;
  status: number;
  flags: readonly string[];
  grpcStatus?: string;
  grpc: boolean;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  peerPrincipal?: string;
  peerMeta?: string;
  /** The HCM's access loggers (empty: nothing to log). */
  accessLog: readonly AccessLogConfig[];
  /** Built only when accessLog is non-empty. */
  entry?: () => AccessLogEntry;
  /** Set only for a sampled request on a listener with a zipkin tracer (tracer.ts reports its span). */
  span?: SpanInput;
}

export interface RequestTelemetry {
  /** This proxy's own peer metadata header value (sent to the other side of every call). */
  readonly peerHeader: string;
  onHttp(d: HttpDone): void;
  /**
   * This proxy's TCP metadata exchange frame (src/proxy/tcp/mx.ts: its node id and workload metadata), sent first on
   * mTLS TCP connections that negotiated ALPN istio-peer-exchange.
   */
  readonly mxFrame?: Buffer;
  /** A TCP proxy connection; returns what to call when it closes. `peer`: what the metadata exchange told (if it ran). */
  onTcpOpen?(d: TcpOpen): (sent: number, received: number, entry?: () => AccessLogEntry, accessLog?: readonly AccessLogConfig[]) => void;
}

export interface TcpOpen {
  inbound: boolean;
  cluster: string;
  peerPrincipal?: string;
  /** The peer's node (id + metadata) from Istio's TCP metadata exchange. */
  peer?: { id: string; metadata: Record<string, unknown> };
}
