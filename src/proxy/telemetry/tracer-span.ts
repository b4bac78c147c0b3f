// proxy/telemetry: builds one Zipkin v2 span (JSON object) from a finished, sampled request — ids from the
// propagated trace context, kind from the side, Envoy's and Istio's tags, custom tags. Pure: no I/O, no clock.
import type { CustomTagConfig, TracingConfig } from '../config/types.ts';
import type { TraceDecision } from './trace.ts';
import type { HttpDone } from './types.ts';

/** What the exchange hands telemetry about a sampled request (HttpDone.span; never built for unsampled ones). */
export interface SpanInput {
  trace: TraceDecision;
  tracing: TracingConfig;
  method: string;
  scheme: string;
  path: string;
  protocol: string;
  requestId: string;
  /** "address:port" of the upstream host ('' when none was picked). */
  upstreamHost: string;
  /** "address:port" of the downstream peer. */
  downstreamRemote: string;
  /** Request header by lower-case name. */
  header(name: string): string | undefined;
  /** An endpoint of the collector cluster, picked by the proxy's own balancer (undefined: none healthy / unknown). */
  collector(cluster: string): { address: string; port: number } | undefined;
  /** Route decorator operation, when the route has one (the span name). */
  operation?: string;
}

/** The finished request as telemetry sees it (the HttpDone fields a span reads). */
export type SpanRequest = Pick<HttpDone, 'inbound' | 'cluster' | 'authority' | 'status' | 'flags' | 'grpcStatus' | 'durationMs' | 'requestBytes' | 'responseBytes'>;

export interface ZipkinEndpoint { serviceName?: string; ipv4?: string; ipv6?: string; port?: number }
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: 'CLIENT' | 'SERVER';
  timestamp: number; // epoch microseconds
  duration: number; // microseconds, >= 1
  localEndpoint: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  tags: Record<string, string>;
}

/** Who reports: Istio's service name is `<app or workload>.<namespace>`; node id and zone as Envoy tags them. */
export interface SpanSelf { serviceName: string; ip?: string; nodeId: string; zone?: string }

export const DEFAULT_MAX_PATH_TAG_LENGTH = 256;

function endpoint(hostPort: string): ZipkinEndpoint | undefined {
  if (!hostPort) return undefined;
  const colon = hostPort.lastIndexOf(':');
  const host = colon > 0 ? hostPort.slice(0, colon).replace(/^\[|\]$/g, '') : hostPort;
  const port = colon > 0 ? Number(hostPort.slice(colon + 1)) : NaN;
  const e: ZipkinEndpoint = host.includes(':') ? { ipv6: host } : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? { ipv4: host } : {};
  if (Number.isInteger(port) && port > 0) e.port = port;
  return Object.keys(e).length ? e : undefined;
}

function customTagValue(t: CustomTagConfig, input: SpanInput, env: (name: string) => string | undefined): string | undefined {
  if (t.kind === 'literal') return t.value;
  const v = t.kind === 'header' ? input.header(t.name) : env(t.name);
  return v !== undefined && v !== '' ? v : t.defaultValue;
}

/** Envoy truncates the path part of http.url (and the default span name) to max_path_tag_length. */
function cap(s: string, n: number): string { return s.length > n ? s.slice(0, n) : s; }

export function buildSpan(r: SpanRequest, input: SpanInput, self: SpanSelf, startEpochMs: number, env: (name: string) => string | undefined): ZipkinSpan {
  const max = input.tracing.maxPathTagLength || DEFAULT_MAX_PATH_TAG_LENGTH;
  const path = cap(input.path, max);
  const tags: Record<string, string> = {
    component: 'proxy',
    'node_id': self.nodeId,
    'guid:x-request-id': input.requestId,
    'http.method': input.method,
    'http.url': `${input.scheme}://${r.authority}${path}`,
    'http.protocol': input.protocol,
    'http.status_code': String(r.status),
    'response_flags': r.flags.length ? r.flags.join(',') : '-',
    'upstream_cluster': r.cluster || '-',
    'upstream_cluster.name': r.cluster || '-',
    'downstream_cluster': input.header('x-envoy-downstream-service-cluster') ?? '-',
    'request_size': String(r.requestBytes),
    'response_size': String(r.responseBytes),
    'peer.address': input.downstreamRemote.slice(0, Math.max(0, input.downstreamRemote.lastIndexOf(':'))) || input.downstreamRemote,
  };
  if (self.zone) tags.zone = self.zone;
  const ua = input.header('user-agent');
  if (ua) tags.user_agent = ua;
  if (input.upstreamHost) tags.upstream_address = input.upstreamHost;
  if (r.grpcStatus !== undefined) tags['grpc.status_code'] = r.grpcStatus;
  // Envoy marks a span failed on a 5xx, on no response at all, and on a non-OK gRPC status
  if (r.status >= 500 || r.status === 0 || (r.grpcStatus !== undefined && r.grpcStatus !== '0')) tags.error = 'true';
  for (const t of input.tracing.customTags ?? []) {
    const v = customTagValue(t, input, env);
    if (v !== undefined) tags[t.tag] = v;
  }
  const span: ZipkinSpan = {
    traceId: input.trace.traceId,
    id: input.trace.spanId,
    name: input.operation || cap(`${r.authority}${input.path}`, max),
    kind: r.inbound ? 'SERVER' : 'CLIENT',
    timestamp: Math.round(startEpochMs * 1000),
    duration: Math.max(1, Math.round(r.durationMs * 1000)),
    localEndpoint: { serviceName: self.serviceName, ...(self.ip ? (self.ip.includes(':') ? { ipv6: self.ip } : { ipv4: self.ip }) : {}) },
    tags,
  };
  if (input.trace.parentSpanId) span.parentId = input.trace.parentSpanId;
  // the other side of the call: the upstream for a CLIENT span, the caller for a SERVER span
  const remote = endpoint(r.inbound ? input.downstreamRemote : input.upstreamHost);
  if (remote) span.remoteEndpoint = remote;
  return span;
}
