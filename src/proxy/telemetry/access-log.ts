// proxy/telemetry: access logs as configured over xDS (envoy.access_loggers.file / stdout / stderr) — Envoy's
// command operators in text or JSON formats, compiled once per format; lines are batched and written
// asynchronously (one write per batch), so logging never blocks the request path.
import { open, write, close } from 'node:fs';
import { hostname } from 'node:os';
import type { AccessLogFilterConfig } from '../config/types.ts';
import { compileHeaderMatcher } from '../router/match.ts';
import { httpToGrpcStatus } from '../http/filters/fault.ts';

/** Everything a command operator can print about one finished request (or TCP connection). */
export interface AccessLogEntry {
  /** Wall-clock start, ms since the epoch. */
  startMs: number;
  method?: string;
  path?: string;
  protocol?: string;
  status?: number;
  /** Envoy's response flags string ("-" when none). */
  flags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  upstreamTransportFailureReason?: string;
  routeName?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  downstreamPeerUriSan?: string;
  requestedServerName?: string;
  responseCodeDetails?: string;
  connectionTerminationDetails?: string;
  /** Request / response header lookups (lower-case names); pseudo headers :method, :path, :authority, :scheme. */
  req?: (name: string) => string | undefined;
  resp?: (name: string) => string | undefined;
  trailer?: (name: string) => string | undefined;
  /** The response's gRPC status (trailers, else headers), as received; undefined when none. */
  grpcStatus?: string;
  /** Whether a health-check filter answered the request (this proxy has none yet: never set). */
  healthCheck?: boolean;
}

/** Envoy's default format, used when a file logger names none. */
export const ENVOY_DEFAULT_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% '
  + '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
  + '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** A compiled operator: its value for an entry; undefined prints "-" (text) or null (JSON). Numbers stay numbers in JSON. */
type Op = (e: AccessLogEntry) => string | number | undefined;

function headerOp(get: (e: AccessLogEntry) => ((n: string) => string | undefined) | undefined, arg: string, maxLen: number | undefined): Op {
  const [main, alt] = arg.toLowerCase().split('?');
  return (e) => {
    const g = get(e);
    if (!g) return undefined;
    let v = g(main!);
    if (v === undefined && alt) v = g(alt);
    if (v !== undefined && maxLen !== undefined) v = v.slice(0, maxLen);
    return v;
  };
}

const SIMPLE: Record<string, Op> = {
  START_TIME: (e) => new Date(e.startMs).toISOString(),
  PROTOCOL: (e) => e.protocol,
  RESPONSE_CODE: (e) => e.status ?? 0,
  RESPONSE_FLAGS: (e) => e.flags,
  RESPONSE_CODE_DETAILS: (e) => e.responseCodeDetails,
  CONNECTION_TERMINATION_DETAILS: (e) => e.connectionTerminationDetails,
  BYTES_RECEIVED: (e) => e.bytesReceived,
  BYTES_SENT: (e) => e.bytesSent,
  DURATION: (e) => Math.round(e.durationMs),
  UPSTREAM_HOST: (e) => e.upstreamHost || undefined,
  UPSTREAM_CLUSTER: (e) => e.upstreamCluster || undefined,
  UPSTREAM_CLUSTER_RAW: (e) => e.upstreamCluster || undefined,
  UPSTREAM_LOCAL_ADDRESS: (e) => e.upstreamLocalAddress,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (e) => e.upstreamTransportFailureReason || undefined,
  ROUTE_NAME: (e) => e.routeName || undefined,
  DOWNSTREAM_LOCAL_ADDRESS: (e) => e.downstreamLocalAddress,
  DOWNSTREAM_REMOTE_ADDRESS: (e) => e.downstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => e.downstreamRemoteAddress?.replace(/:\d+$/, ''),
  DOWNSTREAM_PEER_URI_SAN: (e) => e.downstreamPeerUriSan,
  REQUESTED_SERVER_NAME: (e) => e.requestedServerName,
  HOSTNAME: () => HOST,
};

const HOST = hostname() || undefined;

/** One operator name with its argument, e.g. REQ(:PATH):20. Unknown operators print "-" (Envoy would reject the config). */
function compileOp(name: string, arg: string | undefined, maxLen: number | undefined): Op {
  if (name === 'REQ' && arg) return headerOp((e) => e.req, arg, maxLen);
  if (name === 'RESP' && arg) return headerOp((e) => e.resp, arg, maxLen);
  if (name === 'TRAILER' && arg) return headerOp((e) => e.trailer, arg, maxLen);
  return SIMPLE[name] ?? (() => undefined);
}

const OP_RE = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;

/** A format compiled into literal text and operators. */
export type Formatter = (e: AccessLogEntry) => string;

