// proxy/http/codec: HTTP/1.1 head serialization and hop-by-hop header handling for forwarding.
import { listTokens, KNOWN_NAMES } from './fields.ts';
import type { BodyKind, RawFields } from './head.ts';
import { rawFieldsCurrent } from './parser.ts';
import { LINE_POS, LINE_REBUILD } from './head.ts';

/**
 * Hop-by-hop headers a proxy never forwards (RFC 9110 7.6.1), plus framing we always regenerate.
 * A switch, not a Set: header names are fresh strings, and hashing them per lookup costs more than this.
 */
export function isHopByHop(n: string): boolean {
  switch (n) {
    case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'te':
    case 'trailer': case 'upgrade': case 'content-length': case 'proxy-authenticate': case 'proxy-authorization':
      return true;
    default:
      return false;
  }
}

/**
 * Copy end-to-end headers from `src` into `out`, dropping hop-by-hop ones and those named by Connection.
 * Content-Length and Transfer-Encoding are dropped too: the caller re-adds framing for the outgoing side.
 * `keepUpgrade` keeps Upgrade (+ Connection: upgrade is re-added by the caller) for upgrade requests.
 * `request` also drops Host (the caller sets the outgoing authority first) and Expect (answered by the proxy).
 */
export function forwardHeaders(src: string[], out: string[], keepUpgrade = false, request = false): void {
  let named: string[] | undefined;
  for (let i = 0; i < src.length; i += 2) {
    if (src[i] !== 'connection') continue;
    // The usual value names only a hop-by-hop header (dropped anyway): no token list to build.
    const v = src[i + 1];
    if (v === 'keep-alive' || v === 'Keep-Alive') continue;
    (named ??= []).push(...listTokens([v]));
  }
  for (let i = 0; i < src.length; i += 2) {
    const n = src[i];
    if (isHopByHop(n)) {
      if (!(keepUpgrade && n === 'upgrade')) continue;
    } else if (named !== undefined && named.includes(n)) continue;
    else if (request && (n === 'host' || n === 'expect')) continue;
    out.push(n, src[i + 1]);
  }
}

/**
 * Heads are built as one string of many pieces (a V8 cons string) and flattened when written: flattening costs
 * ~100 instructions per piece on top of ~35 per concatenation, more than the bytes' copy. So each line is two
 * pieces, not four: the value, and the line break before it together with the name (`'\r\n' + name + ': '`, one
 * flat string per name, made once). The start line has no CRLF of its own; the tail adds the last one.
 */
const NL_BY_LENGTH: (string[] | undefined)[] = [];

/**
 * '\r\n' + name + ': ', one flat string for an interned name (every name the parser interns; the proxy's own
 * added names are among them). Looked up by length, then by ===: between interned strings a pointer compare (a
 * Map lookup measured ~100 instructions). Other names are built each time.
 */
function nlName(name: string): string {
  const c = NL_BY_LENGTH[name.length];
  if (c !== undefined) for (let k = 0; k < c.length; k += 2) if (c[k] === name) return c[k + 1];
  return '\r\n' + name + ': ';
}

/** A flat (sequential) copy of a string built by concatenation, for strings kept and reused as one piece. */
function flat(s: string): string { return Buffer.from(s, 'latin1').toString('latin1'); }
for (const n of KNOWN_NAMES) (NL_BY_LENGTH[n.length] ??= []).push(n, flat('\r\n' + n + ': '));

/** The tail after the last field line for a body kind and no Connection header, one flat piece per length seen. */
const TAIL_LEN = new Float64Array(64).fill(-1);
const TAIL_STR: string[] = new Array<string>(64).fill('');
/** 1 once the slot's string is flat: made flat on its second use, so a length seen once costs no flattening copy. */
const TAIL_FLAT = new Uint8Array(64);
const TAIL_CHUNKED = '\r\ntransfer-encoding: chunked\r\n\r\n';

/**
 * Everything after the last field line: the framing header(s) for a body kind, `connection` when given, and the
 * empty line. A content-length tail is cached per length (direct-mapped: a response size repeats), flat once it does.
 */
