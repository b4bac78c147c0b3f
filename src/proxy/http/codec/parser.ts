// proxy/http/codec: strict HTTP/1.1 request and response head parsers (llhttp-strict semantics, no leniency flags).
import { TOKEN, TARGET, CR, LF, SP, hasBareLf } from './chars.ts';
import { FieldBlockCache } from './block-cache.ts';
import { parseFieldLines, parseContentLength, listTokens, validAuthority, commonToken } from './fields.ts';
import {
  RequestHead, ResponseHead, INCOMPLETE, parseError, defaultLimits,
  type HeadLimits, type ParseOutcome, type BodyKind, type RawFields,
} from './head.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Up to this many bytes, findHeadEnd scans in JS. */
const JS_SCAN_MAX = 2048;

/**
 * Locate the end of a head in buf[start, end): index just past CRLFCRLF, -1 if not yet complete,
 * or -2 when the head can never be valid (bare LF seen, or it already exceeds the limit).
 */
export function findHeadEnd(buf: Buffer, start: number, end: number, limit: number): number {
  // The first bytes are scanned in JS for the LF of CRLFCRLF (nearly every head ends there, and Buffer#indexOf's
  // native call costs more than the scan); the rest of a long input (a slow client's growing head) natively.
  // A byte other than CR / LF cannot be inside a match, so the scan jumps past it (most bytes of a head).
  const jsEnd = Math.min(end, start + JS_SCAN_MAX);
  for (let i = start + 3; i < jsEnd;) {
    const c = buf[i];
    if (c > CR) { i += 4; continue; } // one compare for the usual byte (every printable one is above CR)
    if (c === LF) {
      if (buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1 - start > limit ? -3 : i + 1;
      i += 2; // an LF can only be byte 2 or 4 of a match
    } else i += c === CR ? 1 : 4;
  }
  if (end > jsEnd) {
    const i = buf.indexOf(CRLFCRLF, Math.max(start, jsEnd - 3));
    if (i !== -1 && i + 4 <= end) return i + 4 - start > limit ? -3 : i + 4;
  }
  if (end - start > limit) return -3;
  if (hasBareLf(buf, start, end)) return -2;
  return -1;
}

type Latin1Slicer = Buffer & { latin1Slice(start: number, end: number): string };
/** Node's own latin1 decoder behind Buffer#toString, when present (checked once). */
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as Partial<Latin1Slicer>).latin1Slice === 'function';

/**
 * buf[start, end) as a latin1 string. Buffer#toString first dispatches on the encoding name and checks its range
 * arguments in JS (~200 instructions per call, measured); the ranges here are already inside the buffer.
 */
function latin1(buf: Buffer, start: number, end: number): string {
  return HAS_LATIN1_SLICE ? (buf as Latin1Slicer).latin1Slice(start, end) : buf.toString('latin1', start, end);
}

const CONN_CLOSE = 1, CONN_KEEP_ALIVE = 2, CONN_UPGRADE = 4;

/** Which of close / keep-alive / upgrade the Connection values name, a bit each (no `includes` call per question). */
function connectionFlags(values: string[]): number {
  if (values.length === 1 && values[0].indexOf(',') === -1) return tokenFlag(commonToken(values[0]));
  let f = 0;
  const tokens = listTokens(values);
  for (let k = 0; k < tokens.length; k++) {
    f |= tokenFlag(tokens[k]);
  }
  return f;
}

function tokenFlag(t: string): number {
  return t === 'close' ? CONN_CLOSE : t === 'keep-alive' ? CONN_KEEP_ALIVE : t === 'upgrade' ? CONN_UPGRADE : 0;
}

/** TARGET without '%': the request-target scan stops there to look for "%00". */
const TARGET_NO_PCT = TARGET.slice();
TARGET_NO_PCT[0x25] = 0;
// and at '#' (a fragment, refused below): noted in the scan instead of a String#indexOf call per request.
TARGET_NO_PCT[0x23] = 0;

