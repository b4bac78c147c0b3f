// proxy/telemetry: Istio's standard metrics (istio_requests_total, istio_request_duration_milliseconds,
// istio_request_bytes, istio_response_bytes, istio_tcp_*) with Istio's label names, as admin Stats.
//
// Cost per request (this runs on every request of both sidecars): one Map lookup by the cluster name (a string the
// route config holds, whose hash V8 keeps), a short scan comparing the peer's metadata / principal / authority
// with ===, an array index by status code, and four observations — no key strings are built, so nothing is
// concatenated, flattened or hashed per request. Label objects are built once per series. The number of series is
// bounded: past MAX_SERIES new label sets fold into one overflow series per reporter, so hostile authorities or
// peers cannot grow memory.
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
  /** The peer's workload (labels.ts encodePeer form), from the TCP metadata exchange. */
  peerMeta?: string;
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

/** One direction + cluster: its series grouped by who the peer is. */
interface ClusterSlot {
  /** Peers seen on this cluster, scanned in order (usually one or two: the mesh's callers or callees). */
  readonly peers: PeerSlot[];
  /** Past SCAN_PEERS peers: by a joined key (hostile authorities / peers are bounded by MAX_SERIES anyway). */
  more?: Map<string, PeerSlot>;
}

/** The response-independent part of a series (source_*, destination_*, ...), and its series by response. */
interface PeerSlot {
  readonly peerMeta: string | undefined;
  readonly principal: string | undefined;
  /** Inbound only (destination_service may come from it); undefined outbound. */
  readonly authority: string | undefined;
  readonly base: Base;
  /** The common case, plain HTTP without response flags or gRPC status: indexed by status code. */
  readonly plain: (HttpSeries | undefined)[];
  /** Everything else, by status|flags|grpc|protocol. */
  other?: Map<string, HttpSeries>;
}

