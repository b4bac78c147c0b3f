// proxy/telemetry: Istio's standard metrics (istio_requests_total, istio_request_duration_milliseconds,
// istio_request_bytes, istio_response_bytes, istio_tcp_*) with Istio's label names, as admin Stats.
//
// Cost per request: two Map lookups (a label base per cluster + peer, then a series per status / flags / gRPC
// status) and four observations. Label objects are built once per series. The number of series is bounded:
// past MAX_SERIES new label sets fold into one overflow series per reporter, so hostile authorities or peers
// cannot grow memory.
import type { Stat } from '../admin/types.ts';
import { BYTES_BUCKETS, DURATION_BUCKETS_MS, Histogram } from './histogram.ts';
import { UNKNOWN, decodePeer, hostService, parseClusterName, spiffeNamespace, type Workload } from './labels.ts';

export const MAX_SERIES = 4096;

const BASE_LABELS = ['source_workload', 'source_workload_namespace', 'source_principal', 'source_app', 'source_version', 'source_cluster',
  'destination_workload', 'destination_workload_namespace', 'destination_principal', 'destination_app', 'destination_version',
  'destination_service', 'destination_service_name', 'destination_service_namespace', 'destination_cluster', 'connection_security_policy'];

/** What one finished HTTP request contributes to the metrics. */
export interface HttpCall {
  /** The request arrived on an inbound cluster (reporter="destination"); else the proxy is the client side. */
  inbound: boolean;
  cluster: string;
  /** Inbound only: the authority the caller used (destination_service when no cluster names one). */
  authority?: string;
  status: number;
  /** Envoy's response flag string ("-" when none). */
  flags: string;
  grpcStatus?: string;
  protocol: 'http' | 'grpc';
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  /** Inbound: the peer's SPIFFE ID from mTLS. */
  peerPrincipal?: string;
  /** The other side's peer metadata header (request header inbound, response header outbound). */
  peerMeta?: string;
}

/** A TCP connection's contribution (istio_tcp_*). */
export interface TcpCall {
  inbound: boolean;
  cluster: string;
  peerPrincipal?: string;
}

interface HttpSeries {
  labels: Record<string, string>;
  requests: number;
  duration: Histogram;
  reqBytes: Histogram;
  respBytes: Histogram;
}

export interface TcpSeries {
  labels: Record<string, string>;
  opened: number;
  closed: number;
  sent: number;
  received: number;
}

type Base = Omit<Record<string, string>, 'response_code' | 'grpc_response_status' | 'response_flags' | 'request_protocol'>;

/** Istio's label order, so lines read like Istio's. */
function ordered(b: Base, proto: string, code: string, grpc: string, flags: string): Record<string, string> {
  return {
    reporter: b.reporter!,
    source_workload: b.source_workload!, source_canonical_service: b.source_app!, source_canonical_revision: b.source_version!,
    source_workload_namespace: b.source_workload_namespace!, source_principal: b.source_principal!,
    source_app: b.source_app!, source_version: b.source_version!, source_cluster: b.source_cluster!,
    destination_workload: b.destination_workload!, destination_workload_namespace: b.destination_workload_namespace!,
    destination_principal: b.destination_principal!, destination_app: b.destination_app!, destination_version: b.destination_version!,
    destination_service: b.destination_service!, destination_canonical_service: b.destination_app!,
    destination_canonical_revision: b.destination_version!, destination_service_name: b.destination_service_name!,
    destination_service_namespace: b.destination_service_namespace!, destination_cluster: b.destination_cluster!,
    request_protocol: proto, response_code: code, grpc_response_status: grpc, response_flags: flags,
    connection_security_policy: b.connection_security_policy!,
  };
}

export class IstioMetrics {
  private readonly http = new Map<string, Map<string, HttpSeries>>();
  private readonly tcp = new Map<string, TcpSeries>();
  private series = 0;
  /** Label sets folded into the overflow series because MAX_SERIES was reached. */
  overflowed = 0;

  constructor(private readonly self: Workload, private readonly maxSeries = MAX_SERIES) {}

