// proxy/http/codec: strict header-field line parsing and the framing headers' value rules (RFC 9110/9112).
import { TOKEN, FIELD_VALUE, CR, LF, SP, HTAB, COLON } from './chars.ts';
import { LINE_REBUILD } from './head.ts';

/**
 * Parse header lines in buf[pos, end) into `out` as [lowerName, value, ...]. `end` is just past the CRLF of
 * the last field line. Returns an error reason, or '' on success. Rejects obs-fold, whitespace before the
 * colon, non-token names, control bytes in values and lines not ended by CRLF.
 *
 * `str`, when given, is the latin1 text of buf from byte `base` on (at least up to `end`): names and values are
 * then substrings of it, cut in JS, instead of one native Buffer#toString call per field (the head parsers
 * decode the whole head once; that was the largest share of per-request parsing cost). `lineStarts`, when given (at
 * least maxHeaders + 2 long), receives each line's start (relative to `base`), then `end - base` (RawFields.lines);
 * a line whose name has a capital letter or whose value is not `: value` exactly gets LINE_REBUILD set.
 */
export function parseFieldLines(
  buf: Buffer, pos: number, end: number, out: string[], maxHeaders: number, str?: string, base = 0, lineStarts?: Int32Array,
): string {
  // Local copies of the imported tables: the loops below index them per byte.
  const TOKEN_ = TOKEN, VALUE_ = FIELD_VALUE;
  let count = 0;
  // Indexed stores, not push: `push` of two values is a builtin call per line here (~80 instructions more a line).
  let w = out.length;
  while (pos < end) {
    if (lineStarts !== undefined) lineStarts[count] = pos - base;
    const c0 = buf[pos];
    if (c0 === SP || c0 === HTAB) return 'obsolete line folding';
    // A well-known name followed by ':' is matched (and so validated) in one pass over its bytes.
    // The name matchers leave in `folded` whether a capital letter was folded (a module variable: no result object).
    let name = knownPrefix(buf, pos, end);
    let i: number;
    if (name !== undefined) i = pos + name.length;
    else {
      i = pos;
      while (i < end && TOKEN_[buf[i]] === 1) i++;
      if (i === pos) return 'invalid header name';
      if (buf[i] !== COLON) return 'invalid character in header name';
      name = knownName(buf, pos, i);
      if (name === undefined) {
        const received = str !== undefined ? str.slice(pos - base, i - base) : buf.toString('latin1', pos, i);
        name = received.toLowerCase();
        // toLowerCase returns the same string when nothing changed: a pointer compare.
        folded = name === received ? 0 : 1;
      }
    }
    const colon = i;
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    const vs = i;
    // Four bytes per step while all four are value bytes (one branch per word), then byte by byte to the exact stop.
    while (i + 4 <= end && (VALUE_[buf[i]] & VALUE_[buf[i + 1]] & VALUE_[buf[i + 2]] & VALUE_[buf[i + 3]]) === 1) i += 4;
    while (i < end && VALUE_[buf[i]] === 1) i++;
    if (buf[i] !== CR || buf[i + 1] !== LF) return buf[i] === LF ? 'bare LF in header line' : 'invalid character in header value';
    let ve = i;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    if (lineStarts !== undefined && (folded !== 0 || vs !== colon + 2 || buf[colon + 1] !== SP || ve !== i)) lineStarts[count] |= LINE_REBUILD;
    out[w++] = name;
    out[w++] = ve === vs ? '' : str !== undefined ? str.slice(vs - base, ve - base) : buf.toString('latin1', vs, ve);
    pos = i + 2;
    if (++count > maxHeaders) return 'too many headers';
  }
  if (lineStarts !== undefined) lineStarts[count] = end - base;
  return '';
}

/**
 * Header names seen on nearly every message, by length. A name matching one (case-insensitively) reuses the
 * interned lower-case string: no slice + toLowerCase allocation per header, and later comparisons hit the
 * same string. Entries are lower-case letters and '-' only (see knownName's byte test).
 */
const KNOWN_BY_LENGTH: string[][] = [];
for (const n of [
  'host', 'date', 'accept', 'server', 'cookie', 'expect', 'upgrade', 'connection', 'keep-alive', 'user-agent',
  'content-type', 'content-length', 'transfer-encoding', 'accept-encoding', 'accept-language', 'cache-control',
  'authorization', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-client-cert', 'traceparent',
  'x-envoy-upstream-service-time', 'x-envoy-attempt-count', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'etag',
  'last-modified', 'location', 'vary', 'via', 'te', 'origin', 'referer', 'set-cookie', 'x-envoy-decorator-operation',
]) (KNOWN_BY_LENGTH[n.length] ??= []).push(n);

/** A well-known name and its bytes (compared as a typed array: a string's charCodeAt costs ~2x a byte load here). */
interface Known { readonly name: string; readonly bytes: Uint8Array }

/** The same names by their first letter, for knownPrefix. */
const KNOWN_BY_FIRST: Known[][] = [];
for (const list of KNOWN_BY_LENGTH) if (list) for (const n of list) (KNOWN_BY_FIRST[n.charCodeAt(0)] ??= []).push({ name: n, bytes: Buffer.from(n, 'latin1') });

/**
 * Names the mesh path itself carries between sidecars (peer metadata exchange, timeouts, tracing, gRPC). Interned
 * so that comparing one with a 13+ character literal later is a pointer compare, not V8's runtime string compare.
 * By length only, not in KNOWN_BY_FIRST: every extra candidate in the 'x' bucket costs each x-* line a failed
 * check in knownPrefix (measured: +1.4k instructions per request on two sidecars when they were added there).
 */
