// proxy/telemetry: trace context on the request path — B3 (x-b3-*) and W3C traceparent, as Envoy's tracing does
// for Istio: a request without a trace starts one (sampled per the HCM's random_sampling, i.e. MeshConfig
// defaultConfig.tracing.sampling); a request with one keeps its trace id and sampling decision and gets a new span
// id per hop with the caller's span as parent. Spans are reported by tracer.ts (Zipkin) when tracing is configured.
import { randomFillSync } from 'node:crypto';
import { setHeader } from '../http/header-edits.ts';

/**
 * Random ids drawn from a pool: one randomFillSync and one hex formatting per 4 KB (~340 ids), then each id is a
 * substring of the pool's hex — no call into C++ per id. The hex is formatted in JS from a 256-entry table of
 * digit pairs, stored as 16-bit words into a latin1 buffer (4 per iteration): ~5 instructions per byte against
 * ~11 for Buffer#toString('hex').
 */
const POOL = Buffer.alloc(4096);
const POOL_TEXT = Buffer.alloc(2 * POOL.length);
const POOL_WORDS = new Uint16Array(POOL_TEXT.buffer, POOL_TEXT.byteOffset, POOL.length);
/** HEX_PAIRS[b]: b's two lower-case hex digits, the first in the low byte (as a little-endian word stores it). */
const HEX_PAIRS = new Uint16Array(256);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
for (let b = 0; b < 256; b++) {
  const hi = '0123456789abcdef'.charCodeAt(b >> 4), lo = '0123456789abcdef'.charCodeAt(b & 15);
  HEX_PAIRS[b] = LITTLE_ENDIAN ? hi | (lo << 8) : (hi << 8) | lo;
}
let poolHex = '';
let poolAt = POOL.length;
function refillPool(): void {
  randomFillSync(POOL);
  const w = POOL_WORDS, p = POOL, x = HEX_PAIRS;
  for (let i = 0; i < 4096; i += 4) {
    w[i] = x[p[i]!]!; w[i + 1] = x[p[i + 1]!]!; w[i + 2] = x[p[i + 2]!]!; w[i + 3] = x[p[i + 3]!]!;
  }
  poolHex = POOL_TEXT.toString('latin1');
  poolAt = 0;
}
function randomHex(bytes: number): string {
  if (poolAt + bytes > POOL.length) refillPool();
  const s = poolHex.slice(poolAt * 2, (poolAt + bytes) * 2);
  poolAt += bytes;
  return s;
}

export function newTraceId(): string { return randomHex(16); }
export function newSpanId(): string { return randomHex(8); }

const INVALID = 0, LOWER = 1, MIXED = 2;

const LOWER_HEX = /^[0-9a-f]+$/;
const ANY_HEX = /^[0-9a-fA-F]+$/;
const ZEROS = /^0+$/;

/**
 * Is v hex of length a or b, not all zeros? LOWER: lower-case hex; MIXED: valid once lower-cased; INVALID.
 * This runs on every hop of a traced request: the compiled regexes cost ~800 instructions for a 32-digit id sliced
 * from a head, a charCodeAt loop ~1.6k (~1.1k on a flat string). An id with an upper-case digit is not all zeros;
 * a lower-case one is checked for zeros only when it starts with '0'. No toLowerCase unless needed.
 */
function hexKind(v: string, a: number, b: number): number {
  const n = v.length;
  if (n !== a && n !== b) return INVALID;
  if (LOWER_HEX.test(v)) return v.charCodeAt(0) === 48 && ZEROS.test(v) ? INVALID : LOWER;
  return ANY_HEX.test(v) ? MIXED : INVALID;
}

/** Lower-case hex of length a (or b), not all zeros. */
function isHex(v: string, a: number, b = a): boolean { return hexKind(v, a, b) === LOWER; }

/** v lower-cased when it is (any-case) hex of length a or b, else undefined. */
function lowerHex(v: string | undefined, a: number, b: number): string | undefined {
  if (v === undefined) return undefined;
  const k = hexKind(v, a, b);
  return k === LOWER ? v : k === MIXED ? v.toLowerCase() : undefined;
}

/** A parsed W3C traceparent (version 00), or undefined when invalid. */
export function parseTraceparent(v: string | undefined): { traceId: string; parentId: string; sampled: boolean } | undefined {
  if (!v) return undefined;
  const p = v.trim().toLowerCase().split('-');
  if (p.length < 4 || p[0] !== '00' || !isHex(p[1]!, 32) || !isHex(p[2]!, 16) || p[3]!.length !== 2) return undefined;
  const flags = parseInt(p[3]!, 16);
  if (Number.isNaN(flags)) return undefined;
  return { traceId: p[1]!, parentId: p[2]!, sampled: (flags & 1) === 1 };
}

export interface TraceDecision {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  sampled: boolean;
}

/**
 * Adds or advances the trace headers in a flat header list (edited in place). `samplingPercent` is the share of
 * new traces that are sampled (0-100); `random` returns [0, 1). Returns what was decided.
 */
