// proxy/config: decodes Listener (LDS) with its filter chains, HTTP connection manager and TCP proxy into ListenerConfig.
import { Ctx, type Obj, anyType, arr, downstreamTransportSocket, durationMs, enumName, fraction, headSafe, headerMatcher, isObj, num, obj, protoStruct, str, wrappedBool, wrappedNum } from './decode-common.ts';
import { decodeHttpFilter } from './decode-filters.ts';
import { decodeNetworkRbac } from './decode-rbac.ts';
import { routeConfigInto } from './decode-route.ts';
import { decodeTracing } from './decode-tracing.ts';
import type { AccessLogConfig, AccessLogFilterConfig, CidrRange, DecodeResult, FilterChainConfig, FilterChainMatch, HttpFilterConfig, HttpHandlerConfig, ListenerConfig, NetworkFilterConfig, TcpHandlerConfig } from './types.ts';

const T = 'type.googleapis.com/';
const HCM = `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const TCP_PROXY = `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
const FILE_LOG = `${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`;
const STREAM_LOGS = new Map([
  [`${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`, 'stdout'],
  [`${T}envoy.extensions.access_loggers.stream.v3.StderrAccessLog`, 'stderr'],
]);
/** Network filters we run before the terminal filter. */
const NETWORK_FILTERS = new Set([`${T}envoy.extensions.filters.network.rbac.v3.RBAC`]);
const LISTENER_FILTERS = new Set(['OriginalDst', 'TlsInspector', 'HttpInspector']);

export function decodeListener(raw: Obj, resourceName?: string): DecodeResult<ListenerConfig> {
  const name = str(raw.name) ?? '';
  const ctx = new Ctx(`Listener ${resourceName ?? name}`);
  if (!name) ctx.err('name', 'must not be empty');
  const addr = obj(raw.address);
  const sa = obj(addr?.socket_address);
  if (!sa) ctx.err('address', addr ? 'only socket addresses are supported' : 'missing address');
  const port = num(sa?.port_value) ?? 0;
  if (port < 0 || port > 65535) ctx.err('address.socket_address.port_value', `invalid port ${port}`);
  if (raw.api_listener !== undefined) ctx.err('api_listener', 'api listeners are for proxyless clients, not this proxy');

  const listenerFilters: string[] = [];
  arr(raw.listener_filters).forEach((f, i) => {
    if (!isObj(f)) return;
    const t = anyType(f.typed_config);
    const short = t.slice(t.lastIndexOf('.') + 1);
    if (t && !LISTENER_FILTERS.has(short)) ctx.err(`listener_filters[${i}]`, `unsupported listener filter ${str(f.name) ?? ''} (${t})`);
    else listenerFilters.push(str(f.name) ?? short);
  });

  const filterChains: FilterChainConfig[] = [];
  arr(raw.filter_chains).forEach((fc, i) => {
    const c = isObj(fc) ? filterChain(fc, ctx, `filter_chains[${i}]`) : undefined;
    if (c) filterChains.push(c);
  });
  const defaultFilterChain = isObj(raw.default_filter_chain) ? filterChain(raw.default_filter_chain, ctx, 'default_filter_chain') : undefined;
  if (filterChains.length === 0 && !defaultFilterChain && !ctx.errors.length) ctx.err('filter_chains', 'listener has no filter chains');

  const dir = str(raw.traffic_direction);
  const value: ListenerConfig = {
    name,
    address: str(sa?.address) ?? '0.0.0.0',
    port,
    bindToPort: wrappedBool(raw.bind_to_port) ?? wrappedBool(obj(raw.deprecated_v1)?.bind_to_port) ?? true,
    useOriginalDst: wrappedBool(raw.use_original_dst) ?? false,
    listenerFilters,
    trafficDirection: dir === 'INBOUND' || dir === 'OUTBOUND' ? dir : 'UNSPECIFIED',
    filterChains,
    defaultFilterChain,
  };
  return ctx.errors.length ? { errors: ctx.errors } : { value };
}