/** The interned method for buf[s, e) when it is a common one (no string allocated), else undefined. */
function knownMethod(buf: Buffer, s: number, e: number): string | undefined {
  const n = e - s;
  const c = buf[s];
  if (n === 3) {
    if (c === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return 'GET';
    if (c === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) return 'PUT';
  } else if (n === 4) {
    if (c === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54) return 'POST';
    if (c === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44) return 'HEAD';
  }
  return undefined;
}

/** "HTTP/1.0" or "HTTP/1.1" at buf[i] -> minor version; -1 other well-formed version; -2 malformed. */
function parseVersion(buf: Buffer, i: number): number {
  if (buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 || buf[i + 4] !== 0x2f) return -2;
  const maj = buf[i + 5], dot = buf[i + 6], min = buf[i + 7];
  if (dot !== 0x2e || maj < 0x30 || maj > 0x39 || min < 0x30 || min > 0x39) return -2;
  if (maj === 0x31 && (min === 0x30 || min === 0x31)) return min - 0x30;
  return -1;
}

/** Parse one request head from buf[start, end). */
export function parseRequestHead(buf: Buffer, start: number, end: number, limits: HeadLimits = defaultLimits): ParseOutcome<RequestHead> {
  const origin = start;
  // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line.
  if (end - start >= 2 && buf[start] === CR && buf[start + 1] === LF) start += 2;
  const g = speculativeEnd(requestBlocks, buf, start, end, limits);
  if (g !== -1) {
    const r = requestFrom(buf, origin, start, g, limits, true);
    if (r !== undefined && r.kind === 'ok') return r;
  }
  const headEnd = findHeadEnd(buf, start, end, limits.maxHeadBytes);
  if (headEnd === -1) return INCOMPLETE;
  if (headEnd === -3) return parseError(431, 'request header fields too large');
  if (headEnd === -2) return parseError(400, 'bare LF line ending');
  return requestFrom(buf, origin, start, headEnd, limits, false)!;
}

/**
 * The request head in buf[start, headEnd) (origin: where the caller's bytes began). `spec`: headEnd is a guess
 * (speculativeEnd); then the result is undefined unless the field block came from the cache, which proves the guess
 * (see speculativeEnd), and the caller uses only an ok outcome: any error is left to the full parse to find again.
 */
function requestFrom(buf: Buffer, origin: number, start: number, headEnd: number, limits: HeadLimits, spec: boolean): ParseOutcome<RequestHead> | undefined {
  // request-line = method SP request-target SP HTTP-version CRLF
  let i = start;
  while (TOKEN[buf[i]] === 1) i++;
  if (i === start || buf[i] !== SP) return parseError(400, 'invalid method');
  // The whole head decoded once; every string below is a substring of it (cut in JS, no native call each).
  const str = latin1(buf, start, headEnd - 2);
  let method = knownMethod(buf, start, i);
  if (method === undefined) {
    // Envoy refuses a method that is not upper case (Istio's normalization docs: 400), so "get" cannot dodge a
    // policy on GET in a backend that reads it case-insensitively. The interned common methods skip the scan.
    for (let k = start; k < i; k++) if (buf[k] >= 0x61 && buf[k] <= 0x7a) return parseError(400, 'method not upper case');
    method = str.slice(0, i - start);
  }
  const ts = ++i;
  // The scan stops at each '%' and '#' (targets without one pay nothing): Envoy always refuses an encoded NUL in the path
  // (Istio's normalization docs: %00 -> 400).
  let fragment = false;
  for (;;) {
    while (TARGET_NO_PCT[buf[i]] === 1) i++;
    const c = buf[i];
    if (c === 0x23) { fragment = true; i++; continue; }
    if (c !== 0x25) break;
    if (buf[i + 1] === 0x30 && buf[i + 2] === 0x30) return parseError(400, 'encoded NUL (%00) in the request-target');
    i++;
  }
  if (i === ts || buf[i] !== SP) return parseError(400, 'invalid request-target');
  const target = str.slice(ts - start, i - start);
  i++;
  const minor = parseVersion(buf, i);
  if (minor === -2) return parseError(400, 'invalid HTTP version');
  if (minor === -1) return parseError(505, 'HTTP version not supported');
  i += 8;
  if (buf[i] !== CR || buf[i + 1] !== LF) return parseError(400, 'expected CRLF after version');
  i += 2;

  // A field block equal to a recent one reuses its parse (see block-cache.ts).
  let headers = requestBlocks.get(str, i - start, headEnd - 2 - start, limits.maxHeaders, undefined, spec);
  requestBlocks.lastHeadLength = headers === undefined ? 0 : headEnd - start;
  if (headers === undefined) {
    if (spec) return undefined;
    headers = [];
    const err = parseFieldLines(buf, i, headEnd - 2, headers, limits.maxHeaders, str, start);
    if (err) return parseError(err === 'too many headers' ? 431 : 400, err);
    requestBlocks.set(str, i - start, headEnd - 2 - start, headers, undefined);
  }

  // Framing and routing headers, gathered in one pass.
  let host: string | undefined;
  let hostCount = 0;
  let cl: string[] | undefined;
  let te: string[] | undefined;
  let conn: string[] | undefined;
  let upgradeHdr: string | undefined;
  let expect = false;
  for (let k = 0; k < headers.length; k += 2) {
    const n = headers[k];
    switch (n) {
      case 'host': host = headers[k + 1]; hostCount++; break;
      // A one-element literal (an inline allocation) for the first value; push, a builtin call, only for repeats.
      case 'content-length': if (cl === undefined) cl = [headers[k + 1]]; else cl.push(headers[k + 1]); break;
      case 'transfer-encoding': if (te === undefined) te = [headers[k + 1]]; else te.push(headers[k + 1]); break;
      case 'connection': if (conn === undefined) conn = [headers[k + 1]]; else conn.push(headers[k + 1]); break;
      case 'upgrade': upgradeHdr = headers[k + 1]; break;
      case 'expect': expect = headers[k + 1].toLowerCase() === '100-continue'; break;
    }
  }

  // request-target forms (RFC 9112 3.2).
  let path = target;
  let scheme = '';
  let authority = host ?? '';
  const c0 = target.charCodeAt(0);
  if (method === 'CONNECT') {
    if (!validAuthority(target) || target.indexOf(':') === -1) return parseError(400, 'CONNECT needs authority-form target');
    authority = target;
    path = '';
  } else if (c0 === 0x2f /* / */) {
    // origin-form
  } else if (target === '*') {
    if (method !== 'OPTIONS') return parseError(400, 'asterisk-form only allowed for OPTIONS');
  } else {
    const m = /^(https?):\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (!m) return parseError(400, 'invalid request-target');
    if (!validAuthority(m[2])) return parseError(400, 'invalid authority in absolute-form target');
    scheme = m[1].toLowerCase();
    authority = m[2];
    path = m[3] === '' ? '/' : m[3][0] === '?' ? '/' + m[3] : m[3];
    if (path[0] !== '/') return parseError(400, 'invalid request-target');
  }
  if (fragment) return parseError(400, 'fragment in request-target');
  if (hostCount > 1) return parseError(400, 'multiple Host headers');
  if (hostCount === 0 && minor === 1 && scheme === '' && method !== 'CONNECT') return parseError(400, 'missing Host header');
  if (host !== undefined && !(scheme !== '' && host === '') && !validAuthority(host)) return parseError(400, 'invalid Host header');
  if (method !== 'CONNECT' && scheme === '' && authority !== host && !validAuthority(authority) && minor === 1) return parseError(400, 'invalid Host header');

  // Body framing (RFC 9112 6.1-6.3): TE+CL together on a request is a smuggling signal; reject it.
  let bodyKind: BodyKind = 'none';
  let contentLength = 0;
  if (te !== undefined) {
    if (cl !== undefined) return parseError(400, 'both Transfer-Encoding and Content-Length');
    if (minor === 0) return parseError(400, 'Transfer-Encoding in HTTP/1.0 request');
    const codings = listTokens(te);
    if (codings.length === 0) return parseError(400, 'empty Transfer-Encoding');
    for (let k = 0; k < codings.length - 1; k++) if (codings[k] === 'chunked') return parseError(400, 'chunked is not the final transfer coding');
    if (codings[codings.length - 1] !== 'chunked') return parseError(400, 'request transfer coding does not end in chunked');
    if (codings.length > 1) return parseError(501, 'transfer coding not implemented');
    bodyKind = 'chunked';
  } else if (cl !== undefined) {
    contentLength = parseContentLength(cl);
    if (contentLength < 0) return parseError(400, 'invalid or conflicting Content-Length');
    bodyKind = contentLength > 0 ? 'length' : 'none';
  }

  const cf = conn === undefined ? 0 : connectionFlags(conn);
  let keepAlive = minor === 1;
  if (cf & CONN_CLOSE) keepAlive = false;
  else if (minor === 0 && cf & CONN_KEEP_ALIVE) keepAlive = true;
  let upgrade = '';
  if (upgradeHdr !== undefined && cf & CONN_UPGRADE) upgrade = upgradeHdr.trim().toLowerCase();
  if (method === 'CONNECT') upgrade = 'connect';

  const head = new RequestHead(method, target, minor, headers, authority, path, scheme, bodyKind, contentLength, keepAlive, upgrade, expect);
  return { kind: 'ok', head, consumed: headEnd - origin };
}

/**
 * Where a head starting at buf[start] ends if it is as long as the last head of its direction and that one's field
 * block came from the cache (lastHeadLength; 0 otherwise), or -1 when the bytes there are not CRLFCRLF. Repeated heads
 * then skip findHeadEnd's scan. A guess is proven only by a cache hit on the block between the start line and the
 * guessed end: a cached block is whole field lines, none empty, and the start line has one CRLF, its last bytes, so
 * no CRLFCRLF can come before the guessed one. Without a hit the full parse runs, so a guess that fails costs a
 * decode and a compare once: the next head does not guess.
 */
function speculativeEnd(cache: FieldBlockCache, buf: Buffer, start: number, end: number, limits: HeadLimits): number {
  const len = cache.lastHeadLength;
  const g = start + len;
  if (len === 0 || g > end || len > limits.maxHeadBytes) return -1;
  return buf[g - 1] === LF && buf[g - 2] === CR && buf[g - 3] === LF && buf[g - 4] === CR ? g : -1;
}

/** Recently parsed field blocks, one cache per direction (requests from clients, responses from upstreams). */
const requestBlocks = new FieldBlockCache();
const responseBlocks = new FieldBlockCache();

/** The response heads' shared line-start scratch and the stamp of the last head that filled it (RawFields). */
let respLines = new Int32Array(defaultLimits.maxHeaders + 2);
let respStamp = 0;
/** Whether a RawFields from parseResponseHead still describes its head (no response head was parsed since). */
export function rawFieldsCurrent(raw: RawFields): boolean { return raw.stamp !== 0 && raw.stamp === respStamp; }

/**
 * Parse one response head. `requestMethod` decides bodiless responses (HEAD, 2xx to CONNECT).
 * Upstream errors map to 502 (Envoy answers a malformed upstream response with 502 and flag UPE-like reset).
 */
export function parseResponseHead(
  buf: Buffer, start: number, end: number, requestMethod: string, limits: HeadLimits = defaultLimits,
): ParseOutcome<ResponseHead> {
  const g = speculativeEnd(responseBlocks, buf, start, end, limits);
  if (g !== -1) {
    const r = responseFrom(buf, start, g, requestMethod, limits, true);
    if (r !== undefined && r.kind === 'ok') return r;
  }
  const headEnd = findHeadEnd(buf, start, end, limits.maxHeadBytes);
  if (headEnd === -1) return INCOMPLETE;
  if (headEnd === -3) return parseError(502, 'upstream response headers too large');
  if (headEnd === -2) return parseError(502, 'bare LF in upstream response');
  return responseFrom(buf, start, headEnd, requestMethod, limits, false)!;
}

/** The response head in buf[start, headEnd); `spec` as in requestFrom. */
function responseFrom(buf: Buffer, start: number, headEnd: number, requestMethod: string, limits: HeadLimits, spec: boolean): ParseOutcome<ResponseHead> | undefined {
  const minor = parseVersion(buf, start);
  if (minor < 0) return parseError(502, 'invalid upstream HTTP version');
  let i = start + 8;
  if (buf[i] !== SP) return parseError(502, 'invalid upstream status line');
  i++;
  const d0 = buf[i] - 0x30, d1 = buf[i + 1] - 0x30, d2 = buf[i + 2] - 0x30;
  if (!(d0 >= 1 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return parseError(502, 'invalid upstream status code');
  const status = d0 * 100 + d1 * 10 + d2;
  i += 3;
  let reason = '';
  if (buf[i] === SP) {
    const rs = ++i;
    while (i < headEnd && buf[i] !== CR && buf[i] !== LF && (buf[i] >= 0x20 || buf[i] === 0x09) && buf[i] !== 0x7f) i++;
    reason = i - rs === 2 && buf[rs] === 0x4f && buf[rs + 1] === 0x4b ? 'OK' : i === rs ? '' : latin1(buf, rs, i);
  }
  if (buf[i] !== CR || buf[i + 1] !== LF) return parseError(502, 'invalid upstream status line');
  i += 2;
  // Line starts go to one shared scratch (a typed-array store per line, no array per response); the stamp tells a
  // serializer whether they are still this head's.
  if (respLines.length < limits.maxHeaders + 2) respLines = new Int32Array(limits.maxHeaders + 2);
  const lines = respLines;
  const stamp = ++respStamp;
  // The field block decoded once, from the status line's CRLF on (RawFields: each line's CRLF is before it): fields
  // are substrings of it, and as a whole (sequential) string it is compared with the cache's without V8's slow path
  // for a substring (SlowGetFlatContent, ~0.6k per compare measured).
  const base = i - 2;
  const str = latin1(buf, base, headEnd - 2);
  let headers = responseBlocks.get(str, 0, str.length, limits.maxHeaders, lines, spec);
  responseBlocks.lastHeadLength = headers === undefined ? 0 : headEnd - start;
  if (headers === undefined) {
    if (spec) return undefined;
    headers = [];
    const err = parseFieldLines(buf, i, headEnd - 2, headers, limits.maxHeaders, str, base, lines);
    if (err) return parseError(502, `upstream: ${err}`);
    responseBlocks.set(str, 0, str.length, headers, lines);
  }

  let cl: string[] | undefined;
  let te: string[] | undefined;
  let conn: string[] | undefined;
  for (let k = 0; k < headers.length; k += 2) {
    const n = headers[k];
    if (n === 'content-length') { if (cl === undefined) cl = [headers[k + 1]]; else cl.push(headers[k + 1]); }
    else if (n === 'transfer-encoding') { if (te === undefined) te = [headers[k + 1]]; else te.push(headers[k + 1]); }
    else if (n === 'connection') { if (conn === undefined) conn = [headers[k + 1]]; else conn.push(headers[k + 1]); }
  }
  const cf = conn === undefined ? 0 : connectionFlags(conn);
  let keepAlive = minor === 1;
  if (cf & CONN_CLOSE) keepAlive = false;
  else if (minor === 0 && cf & CONN_KEEP_ALIVE) keepAlive = true;

  let bodyKind: BodyKind;
  let contentLength = 0;
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304 || (requestMethod === 'CONNECT' && status < 300)) {
    bodyKind = 'none';
    if (cl !== undefined) {
      contentLength = parseContentLength(cl);
      if (contentLength < 0) return parseError(502, 'invalid upstream Content-Length');
    }
  } else if (te !== undefined) {
    // TE overrides CL (RFC 9112 6.3); but a response with both cannot be reused safely.
    const codings = listTokens(te);
    if (codings.length === 1 && codings[0] === 'chunked' && minor === 1) bodyKind = 'chunked';
    else if (codings.includes('chunked') && codings[codings.length - 1] === 'chunked') return parseError(502, 'unsupported upstream transfer coding');
    else bodyKind = 'close';
    if (cl !== undefined) keepAlive = false;
  } else if (cl !== undefined) {
    contentLength = parseContentLength(cl);
    if (contentLength < 0) return parseError(502, 'invalid or conflicting upstream Content-Length');
    bodyKind = contentLength > 0 ? 'length' : 'none';
  } else {
    bodyKind = 'close';
    keepAlive = false;
  }
  if (bodyKind === 'close') keepAlive = false;
  return { kind: 'ok', head: new ResponseHead(status, reason, minor, headers, bodyKind, contentLength, keepAlive, str, lines, stamp), consumed: headEnd - start };
}