/** Peers compared one by one before a cluster switches to a keyed map. */
const SCAN_PEERS = 8;

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
  /** By cluster name, one map per direction (the cluster string comes from config, so its hash is cached). */
  private readonly inboundHttp = new Map<string, ClusterSlot>();
  private readonly outboundHttp = new Map<string, ClusterSlot>();
  /** The last cluster record() found, in which map (slots are never removed). */
  private lastCluster: string | undefined;
  private lastClusters: Map<string, ClusterSlot> | undefined;
  private lastSlot: ClusterSlot | undefined;
  private readonly overflow: { i?: HttpSeries; o?: HttpSeries } = {};
  private readonly tcp = new Map<string, TcpSeries>();
  private series = 0;
  /** Label sets folded into the overflow series because MAX_SERIES was reached. */
  overflowed = 0;

  constructor(private readonly self: Workload, private readonly maxSeries = MAX_SERIES) {}

  recordHttp(c: HttpCall): void {
    this.record(c.inbound, c.cluster, c.authority, c.status, c.flags, c.grpcStatus, c.protocol, c.durationMs, c.requestBytes, c.responseBytes, c.peerPrincipal, c.peerMeta);
  }

  /** recordHttp without the call object (the per-request path: ProxyTelemetry.onHttp). `flags` is "-" when none. */
  record(inbound: boolean, cluster: string, authority: string | undefined, status: number, flags: string, grpcStatus: string | undefined,
    protocol: 'http' | 'grpc', durationMs: number, requestBytes: number, responseBytes: number, peerPrincipal: string | undefined, peerMeta: string | undefined): void {
    // Outbound series do not depend on the authority: leave it out of the peer match.
    const auth = inbound ? authority : undefined;
    const clusters = inbound ? this.inboundHttp : this.outboundHttp;
    // Consecutive requests nearly always name the same cluster (the same string object): skip the Map lookup.
    let slot = cluster === this.lastCluster && clusters === this.lastClusters ? this.lastSlot : clusters.get(cluster);
    if (slot !== undefined && slot !== this.lastSlot) { this.lastCluster = cluster; this.lastClusters = clusters; this.lastSlot = slot; }
    let peer: PeerSlot | undefined;
    if (slot !== undefined) {
      const ps = slot.peers;
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i]!;
        if (p.peerMeta === peerMeta && p.principal === peerPrincipal && p.authority === auth) { peer = p; break; }
      }
      if (peer === undefined && slot.more !== undefined) peer = slot.more.get(peerKey(peerMeta, peerPrincipal, auth));
    }
    // An empty grpc-status labels like none (grpc_response_status=""), so it shares the plain series.
    const plain = flags === '-' && (grpcStatus === undefined || grpcStatus === '') && protocol === 'http' && status >= 0 && status < 1000 && status === (status | 0);
    let s = peer === undefined ? undefined : plain ? peer.plain[status] : peer.other?.get(seriesKey(status, flags, grpcStatus, protocol));
    if (s === undefined) {
      if (this.series >= this.maxSeries) {
        this.overflowed++;
        s = this.overflowSeries(inbound);
      } else {
        if (slot === undefined) { slot = { peers: [] }; clusters.set(cluster, slot); }
        if (peer === undefined) peer = this.newPeer(slot, inbound, cluster, peerMeta, peerPrincipal, auth);
        s = this.newHttpSeries(peer.base, protocol, status, grpcStatus ?? '', flags);
        if (plain) peer.plain[status] = s;
        else (peer.other ??= new Map()).set(seriesKey(status, flags, grpcStatus, protocol), s);
      }
    }
    s.requests++;
    s.duration.observe(durationMs);
    s.reqBytes.observe(requestBytes);
    s.respBytes.observe(responseBytes);
  }

  private newPeer(slot: ClusterSlot, inbound: boolean, cluster: string, peerMeta: string | undefined, principal: string | undefined, authority: string | undefined): PeerSlot {
    const p: PeerSlot = { peerMeta, principal, authority, base: this.base(inbound, cluster, peerMeta, principal, authority), plain: [] };
    if (slot.peers.length < SCAN_PEERS) slot.peers.push(p);
    else (slot.more ??= new Map()).set(peerKey(peerMeta, principal, authority), p);
    return p;
  }

  private newHttpSeries(base: Base, protocol: string, status: number, grpc: string, flags: string): HttpSeries {
    this.series++;
    return {
      labels: ordered(base, protocol, String(status), grpc, flags),
      requests: 0,
      duration: new Histogram(DURATION_BUCKETS_MS), reqBytes: new Histogram(BYTES_BUCKETS), respBytes: new Histogram(BYTES_BUCKETS),
    };
  }

  private overflowSeries(inbound: boolean): HttpSeries {
    const k = inbound ? 'i' : 'o';
    let s = this.overflow[k];
    if (!s) {
      const all: Base = {};
      for (const n of BASE_LABELS) all[n] = UNKNOWN;
      all.reporter = inbound ? 'destination' : 'source';
      s = { labels: ordered(all, UNKNOWN, UNKNOWN, '', UNKNOWN), requests: 0, duration: new Histogram(DURATION_BUCKETS_MS), reqBytes: new Histogram(BYTES_BUCKETS), respBytes: new Histogram(BYTES_BUCKETS) };
      this.overflow[k] = s;
    }
    return s;
  }

  /** Every HTTP series: per cluster, per peer, plain ones by status then the others; the overflow series last. */
  private *httpSeries(): Iterable<HttpSeries> {
    for (const clusters of [this.outboundHttp, this.inboundHttp]) {
      for (const slot of clusters.values()) {
        for (const p of slot.more ? [...slot.peers, ...slot.more.values()] : slot.peers) {
          for (const s of p.plain) if (s !== undefined) yield s;
          if (p.other) yield* p.other.values();
        }
      }
    }
    if (this.overflow.o) yield this.overflow.o;
    if (this.overflow.i) yield this.overflow.i;
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
    const key = (c.inbound ? 'i' : 'o') + c.cluster + '\x01' + (c.peerPrincipal ?? '') + '\x01' + (c.peerMeta ?? '');
    let s = this.tcp.get(key);
    if (!s) {
      if (this.tcp.size >= this.maxSeries) {
        this.overflowed++;
        s = this.tcp.get('\x00overflow');
        if (!s) { s = { labels: { reporter: c.inbound ? 'destination' : 'source' }, opened: 0, closed: 0, sent: 0, received: 0 }; this.tcp.set('\x00overflow', s); }
      } else {
        const b = this.base(c.inbound, c.cluster, c.peerMeta, c.peerPrincipal, undefined);
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
    for (const s of this.httpSeries()) {
      out.push({ type: 'counter', name: 'istio_requests_total', labels: s.labels, value: s.requests, help: 'Requests by source, destination and response (Istio standard metric)' });
      dur.push({ type: 'histogram', name: 'istio_request_duration_milliseconds', labels: s.labels, buckets: s.duration.cumulative(), sum: s.duration.sum, count: s.duration.count });
      reqB.push({ type: 'histogram', name: 'istio_request_bytes', labels: s.labels, buckets: s.reqBytes.cumulative(), sum: s.reqBytes.sum, count: s.reqBytes.count });
      respB.push({ type: 'histogram', name: 'istio_response_bytes', labels: s.labels, buckets: s.respBytes.cumulative(), sum: s.respBytes.sum, count: s.respBytes.count });
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

function peerKey(peerMeta: string | undefined, principal: string | undefined, authority: string | undefined): string {
  return (peerMeta ?? '\x02') + '\x01' + (principal ?? '\x02') + '\x01' + (authority ?? '\x02');
}

function seriesKey(status: number, flags: string, grpc: string | undefined, protocol: string): string {
  return status + '|' + flags + '|' + (grpc ?? '') + '|' + protocol;
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