function cidrs(v: unknown): CidrRange[] {
  return arr(v).filter(isObj).map((c) => ({ addressPrefix: str(c.address_prefix) ?? '', prefixLen: wrappedNum(c.prefix_len) ?? 0 }));
}

function chainMatch(v: Obj | undefined): FilterChainMatch {
  const m = v ?? {};
  return {
    serverNames: arr(m.server_names).map((s) => String(s).toLowerCase()),
    destinationPort: wrappedNum(m.destination_port),
    transportProtocol: str(m.transport_protocol) || undefined,
    applicationProtocols: arr(m.application_protocols).map(String),
    prefixRanges: cidrs(m.prefix_ranges),
    sourcePrefixRanges: cidrs(m.source_prefix_ranges),
    sourcePorts: arr(m.source_ports).map((p) => num(p) ?? 0),
  };
}

function filterChain(v: Obj, ctx: Ctx, field: string): FilterChainConfig | undefined {
  const filters = arr(v.filters).filter(isObj);
  if (filters.length === 0) {
    ctx.err(`${field}.filters`, 'filter chain has no filters');
    return undefined;
  }
  const networkFilters: NetworkFilterConfig[] = [];
  let handler: HttpHandlerConfig | TcpHandlerConfig | undefined;
  filters.forEach((f, i) => {
    const ff = `${field}.filters[${i}]`;
    const tc = obj(f.typed_config);
    const t = anyType(tc);
    const last = i === filters.length - 1;
    if (t === HCM || t === TCP_PROXY) {
      if (!last) ctx.err(ff, `${str(f.name) ?? t} is a terminal filter and must be last`);
      handler = t === HCM ? hcm(tc!, ctx, `${ff}.typed_config`) : tcpProxy(tc!, ctx, `${ff}.typed_config`);
    } else if (NETWORK_FILTERS.has(t)) {
      networkFilters.push({ name: str(f.name) ?? '', typeUrl: t, config: tc!, rbac: decodeNetworkRbac(tc!, ctx, `${ff}.typed_config`) });
    } else {
      ctx.err(ff, `unsupported network filter ${JSON.stringify(str(f.name) ?? '')} (${t || 'no typed_config'})`);
    }
  });
  // Network RBAC is enforced in front of tcp_proxy only; an HTTP chain takes RBAC as an HTTP filter (never skip it).
  if (handler?.kind === 'http' && networkFilters.length) ctx.err(`${field}.filters`, 'network RBAC on an HTTP filter chain is not supported: use envoy.filters.http.rbac in the connection manager');
  if (!handler) {
    if (!ctx.errors.length) ctx.err(`${field}.filters`, 'filter chain needs a terminal filter (http_connection_manager or tcp_proxy)');
    return undefined;
  }
  return {
    name: str(v.name) ?? '',
    match: chainMatch(obj(v.filter_chain_match)),
    tls: downstreamTransportSocket(v.transport_socket, ctx, `${field}.transport_socket`),
    networkFilters,
    handler,
  };
}

function accessLogs(v: unknown, ctx: Ctx, field: string): AccessLogConfig[] {
  const out: AccessLogConfig[] = [];
  arr(v).forEach((a, i) => {
    if (!isObj(a)) return;
    const tc = obj(a.typed_config);
    const t = anyType(tc);
    const name = str(a.name) ?? '';
    if (t === FILE_LOG) {
      const lf = obj(tc!.log_format);
      const textFormat = str(tc!.format) ?? str(obj(lf?.text_format_source)?.inline_string) ?? str(lf?.text_format);
      const jf = obj(lf?.json_format) ?? obj(tc!.json_format);
      const jsonFormat = jf ? Object.fromEntries(Object.entries(protoStruct(jf)).map(([k, x]) => [k, String(x ?? '')])) : undefined;
      const path = str(tc!.path) ?? '';
      const kind = path === '/dev/stdout' ? 'stdout' : path === '/dev/stderr' ? 'stderr' : 'file';
      out.push({ name, kind, path: kind === 'file' ? path : undefined, textFormat, jsonFormat });
    } else if (STREAM_LOGS.has(t)) {
      out.push({ name, kind: STREAM_LOGS.get(t) as 'stdout' | 'stderr' });
    } else {
      // Other loggers (gRPC ALS, OTel, ...) do not change request handling: keep the listener, log nothing.
      out.push({ name, kind: 'other' });
    }
    // A filter chooses which requests are logged. One we cannot evaluate is NACKed: logging everything instead
    // would silently break what the operator asked for (sampling, errors only...).
    if (isObj(a.filter)) out[out.length - 1]!.logFilter = accessLogFilter(a.filter, ctx, `${field}[${i}].filter`);
  });
  return out;
}