  recordHttp(c: HttpCall): void {
    const baseKey = (c.inbound ? 'i' : 'o') + c.cluster + '\x01' + (c.peerMeta ?? '') + '\x01' + (c.peerPrincipal ?? '') + (c.inbound ? '\x01' + (c.authority ?? '') : '');
    const grpc = c.grpcStatus ?? '';
    const key = c.status + '|' + c.flags + '|' + grpc + '|' + c.protocol;
    let byCode = this.http.get(baseKey);
    let s = byCode?.get(key);
    if (s === undefined) s = this.newHttpSeries(c, baseKey, key, grpc, byCode);
    s.requests++;
    s.duration.observe(c.durationMs);
    s.reqBytes.observe(c.requestBytes);
    s.respBytes.observe(c.responseBytes);
  }

  private newHttpSeries(c: HttpCall, baseKey: string, key: string, grpc: string, byCode: Map<string, HttpSeries> | undefined): HttpSeries {
    if (this.series >= this.maxSeries) {
      this.overflowed++;
      return this.overflowSeries(c.inbound);
    }
    const base = this.base(c.inbound, c.cluster, c.peerMeta, c.peerPrincipal, c.authority);
    const s: HttpSeries = {
      labels: ordered(base, c.protocol, String(c.status), grpc, c.flags),
      requests: 0,
      duration: new Histogram(DURATION_BUCKETS_MS), reqBytes: new Histogram(BYTES_BUCKETS), respBytes: new Histogram(BYTES_BUCKETS),
    };
    if (!byCode) { byCode = new Map(); this.http.set(baseKey, byCode); }
    byCode.set(key, s);
    this.series++;
    return s;
  }

  private overflowSeries(inbound: boolean): HttpSeries {
    const k = inbound ? '\x00overflow-i' : '\x00overflow-o';
    let m = this.http.get(k);
    if (!m) { m = new Map(); this.http.set(k, m); }
    let s = m.get('');
    if (!s) {
      const all: Base = {};
      for (const n of BASE_LABELS) all[n] = UNKNOWN;
      all.reporter = inbound ? 'destination' : 'source';
      s = { labels: ordered(all, UNKNOWN, UNKNOWN, '', UNKNOWN), requests: 0, duration: new Histogram(DURATION_BUCKETS_MS), reqBytes: new Histogram(BYTES_BUCKETS), respBytes: new Histogram(BYTES_BUCKETS) };
      m.set('', s);
    }
    return s;
  }

  /** The labels that do not depend on the response: reporter, source_*, destination_*, security policy. */
  private base(inbound: boolean, cluster: string, peerMeta: string | undefined, peerPrincipal: string | undefined, authority: string | undefined): Base {
    const peer = decodePeer(peerMeta);
    const me = this.self;
    const svc = parseClusterName(cluster);
    if (inbound) {
      const host = svc.host && svc.host !== UNKNOWN ? svc.host : authorityHost(authority);
      const hs = hostService(host);
      return {
        reporter: 'destination',
        source_workload: peer?.workload ?? UNKNOWN,
        source_workload_namespace: peer?.namespace ?? (peerPrincipal ? spiffeNamespace(peerPrincipal) : undefined) ?? UNKNOWN,
        source_principal: peerPrincipal ?? UNKNOWN,
        source_app: peer?.app ?? UNKNOWN, source_version: peer?.version ?? UNKNOWN, source_cluster: peer?.cluster ?? UNKNOWN,
        destination_workload: me.workload, destination_workload_namespace: me.namespace,
        destination_principal: peerPrincipal ? me.principal : UNKNOWN,
        destination_app: me.app, destination_version: me.version,
        destination_service: host || UNKNOWN, destination_service_name: hs.name,
        destination_service_namespace: hs.namespace === UNKNOWN ? me.namespace : hs.namespace,
        destination_cluster: me.cluster,
        connection_security_policy: peerPrincipal ? 'mutual_tls' : 'none',
      };
    }
    return {
      reporter: 'source',
      source_workload: me.workload, source_workload_namespace: me.namespace, source_principal: me.principal,
      source_app: me.app, source_version: me.version, source_cluster: me.cluster,
      destination_workload: peer?.workload ?? UNKNOWN, destination_workload_namespace: peer?.namespace ?? UNKNOWN,
      destination_principal: UNKNOWN,
      destination_app: peer?.app ?? UNKNOWN, destination_version: peer?.version ?? UNKNOWN,
      destination_service: svc.host, destination_service_name: svc.name, destination_service_namespace: svc.namespace,
      destination_cluster: peer?.cluster ?? UNKNOWN,
      connection_security_policy: UNKNOWN,
    };
  }