export function compileText(format: string): Formatter {
  const lits: string[] = [];
  const ops: Op[] = [];
  let last = 0;
  for (const m of format.matchAll(OP_RE)) {
    lits.push(format.slice(last, m.index).replace(/%%/g, '%'));
    ops.push(compileOp(m[1]!, m[2], m[3] !== undefined ? Number(m[3]) : undefined));
    last = m.index! + m[0].length;
  }
  const tail = format.slice(last).replace(/%%/g, '%');
  return (e) => {
    let out = '';
    for (let i = 0; i < ops.length; i++) {
      const v = ops[i]!(e);
      out += lits[i]! + (v === undefined || v === '' ? '-' : String(v));
    }
    return out + tail;
  };
}

/** JSON format: each field is a format string; a field that is exactly one operator keeps its type (number / null). */
export function compileJson(fields: Record<string, string>): Formatter {
  const parts = Object.entries(fields).map(([k, f]) => {
    const only = /^%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%$/.exec(f);
    if (only) {
      const op = compileOp(only[1]!, only[2], only[3] !== undefined ? Number(only[3]) : undefined);
      return [k, (e: AccessLogEntry) => { const v = op(e); return v === '' ? null : v ?? null; }] as const;
    }
    const t = compileText(f);
    return [k, (e: AccessLogEntry) => t(e)] as const;
  });
  return (e) => {
    const o: Record<string, unknown> = {};
    for (const [k, f] of parts) o[k] = f(e);
    return JSON.stringify(o) + '\n';
  };
}

/** The formatter for a logger's config: JSON when given, else its text format, else Envoy's default. */
export function formatterFor(cfg: { textFormat?: string; jsonFormat?: Record<string, string> }): Formatter {
  if (cfg.jsonFormat && Object.keys(cfg.jsonFormat).length) return compileJson(cfg.jsonFormat);
  const t = cfg.textFormat ?? ENVOY_DEFAULT_FORMAT;
  return compileText(t.endsWith('\n') ? t : t + '\n');
}

// ----- access-log filters (Envoy's AccessLogFilter): which requests a logger writes

/** Which entries a logger writes. */
export type LogFilter = (e: AccessLogEntry) => boolean;

/** The gRPC status a grpc_status_filter sees: trailers, then headers, then the HTTP status mapped (the gRPC spec's
 * table, as for fault aborts); UNKNOWN without any. */
export function entryGrpcStatus(e: AccessLogEntry): number {
  const raw = e.grpcStatus ?? e.trailer?.('grpc-status') ?? e.resp?.('grpc-status');
  if (raw !== undefined) {
    // A value that is not a known code (user-defined or garbage) matches no configured status.
    return /^\d+$/.test(raw) && Number(raw) <= 16 ? Number(raw) : -1;
  }
  return e.status ? httpToGrpcStatus(e.status) : 2;
}

/** x-request-id as Envoy's UUID extension reads it: the first 8 hex digits as an integer. */
function requestIdInteger(e: AccessLogEntry): number | undefined {
  const rid = e.req?.('x-request-id');
  if (!rid || rid.length < 8 || !/^[0-9a-fA-F]{8}/.test(rid)) return undefined;
  return parseInt(rid.slice(0, 8), 16);
}

/**
 * Forced tracing, the only reason Envoy's traceable_filter accepts: an x-envoy-force-trace request, or an
 * x-request-id UUID already marked forced (variant nibble 'a' at position 14) by an earlier Envoy hop.
 */
function traceForced(e: AccessLogEntry): boolean {
  if (e.req?.('x-envoy-force-trace') !== undefined) return true;
  const rid = e.req?.('x-request-id');
  return rid !== undefined && rid.length === 36 && rid[14] === 'a';
}

/** Compile a decoded filter once; `random` ([0, 1)) drives runtime_filter sampling when the request id cannot. */
export function compileLogFilter(f: AccessLogFilterConfig, random: () => number = Math.random): LogFilter {
  switch (f.kind) {
    case 'status_code':
    case 'duration': {
      const { op, value } = f;
      const get = f.kind === 'status_code' ? (e: AccessLogEntry) => e.status ?? 0 : (e: AccessLogEntry) => Math.floor(e.durationMs);
      return op === 'EQ' ? (e) => get(e) === value : op === 'GE' ? (e) => get(e) >= value : (e) => get(e) <= value;
    }
    case 'not_health_check': return (e) => e.healthCheck !== true;
    case 'traceable': return traceForced;
    case 'runtime': {
      const { numerator, denominator } = f.percent;
      if (f.independentRandomness) return () => Math.floor(random() * denominator) < numerator;
      // Keyed on the request id, so every logger (and every hop) samples the same requests.
      return (e) => {
        const n = requestIdInteger(e);
        return (n !== undefined ? n % denominator : Math.floor(random() * denominator)) < numerator;
      };
    }
    case 'and':
    case 'or': {
      const subs = f.filters.map((x) => compileLogFilter(x, random));
      return f.kind === 'and' ? (e) => subs.every((s) => s(e)) : (e) => subs.some((s) => s(e));
    }
    case 'header': return compileHeaderMatcher<AccessLogEntry>(f.header, (e, n) => e.req?.(n));
    case 'response_flag': {
      if (f.flags.length === 0) return (e) => e.flags !== '-' && e.flags !== '';
      const want = new Set(f.flags);
      return (e) => e.flags !== '-' && e.flags.split(',').some((x) => want.has(x));
    }
    case 'grpc_status': {
      const set = new Set(f.statuses);
      const exclude = f.exclude;
      return (e) => set.has(entryGrpcStatus(e)) !== exclude;
    }
  }
}