/** ResponseFlagFilter.flags: the values the proto's validation allows. */
const LOG_FILTER_FLAGS = new Set(['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR']);
const GRPC_STATUS = ['OK', 'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const COMPARE_OPS = ['EQ', 'GE', 'LE'] as const;
/** Filter kinds that exist in Envoy but that this proxy does not evaluate: NACKed by name. */
const UNSUPPORTED_LOG_FILTERS = ['extension_filter', 'metadata_filter', 'log_type_filter'];

/** config.accesslog.v3.ComparisonFilter (op + RuntimeUInt32; only its default_value is used). */
function comparison(v: unknown, ctx: Ctx, field: string): { op: 'EQ' | 'GE' | 'LE'; value: number } | undefined {
  const c = obj(v);
  if (!c) { ctx.err(field, 'comparison is required'); return undefined; }
  const rawOp = c.op ?? 'EQ';
  const op = enumName(rawOp, COMPARE_OPS);
  if (!op) { ctx.err(`${field}.op`, `unknown comparison op ${JSON.stringify(rawOp)} (EQ, GE or LE)`); return undefined; }
  const val = obj(c.value);
  if (!val) { ctx.err(`${field}.value`, 'value is required'); return undefined; }
  if (!str(val.runtime_key)) ctx.err(`${field}.value.runtime_key`, 'runtime_key must not be empty');
  return { op, value: num(val.default_value) ?? 0 };
}

/** config.accesslog.v3.AccessLogFilter: exactly one filter_specifier; errors name the field. */
function accessLogFilter(v: Obj, ctx: Ctx, field: string): AccessLogFilterConfig | undefined {
  // proto-loader's `oneofs: true` adds a virtual key naming the chosen member; it is not a filter itself.
  const keys = Object.keys(v).filter((k) => k !== 'filter_specifier' && v[k] !== undefined && v[k] !== null);
  if (keys.length !== 1) {
    ctx.err(field, keys.length === 0 ? 'access log filter needs one filter type (filter_specifier is required)' : `access log filter sets several filter types (${keys.join(', ')}); exactly one is allowed`);
    return undefined;
  }
  const k = keys[0]!;
  const f = `${field}.${k}`;
  const body = obj(v[k]) ?? {};
  switch (k) {
    case 'status_code_filter':
    case 'duration_filter': {
      const c = comparison(body.comparison, ctx, `${f}.comparison`);
      return c ? { kind: k === 'status_code_filter' ? 'status_code' : 'duration', ...c } : undefined;
    }
    case 'not_health_check_filter': return { kind: 'not_health_check' };
    case 'traceable_filter': return { kind: 'traceable' };
    case 'runtime_filter': {
      const runtimeKey = str(body.runtime_key) ?? '';
      if (!runtimeKey) ctx.err(`${f}.runtime_key`, 'runtime_key must not be empty');
      // Without a runtime layer the key is never set, so percent_sampled (default 0%) decides.
      const percent = fraction(body.percent_sampled, ctx, `${f}.percent_sampled`) ?? { numerator: 0, denominator: 100 };
      return { kind: 'runtime', runtimeKey, percent, independentRandomness: body.use_independent_randomness === true };
    }
    case 'and_filter':
    case 'or_filter': {
      const list = arr(body.filters);
      if (list.length < 2) ctx.err(`${f}.filters`, `needs at least 2 filters, got ${list.length}`);
      const filters: AccessLogFilterConfig[] = [];
      list.forEach((x, j) => {
        if (!isObj(x)) { ctx.err(`${f}.filters[${j}]`, 'must be an access log filter'); return; }
        const sub = accessLogFilter(x, ctx, `${f}.filters[${j}]`);
        if (sub) filters.push(sub);
      });
      return { kind: k === 'and_filter' ? 'and' : 'or', filters };
    }
    case 'header_filter': {
      if (!isObj(body.header)) { ctx.err(`${f}.header`, 'header is required'); return undefined; }
      const header = headerMatcher(body.header, ctx, `${f}.header`);
      return header ? { kind: 'header', header } : undefined;
    }
    case 'response_flag_filter': {
      const flags: string[] = [];
      arr(body.flags).forEach((x, j) => {
        if (typeof x === 'string' && LOG_FILTER_FLAGS.has(x)) flags.push(x);
        else ctx.err(`${f}.flags[${j}]`, `unknown response flag ${JSON.stringify(x)}`);
      });
      return { kind: 'response_flag', flags };
    }
    case 'grpc_status_filter': {
      const statuses: number[] = [];
      arr(body.statuses).forEach((x, j) => {
        const name = enumName(x, GRPC_STATUS);
        if (name === undefined) ctx.err(`${f}.statuses[${j}]`, `unknown gRPC status ${JSON.stringify(x)}`);
        else statuses.push(GRPC_STATUS.indexOf(name));
      });
      return { kind: 'grpc_status', statuses, exclude: body.exclude === true };
    }
    default:
      ctx.err(f, UNSUPPORTED_LOG_FILTERS.includes(k) ? `access log filter ${k} is not supported by this proxy` : `unknown access log filter ${k}`);
      return undefined;
  }
}

const FCC = new Set(['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY']);

// Envoy's enum order; IMPLEMENTATION_SPECIFIC_DEFAULT (0) is Envoy's KEEP_UNCHANGED.
const ESCAPED_SLASHES = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] as const;