for (const n of [
  'x-rig-peer-metadata', 'x-envoy-peer-metadata', 'x-envoy-peer-metadata-id', 'x-envoy-expected-rq-timeout-ms', 'x-envoy-internal',
  'x-b3-parentspanid', 'x-forwarded-host', 'tracestate', 'x-envoy-original-path', 'x-envoy-retry-on',
  'grpc-status', 'grpc-message', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding',
]) (KNOWN_BY_LENGTH[n.length] ??= []).push(n);

/** 1 when the last name knownPrefix / knownName / parseFieldLines matched had a capital letter, else 0. */
let folded = 0;

/** Every interned name (lower case), for tables keyed by name elsewhere (the serializer's line prefixes). */
export const KNOWN_NAMES: readonly string[] = KNOWN_BY_LENGTH.flatMap((l) => l ?? []);

/** Byte -> its lower case for A-Z, itself otherwise: FOLD[b] === c holds only for b === c or (c a letter) its capital. */
const FOLD = new Uint8Array(256);
for (let b = 0; b < 256; b++) FOLD[b] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;

/**
 * The interned lower-case name when buf[start..] begins with a well-known header name (either case) followed by
 * ':' before `end`, else undefined. Byte by byte exact: a letter matches itself or its upper case, any other
 * character ('-', digits) only itself, so the match also proves the name is a token. Every name starts with a
 * letter, and `| 0x20` maps only that letter's two cases to it, so the bucket already matched the first byte.
 */
export function knownPrefix(buf: Uint8Array, start: number, end: number): string | undefined {
  const b0 = buf[start];
  const cands = KNOWN_BY_FIRST[b0 | 0x20];
  if (cands === undefined) return undefined;
  const fold = FOLD;
  outer: for (let c = 0; c < cands.length; c++) {
    const kn = cands[c];
    const bytes = kn.bytes;
    const len = bytes.length;
    const e = start + len;
    if (e >= end || buf[e] !== COLON) continue;
    // Exact bytes first (names usually arrive in lower case), the fold table only for a byte that differs.
    let f = b0 === bytes[0] ? 0 : 1;
    for (let k = 1; k < len; k++) {
      const b = buf[start + k];
      if (b !== bytes[k]) {
        if (fold[b] !== bytes[k]) continue outer;
        f = 1;
      }
    }
    folded = f;
    return kn.name;
  }
  return undefined;
}

/** The interned lower-case name for buf[start, end) when it is a well-known header, else undefined. */
export function knownName(buf: Uint8Array, start: number, end: number): string | undefined {
  const cands = KNOWN_BY_LENGTH[end - start];
  if (cands === undefined) return undefined;
  outer: for (let c = 0; c < cands.length; c++) {
    const n = cands[c];
    // b | 0x20 folds A-Z to a-z; for the token bytes that reach here it equals a letter or '-' only for that
    // letter (either case) or '-' itself (CR, the only other byte folding to '-', is not a token byte).
    let f = 0;
    for (let k = 0; k < n.length; k++) {
      const b = buf[start + k], want = n.charCodeAt(k);
      if (b !== want) {
        if ((b | 0x20) !== want) continue outer;
        f = 1;
      }
    }
    folded = f;
    return n;
  }
  return undefined;
}

/** Content-Length: 1*DIGIT, or a list of identical values. -1 = invalid/conflicting. */
export function parseContentLength(values: string[]): number {
  if (values.length === 1) {
    // One plain number (every well-formed message): no split, no trim.
    const v = values[0];
    const len = v.length;
    if (len > 0 && len <= 15) {
      let x = 0;
      let k = 0;
      for (; k < len; k++) {
        const c = v.charCodeAt(k);
        if (c < 48 || c > 57) break;
        x = x * 10 + (c - 48);
      }
      if (k === len) return x;
    }
  }
  let n = -1;
  for (const v of values) {
    for (const part of v.split(',')) {
      const p = part.trim();
      if (p.length === 0 || p.length > 15) return -1;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c < 48 || c > 57) return -1;
      }
      const x = Number(p);
      if (n !== -1 && x !== n) return -1;
      n = x;
    }
  }
  return n;
}

/** Comma-separated list header -> lower-cased, trimmed, non-empty tokens. */
export function listTokens(values: string[]): string[] {
  // One value, one token (connection: keep-alive / close, transfer-encoding: chunked): no split.
  if (values.length === 1 && values[0].indexOf(',') === -1) {
    const p = commonToken(values[0]);
    return p ? [p] : [];
  }
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const p = part.trim().toLowerCase();
      if (p) out.push(p);
    }
  }
  return out;
}

/** Bytes allowed in an authority: unreserved, sub-delims, ':', '[', ']', '%' (a table: one load per char). */
const AUTHORITY = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) AUTHORITY[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) AUTHORITY[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) AUTHORITY[c] = 1;
for (const ch of "-._~:[]%!$&'()*+,;=") AUTHORITY[ch.charCodeAt(0)] = 1;

/** Host / authority: reg-name, IPv4 or [IPv6] with optional port; no userinfo, path or whitespace. */
export function validAuthority(a: string): boolean {
  if (a.length === 0 || a.length > 255 + 6) return false;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c > 0xff || AUTHORITY[c] !== 1) return false;
  }
  return true;
}

/** Trimmed, lower-cased token; the usual values return constants (no new string). */
export function commonToken(v: string): string {
  switch (v) {
    case 'keep-alive': case 'close': case 'chunked': case 'upgrade': return v;
    case 'Keep-Alive': return 'keep-alive';
    case 'Close': return 'close';
    case 'Upgrade': return 'upgrade';
    default: return v.trim().toLowerCase();
  }
}