  /** A TCP connection opened; the caller adds bytes and calls tcpClosed on the returned series. */
  tcpOpened(c: TcpCall): TcpSeries {
    const key = (c.inbound ? 'i' : 'o') + c.cluster + '\x01' + (c.peerPrincipal ?? '');
    let s = this.tcp.get(key);
    if (!s) {
      if (this.tcp.size >= this.maxSeries) {
        this.overflowed++;
        s = this.tcp.get('\x00overflow');
        if (!s) { s = { labels: { reporter: c.inbound ? 'destination' : 'source' }, opened: 0, closed: 0, sent: 0, received: 0 }; this.tcp.set('\x00overflow', s); }
      } else {
        const b = this.base(c.inbound, c.cluster, undefined, c.peerPrincipal, undefined);
        const { request_protocol: _p, response_code: _c, grpc_response_status: _g, response_flags: _f, ...labels } = ordered(b, 'tcp', '', '', '');
        s = { labels: { ...labels, request_protocol: 'tcp', response_flags: '-' }, opened: 0, closed: 0, sent: 0, received: 0 };
        this.tcp.set(key, s);
      }
    }
    s.opened++;
    return s;
  }

  tcpClosed(s: TcpSeries, sent: number, received: number): void {
    s.closed++;
    s.sent += sent;
    s.received += received;
  }

  /** Every series as admin Stats (rendered by /stats/prometheus and the metrics port). */
  stats(): Stat[] {
    const out: Stat[] = [];
    const dur: Stat[] = [], reqB: Stat[] = [], respB: Stat[] = [];
    for (const m of this.http.values()) {
      for (const s of m.values()) {
        out.push({ type: 'counter', name: 'istio_requests_total', labels: s.labels, value: s.requests, help: 'Requests by source, destination and response (Istio standard metric)' });
        dur.push({ type: 'histogram', name: 'istio_request_duration_milliseconds', labels: s.labels, buckets: s.duration.cumulative(), sum: s.duration.sum, count: s.duration.count });
        reqB.push({ type: 'histogram', name: 'istio_request_bytes', labels: s.labels, buckets: s.reqBytes.cumulative(), sum: s.reqBytes.sum, count: s.reqBytes.count });
        respB.push({ type: 'histogram', name: 'istio_response_bytes', labels: s.labels, buckets: s.respBytes.cumulative(), sum: s.respBytes.sum, count: s.respBytes.count });
      }
    }
    out.push(...dur, ...reqB, ...respB);
    for (const s of this.tcp.values()) {
      out.push({ type: 'counter', name: 'istio_tcp_connections_opened_total', labels: s.labels, value: s.opened });
      out.push({ type: 'counter', name: 'istio_tcp_connections_closed_total', labels: s.labels, value: s.closed });
      out.push({ type: 'counter', name: 'istio_tcp_sent_bytes_total', labels: s.labels, value: s.sent });
      out.push({ type: 'counter', name: 'istio_tcp_received_bytes_total', labels: s.labels, value: s.received });
    }
    return out;
  }
}

/** Host of an authority without its port; IP literals say nothing about a service. */
function authorityHost(a: string | undefined): string {
  if (!a) return UNKNOWN;
  let h = a;
  if (h.startsWith('[')) return UNKNOWN;
  const i = h.lastIndexOf(':');
  if (i >= 0) h = h.slice(0, i);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return UNKNOWN;
  return h.toLowerCase();
}