function tail(kind: BodyKind, length: number, connection: string | undefined): string {
  if (connection) {
    const c = '\r\nconnection: ' + connection + '\r\n\r\n';
    return kind === 'length' ? '\r\ncontent-length: ' + length + c : kind === 'chunked' ? '\r\ntransfer-encoding: chunked' + c : c;
  }
  if (kind === 'chunked') return TAIL_CHUNKED;
  if (kind !== 'length') return '\r\n\r\n';
  const k = length & 63;
  if (TAIL_LEN[k] === length) {
    if (TAIL_FLAT[k] === 0) { TAIL_STR[k] = flat(TAIL_STR[k]); TAIL_FLAT[k] = 1; }
    return TAIL_STR[k];
  }
  // Responses whose lengths vary (most real traffic) would pay a flattening copy (~150 ns) for a string used once.
  const t = '\r\ncontent-length: ' + length + '\r\n\r\n';
  TAIL_LEN[k] = length;
  TAIL_STR[k] = t;
  TAIL_FLAT[k] = 0;
  return t;
}

/** `s` (ending without CRLF) followed by the field lines (each line's CRLF before it). */
function fields(s: string, headers: string[]): string {
  for (let i = 0; i < headers.length; i += 2) s = s + nlName(headers[i]) + headers[i + 1];
  return s;
}

/**
 * fields() for headers forwarded from a parsed head: pairs equal to adjacent received lines (same names and values,
 * in received order) are written as one substring of the received text, so unchanged lines cost no concatenation
 * per part. A received line is used only if it is written as a built one would be (lower-case name, one space,
 * no trailing whitespace: the parser flags the others), so the output is the same either way. Everything else
 * (added, changed, flagged) is built as in fields(). Output order is `headers`' order.
 */
function fieldsFrom(s: string, headers: string[], raw: RawFields): string {
  const src = raw.headers;
  const lines = raw.lines;
  const n = src.length;
  let next = 0; // src pairs before `next` are used or passed
  let runFrom = -1; // pair index where the pending run of received lines starts (-1: none)
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i], value = headers[i + 1];
    let m = next;
    while (m < n && (src[m] !== name || src[m + 1] !== value)) m += 2;
    if (m < n && lines[m >> 1] < LINE_REBUILD) {
      if (runFrom !== -1 && m !== next) { s += run(raw, runFrom, next); runFrom = -1; }
      if (runFrom === -1) runFrom = m;
      next = m + 2;
    } else {
      if (runFrom !== -1) { s += run(raw, runFrom, next); runFrom = -1; }
      if (m < n) next = m + 2;
      s = s + nlName(name) + value;
    }
  }
  if (runFrom !== -1) s += run(raw, runFrom, next);
  return s;
}

/** Received lines for src pairs [from, to), each with the CRLF before it: one substring of the head's text. */
function run(raw: RawFields, from: number, to: number): string {
  return raw.text.slice(raw.lines[from >> 1] - 2, (raw.lines[to >> 1] & LINE_POS) - 2);
}

/**
 * Below this many received lines fieldsFrom does not pay (measured on a 5-line head: matching and substrings cost
 * ~0.3-0.5k instructions more than rebuilding; on a 12-line head they save ~2k).
 */
const RAW_MIN_LINES = 8;

/** Request head as a latin1 string (write it with 'latin1' so obs-text bytes survive). */
export function serializeRequestHead(method: string, path: string, headers: string[], kind: BodyKind, length: number, connection?: string): string {
  return fields(method + ' ' + path + ' HTTP/1.1', headers) + tail(kind, length, connection);
}

const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Payload Too Large', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};
export function reasonPhrase(status: number): string { return REASONS[status] ?? 'Unknown'; }

/**
 * Response head as a latin1 string. `connection` adds a Connection header (e.g. 'close', 'upgrade'). `raw`: the
 * parsed upstream head `headers` were forwarded from (see fieldsFrom).
 */
export function serializeResponseHead(
  status: number, reason: string, headers: string[], kind: BodyKind, length: number, connection?: string, raw?: RawFields,
): string {
  const start = reason ? 'HTTP/1.1 ' + status + ' ' + reason : statusLine(status);
  return (raw !== undefined && raw.headers.length >= 2 * RAW_MIN_LINES && rawFieldsCurrent(raw) ? fieldsFrom(start, headers, raw) : fields(start, headers)) +
    tail(kind, length, connection);
}

/** "HTTP/1.1 <status> <default reason>" (no CRLF: see fields), built once per status code (a dense array, not a keyed lookup). */
const STATUS_LINES: string[] = new Array<string>(600).fill('');
function statusLine(status: number): string {
  if (status < 100 || status > 599) return 'HTTP/1.1 ' + status + ' ' + reasonPhrase(status);
  let l = STATUS_LINES[status];
  if (l === '') l = STATUS_LINES[status] = flat('HTTP/1.1 ' + status + ' ' + reasonPhrase(status));
  return l;
}