function escapedSlashesAction(v: unknown, ctx: Ctx, field: string): HttpHandlerConfig['pathWithEscapedSlashesAction'] {
  if (v === undefined || v === null) return undefined;
  const name = enumName(v, ESCAPED_SLASHES);
  if (name === undefined) { ctx.err(field, `unknown value ${JSON.stringify(v)}`); return undefined; }
  return name === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? undefined : name;
}

function hcm(v: Obj, ctx: Ctx, field: string): HttpHandlerConfig | undefined {
  const out: HttpHandlerConfig = {
    kind: 'http',
    statPrefix: str(v.stat_prefix) ?? '',
    httpFilters: [],
    accessLog: accessLogs(v.access_log, ctx, `${field}.access_log`),
    codecType: v.codec_type === 'HTTP1' || v.codec_type === 'HTTP2' ? v.codec_type : 'AUTO',
    streamIdleTimeoutMs: durationMs(v.stream_idle_timeout) ?? 300_000,
    requestTimeoutMs: durationMs(v.request_timeout) ?? 0,
    idleTimeoutMs: durationMs(obj(v.common_http_protocol_options)?.idle_timeout),
    drainTimeoutMs: durationMs(v.drain_timeout) ?? 5000,
    useRemoteAddress: wrappedBool(v.use_remote_address) ?? false,
    xffNumTrustedHops: num(v.xff_num_trusted_hops) ?? 0,
    generateRequestId: wrappedBool(v.generate_request_id) ?? true,
    upgradeTypes: arr(v.upgrade_configs).filter(isObj).filter((u) => wrappedBool(u.enabled) ?? true).map((u) => (str(u.upgrade_type) ?? '').toLowerCase()),
    normalizePath: wrappedBool(v.normalize_path) ?? false,
    mergeSlashes: v.merge_slashes === true,
    serverName: str(v.server_name),
    forwardClientCertDetails: str(v.forward_client_cert_details) ?? 'SANITIZE',
  };
  // Tracing: sampling of new traces, tags, and the zipkin reporter (decode-tracing.ts).
  if (isObj(v.tracing)) out.tracing = decodeTracing(v.tracing, ctx, `${field}.tracing`);
  const esc = escapedSlashesAction(v.path_with_escaped_slashes_action, ctx, `${field}.path_with_escaped_slashes_action`);
  if (esc) out.pathWithEscapedSlashesAction = esc;
  if (v.strip_any_host_port === true) out.stripHostPort = 'any';
  else if (v.strip_matching_host_port === true) out.stripHostPort = 'matching';
  if (!FCC.has(out.forwardClientCertDetails)) ctx.err(`${field}.forward_client_cert_details`, `unknown value ${out.forwardClientCertDetails}`);
  headSafe(out.serverName, ctx, `${field}.server_name`);
  if (v.codec_type === 'HTTP3') ctx.err(`${field}.codec_type`, 'HTTP/3 is not supported');
  if (!out.statPrefix) ctx.err(`${field}.stat_prefix`, 'must not be empty');
  if (isObj(v.rds)) {
    const name = str(v.rds.route_config_name) ?? '';
    if (!name) ctx.err(`${field}.rds.route_config_name`, 'must not be empty');
    const cs = obj(v.rds.config_source);
    if (cs && !isObj(cs.ads) && !isObj(cs.self)) ctx.err(`${field}.rds.config_source`, 'only ads or self config sources are supported');
    out.routeConfigName = name;
  } else if (isObj(v.route_config)) {
    out.routeConfig = routeConfigInto(v.route_config, ctx, `${field}.route_config`);
  } else if (v.scoped_routes !== undefined) {
    ctx.err(`${field}.scoped_routes`, 'scoped routes are not supported');
  } else {
    ctx.err(field, 'http_connection_manager needs rds or route_config');
  }
  const filters: HttpFilterConfig[] = [];
  arr(v.http_filters).forEach((f, i) => {
    const d = decodeHttpFilter(f, ctx, `${field}.http_filters[${i}]`);
    if (d) filters.push(d);
  });
  const routerAt = filters.findIndex((f) => f.type === 'router');
  if (routerAt < 0) ctx.err(`${field}.http_filters`, 'the router filter is missing');
  else if (routerAt !== filters.length - 1) ctx.err(`${field}.http_filters[${routerAt}]`, 'the router filter must be last');
  out.httpFilters = filters;
  return out;
}