/** Bytes kept while a write is in flight; beyond it lines are dropped (counted) rather than growing memory. */
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** Where lines go: a file appended to, or the process's stdout / stderr. One write per batch. */
export class LogSink {
  private buf: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private writing = false;
  private fd: number | undefined;
  private opening = false;
  private closed = false;
  written = 0;
  /** Write calls made (one per batch). */
  batches = 0;
  dropped = 0;
  errors = 0;

  constructor(readonly target: string, private readonly onError?: (e: Error) => void) {}

  push(line: string): void {
    if (this.closed) return;
    if (this.bytes > MAX_PENDING_BYTES) { this.dropped++; return; }
    this.buf.push(line);
    this.bytes += line.length;
    if (!this.scheduled) { this.scheduled = true; setImmediate(() => { this.scheduled = false; this.flush(); }); }
  }

  private flush(): void {
    if (this.writing || this.buf.length === 0) return;
    const data = this.buf.join('');
    const n = this.buf.length;
    this.buf = [];
    this.bytes = 0;
    this.writing = true;
    this.batches++;
    const done = (err?: Error | null): void => {
      this.writing = false;
      if (err) { this.errors++; this.onError?.(err); } else this.written += n;
      if (this.buf.length) this.flush();
    };
    if (this.target === '/dev/stdout') { process.stdout.write(data, done); return; }
    if (this.target === '/dev/stderr') { process.stderr.write(data, done); return; }
    this.withFd((fd, err) => {
      if (fd === undefined) { done(err); return; }
      write(fd, data, null, 'utf8', (e) => done(e));
    });
  }

  private withFd(cb: (fd: number | undefined, err?: Error) => void): void {
    if (this.fd !== undefined) { cb(this.fd); return; }
    if (this.opening) return;
    this.opening = true;
    open(this.target, 'a', (err, fd) => {
      this.opening = false;
      if (err) { cb(undefined, err); return; }
      this.fd = fd;
      cb(fd);
    });
  }

  /** Resolves once every pushed line is written (tests, drain); bounded to ~10k event-loop turns. */
  async flushed(): Promise<void> {
    for (let i = 0; i < 10_000 && (this.buf.length || this.writing || this.scheduled || this.opening); i++) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    await this.flushed();
    this.closed = true;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((r) => close(fd, () => r()));
  }
}

/** A logger config compiled once: where its lines go, which entries it takes, how they print. */
interface CompiledLogger { sink: LogSink; filter: LogFilter | undefined; format: Formatter }

type LoggerConfig = { kind: string; path?: string; textFormat?: string; jsonFormat?: Record<string, string>; logFilter?: AccessLogFilterConfig };

/** Sinks shared by path, so all loggers writing /dev/stdout (or one file) batch together. */
export class AccessLogWriters {
  private readonly sinks = new Map<string, LogSink>();
  /** By logger config object (configs are replaced, not mutated, on updates): one lookup per logger per entry. */
  private readonly compiled = new WeakMap<object, CompiledLogger | null>();
  /** `random` ([0, 1)) samples runtime filters that use independent randomness or see no request id. */
  constructor(private readonly onError?: (e: Error) => void, private readonly random: () => number = Math.random) {}

  /** Format and queue one entry for each configured logger whose filter (if any) accepts it. */
  log(loggers: readonly LoggerConfig[], e: AccessLogEntry): void {
    for (const l of loggers) {
      let c = this.compiled.get(l);
      if (c === undefined) { c = this.compile(l); this.compiled.set(l, c); }
      if (c === null || (c.filter && !c.filter(e))) continue;
      c.sink.push(c.format(e));
    }
  }

  /** null: a logger that writes nowhere this proxy implements (kind 'other'). */
  private compile(l: LoggerConfig): CompiledLogger | null {
    const target = l.kind === 'stdout' ? '/dev/stdout' : l.kind === 'stderr' ? '/dev/stderr' : l.kind === 'file' && l.path ? l.path : undefined;
    if (!target) return null;
    return { sink: this.sink(target), filter: l.logFilter ? compileLogFilter(l.logFilter, this.random) : undefined, format: formatterFor(l) };
  }

  sink(target: string): LogSink {
    let s = this.sinks.get(target);
    if (!s) { s = new LogSink(target, this.onError); this.sinks.set(target, s); }
    return s;
  }

  stats(): { written: number; dropped: number; errors: number } {
    let written = 0, dropped = 0, errors = 0;
    for (const s of this.sinks.values()) { written += s.written; dropped += s.dropped; errors += s.errors; }
    return { written, dropped, errors };
  }

  async close(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.close()));
  }
}
