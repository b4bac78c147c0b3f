// proxy/http/codec: HTTP/1.1 head serialization and hop-by-hop header handling for forwarding.
import { listTokens } from './fields.ts';
import type { BodyKind, RawFields } from './head.ts';
import { rawFieldsCurrent } from './parser.ts';

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

/** The framing header(s) for a body kind on an outgoing HTTP/1.1 message. */
function framing(kind: BodyKind, length: number): string {
  if (kind === 'length') return 'content-length: ' + length + '\r\n';
  if (kind === 'chunked') return 'transfer-encoding: chunked\r\n';
  return '';
}

/**
 * `s` followed by the field lines. Appended part by part onto the growing head (s + name, + ': ', ...): measured
 * ~7% cheaper to build and flatten than concatenating each line first and then the line onto the head (short
 * lines are copied flat before being appended).
 */
function fields(s: string, headers: string[]): string {
  for (let i = 0; i < headers.length; i += 2) s = s + headers[i] + ': ' + headers[i + 1] + '\r\n';
  return s;
}

/**
 * fields() for headers forwarded from a parsed head: pairs equal to adjacent received lines (same names and values,
 * in received order) are written as one substring of the received text, so unchanged lines cost no concatenation
 * per part. Everything else (added, changed) is built as in fields(). Output order is
 * `headers`' order; a received line keeps its name's case and its whitespace around the value (same field).
 */
function fieldsFrom(s: string, headers: string[], raw: RawFields): string {
  const src = raw.headers;
  const n = src.length;
  let next = 0; // src pairs before `next` are used or passed
  let runFrom = -1; // pair index where the pending run of received lines starts (-1: none)
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i], value = headers[i + 1];
    let m = next;
    while (m < n && (src[m] !== name || src[m + 1] !== value)) m += 2;
    if (m < n) {
      if (runFrom !== -1 && m !== next) { s += run(raw, runFrom, next); runFrom = -1; }
      if (runFrom === -1) runFrom = m;
      next = m + 2;
    } else {
      if (runFrom !== -1) { s += run(raw, runFrom, next); runFrom = -1; }
      s = s + name + ': ' + value + '\r\n';
    }
  }
  if (runFrom !== -1) s += run(raw, runFrom, next);
  return s;
}

/** Received lines for src pairs [from, to): one substring of the head's text. */
function run(raw: RawFields, from: number, to: number): string {
  return raw.text.slice(raw.lines[from >> 1], raw.lines[to >> 1]);
}

/**
 * Below this many received lines fieldsFrom does not pay (measured on a 5-line head: matching and substrings cost
 * ~0.3-0.5k instructions more than rebuilding; on a 12-line head they save ~2k).
 */
const RAW_MIN_LINES = 8;

/** Request head as a latin1 string (write it with 'latin1' so obs-text bytes survive). */
export function serializeRequestHead(method: string, path: string, headers: string[], kind: BodyKind, length: number, connection?: string): string {
  return fields(method + ' ' + path + ' HTTP/1.1\r\n', headers) + framing(kind, length) +
    (connection ? 'connection: ' + connection + '\r\n' : '') + '\r\n';
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
  const start = reason ? 'HTTP/1.1 ' + status + ' ' + reason + '\r\n' : statusLine(status);
  return (raw !== undefined && raw.headers.length >= 2 * RAW_MIN_LINES && rawFieldsCurrent(raw) ? fieldsFrom(start, headers, raw) : fields(start, headers)) +
    framing(kind, length) + (connection ? 'connection: ' + connection + '\r\n' : '') + '\r\n';
}

/** "HTTP/1.1 <status> <default reason>\r\n", built once per status code (a dense array, not a keyed lookup). */
const STATUS_LINES: string[] = new Array<string>(600).fill('');
function statusLine(status: number): string {
  if (status < 100 || status > 599) return 'HTTP/1.1 ' + status + ' ' + reasonPhrase(status) + '\r\n';
  let l = STATUS_LINES[status];
  if (l === '') l = STATUS_LINES[status] = 'HTTP/1.1 ' + status + ' ' + reasonPhrase(status) + '\r\n';
  return l;
}
