// proxy/telemetry: the proxy's telemetry in one object — Istio's standard metrics, xDS-configured access logs —
// built from the bootstrap node and handed to the engine (EngineContext.telemetry). Trace headers live in
// trace.ts and are applied by the exchange itself.
import type { Stat } from '../admin/types.ts';
import type { AccessLogConfig } from '../config/types.ts';
import type { AccessLogEntry } from './access-log.ts';
import { AccessLogWriters } from './access-log.ts';
import { encodePeer, selfWorkload, type Workload } from './labels.ts';
import { IstioMetrics } from './metrics.ts';
import type { HttpDone, RequestTelemetry, TcpOpen } from './types.ts';
import { encodeMxFrame } from '../tcp/mx.ts';
import { ZipkinTracer, type TracerOptions } from './tracer.ts';

export { PEER_HEADER } from './labels.ts';
export { propagateTrace } from './trace.ts';
export type { HttpDone, RequestTelemetry, TcpOpen } from './types.ts';

export interface TelemetryOptions {
  node: { id: string; metadata: Record<string, unknown> };
  /** Access-log write errors (a missing directory, a full disk): reported, never thrown. */
  onLogError?: (e: Error) => void;
  /** Span reporter settings (tests inject a clock and a sender). */
  tracer?: Partial<TracerOptions>;
}

export class ProxyTelemetry implements RequestTelemetry {
  readonly self: Workload;
  readonly peerHeader: string;
  readonly mxFrame: Buffer;
  readonly metrics: IstioMetrics;
  readonly logs: AccessLogWriters;
  /** Zipkin spans of sampled requests (tracer.ts); idle unless a listener has a zipkin provider. */
  readonly tracer: ZipkinTracer;

  constructor(o: TelemetryOptions) {
    this.self = selfWorkload(o.node);
    this.peerHeader = encodePeer(this.self);
    this.mxFrame = encodeMxFrame(o.node);
    this.metrics = new IstioMetrics(this.self);
    this.logs = new AccessLogWriters(o.onLogError);
    // Istio names a workload's spans <app or workload>.<namespace>
    const w = this.self;
    const ip = o.node.id.split('~')[1];
    this.tracer = new ZipkinTracer({
      self: { serviceName: `${w.app !== 'unknown' ? w.app : w.workload}.${w.namespace}`, ip: ip || undefined, nodeId: o.node.id }, ...o.tracer,
    });
  }

  onHttp(d: HttpDone): void {
    this.metrics.record(d.inbound, d.cluster, d.authority, d.status, d.flags.length ? d.flags.join(',') : '-', d.grpcStatus,
      d.grpc ? 'grpc' : 'http', d.durationMs, d.requestBytes, d.responseBytes, d.peerPrincipal, d.peerMeta);
    if (d.accessLog.length && d.entry) this.logs.log(d.accessLog, d.entry());
    if (d.span) this.tracer.record(d, d.span);
  }

  onTcpOpen(d: TcpOpen): (sent: number, received: number, entry?: () => AccessLogEntry, accessLog?: readonly AccessLogConfig[]) => void {
    // The exchanged node metadata reads like our own bootstrap node: the same workload labels come out of it.
    const s = this.metrics.tcpOpened({ inbound: d.inbound, cluster: d.cluster, peerPrincipal: d.peerPrincipal, peerMeta: d.peer ? encodePeer(selfWorkload(d.peer)) : undefined });
    return (sent, received, entry, accessLog) => {
      this.metrics.tcpClosed(s, sent, received);
      if (accessLog?.length && entry) this.logs.log(accessLog, entry());
    };
  }

  /** Istio metrics plus the access loggers' own counters. */
  stats(): Stat[] {
    const out = this.metrics.stats();
    const l = this.logs.stats();
    out.push({ type: 'counter', name: 'rig.access_log.written', value: l.written });
    out.push({ type: 'counter', name: 'rig.access_log.dropped', value: l.dropped });
    out.push({ type: 'counter', name: 'rig.access_log.write_errors', value: l.errors });
    out.push({ type: 'counter', name: 'rig.telemetry.series_overflowed', value: this.metrics.overflowed });
    const t = this.tracer.counters;
    out.push({ type: 'counter', name: 'tracing.zipkin.spans_sent', value: t.reported });
    out.push({ type: 'counter', name: 'tracing.zipkin.spans_dropped', value: t.dropped });
    out.push({ type: 'counter', name: 'tracing.zipkin.reports_failed', value: t.sendErrors });
    return out;
  }

  close(): Promise<void> { return Promise.all([this.logs.close(), this.tracer.close()]).then(() => undefined); }
}