function tcpProxy(v: Obj, ctx: Ctx, field: string): TcpHandlerConfig {
  const out: TcpHandlerConfig = {
    kind: 'tcp',
    statPrefix: str(v.stat_prefix) ?? '',
    idleTimeoutMs: durationMs(v.idle_timeout) ?? 3_600_000,
    accessLog: accessLogs(v.access_log, ctx, `${field}.access_log`),
    maxConnectAttempts: wrappedNum(v.max_connect_attempts) ?? 1,
  };
  if (!out.statPrefix) ctx.err(`${field}.stat_prefix`, 'must not be empty');
  if (typeof v.cluster === 'string' && v.cluster) out.cluster = v.cluster;
  else if (isObj(v.weighted_clusters)) {
    out.weightedClusters = arr(v.weighted_clusters.clusters).filter(isObj).map((c) => ({ name: str(c.name) ?? '', weight: num(c.weight) ?? 0 }));
    if (out.weightedClusters.length === 0) ctx.err(`${field}.weighted_clusters.clusters`, 'must not be empty');
    out.weightedClusters.forEach((c, i) => {
      if (!c.name) ctx.err(`${field}.weighted_clusters.clusters[${i}].name`, 'must not be empty');
    });
    if (out.weightedClusters.reduce((s, c) => s + c.weight, 0) <= 0) ctx.err(`${field}.weighted_clusters`, 'sum of weights must be > 0');
  } else ctx.err(field, 'tcp_proxy needs cluster or weighted_clusters');
  return out;
}