export function propagateTrace(h: string[], samplingPercent: number, random: () => number): TraceDecision {
  // One pass over the headers (this runs on every request of a traced listener); names are lower-case. It also
  // notes where the headers we rewrite are, so they are replaced in place instead of searched for again.
  let b3Trace: string | undefined, b3Span: string | undefined, b3Sampled: string | undefined, b3Flags: string | undefined;
  let single: string | undefined, tpRaw: string | undefined, force = false;
  let iTrace = -1, iSpan = -1, iSampled = -1, iTp = -1, iParent = -1, repeated = false;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    const c0 = n.charCodeAt(0);
    if (c0 === 120 /* x */) {
      // Only x-b3-* and x-envoy-force-trace matter: the third character rules out the other x- headers
      // (x-request-id, x-forwarded-*, x-envoy-expected-...) before any whole-name comparison.
      const c2 = n.charCodeAt(2);
      if (c2 === 101 /* e */) { if (n === 'x-envoy-force-trace') force = true; continue; }
      if (c2 !== 98 /* b */) continue;
      if (n === 'x-b3-traceid') { if (iTrace >= 0) repeated = true; else { iTrace = i; b3Trace = h[i + 1]; } }
      else if (n === 'x-b3-spanid') { if (iSpan >= 0) repeated = true; else { iSpan = i; b3Span = h[i + 1]; } }
      else if (n === 'x-b3-sampled') { if (iSampled >= 0) repeated = true; else { iSampled = i; b3Sampled = h[i + 1]; } }
      else if (n === 'x-b3-parentspanid') { if (iParent >= 0) repeated = true; else iParent = i; }
      else if (n === 'x-b3-flags') b3Flags = h[i + 1];
    } else if (c0 === 116 /* t */) { if (n === 'traceparent') { if (iTp >= 0) repeated = true; else { iTp = i; tpRaw = h[i + 1]; } } }
    else if (c0 === 98 /* b */ && n === 'b3') single = h[i + 1];
  }
  const spanId = newSpanId();
  let traceId: string, parent: string | undefined, sampled: boolean;
  // The B3 trace id when valid (any case), lower-cased.
  const b3 = lowerHex(b3Trace, 16, 32);
  // B3 wins when valid (Envoy's Zipkin tracer reads it); traceparent is parsed only without it.
  const tp = tpRaw === undefined || (b3 !== undefined && b3Sampled !== undefined) ? undefined : parseTraceparent(tpRaw);
  if (b3 !== undefined) {
    traceId = b3;
    parent = lowerHex(b3Span, 16, 16);
    sampled = b3Sampled !== undefined ? b3Sampled === '1' || b3Sampled === 'true' : b3Flags === '1' || (tp?.sampled ?? true);
  } else if (tp) {
    traceId = tp.traceId; parent = tp.parentId; sampled = tp.sampled;
  } else if (single && /^[0-9a-f]{16,32}-[0-9a-f]{16}/i.test(single)) {
    const p = single.toLowerCase().split('-');
    traceId = p[0]!; parent = p[1]; sampled = p[2] === undefined ? true : p[2] === '1' || p[2] === 'd';
  } else {
    traceId = newTraceId();
    sampled = samplingPercent >= 100 || (samplingPercent > 0 && random() * 100 < samplingPercent);
  }
  // x-envoy-force-trace asks for this request to be traced whatever the sampling.
  if (force) sampled = true;
  const s = sampled ? '1' : '0';
  // traceparent needs a 128-bit trace id: left-pad a 64-bit B3 id, as B3/W3C bridges do.
  const tpOut = '00-' + (traceId.length === 32 ? traceId : traceId.padStart(32, '0')) + '-' + spanId + (sampled ? '-01' : '-00');
  if (repeated) {
    // A header we rewrite came more than once: setHeader keeps the first and drops the others.
    setHeader(h, 'x-b3-traceid', traceId);
    setHeader(h, 'x-b3-spanid', spanId);
    setHeader(h, 'x-b3-sampled', s);
    setHeader(h, 'traceparent', tpOut);
    if (parent) setHeader(h, 'x-b3-parentspanid', parent);
  } else if ((iTrace & iSpan & iSampled & iTp) === -1) {
    // None of the four present (a new trace): one push, one growth of the list at most.
    h.push('x-b3-traceid', traceId, 'x-b3-spanid', spanId, 'x-b3-sampled', s, 'traceparent', tpOut);
    if (parent) put(h, iParent, 'x-b3-parentspanid', parent);
  } else {
    // Replace where found, else append.
    put(h, iTrace, 'x-b3-traceid', traceId);
    put(h, iSpan, 'x-b3-spanid', spanId);
    put(h, iSampled, 'x-b3-sampled', s);
    put(h, iTp, 'traceparent', tpOut);
    if (parent) put(h, iParent, 'x-b3-parentspanid', parent);
  }
  return { traceId, spanId, parentSpanId: parent, sampled };
}

function put(h: string[], at: number, name: string, value: string): void {
  if (at >= 0) h[at + 1] = value;
  else h.push(name, value);
}
