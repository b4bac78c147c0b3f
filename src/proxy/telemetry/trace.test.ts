// proxy/telemetry: trace headers — start a trace when none, keep trace id and sampling across hops with a new span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSpanId, newTraceId, parseTraceparent, propagateTrace } from './trace.ts';
import { getHeader } from '../http/header-edits.ts';

test('no trace context: B3 and traceparent start one trace, sampled per the percentage', () => {
  const h: string[] = ['host', 'a'];
  const d = propagateTrace(h, 100, () => 0.5);
  assert.match(getHeader(h, 'x-b3-traceid')!, /^[0-9a-f]{32}$/);
  assert.match(getHeader(h, 'x-b3-spanid')!, /^[0-9a-f]{16}$/);
  assert.equal(getHeader(h, 'x-b3-parentspanid'), undefined);
  assert.equal(getHeader(h, 'x-b3-sampled'), '1');
  assert.equal(getHeader(h, 'traceparent'), `00-${d.traceId}-${d.spanId}-01`);
  const n: string[] = [];
  assert.equal(propagateTrace(n, 1, () => 0.5).sampled, false); // 50 >= 1 %
  assert.equal(getHeader(n, 'x-b3-sampled'), '0');
  assert.equal(propagateTrace([], 1, () => 0.001).sampled, true); // 0.1 < 1 %
  assert.equal(propagateTrace([], 0, () => 0).sampled, false);
});

test('existing B3: same trace and decision, new span whose parent is the caller span; traceparent follows', () => {
  const h = ['x-b3-traceid', '463ac35c9f6413ad', 'x-b3-spanid', 'a2fb4a1d1a96d312', 'x-b3-sampled', '0'];
  const d = propagateTrace(h, 100, () => 0);
  assert.equal(d.traceId, '463ac35c9f6413ad');
  assert.notEqual(d.spanId, 'a2fb4a1d1a96d312');
  assert.equal(getHeader(h, 'x-b3-parentspanid'), 'a2fb4a1d1a96d312');
  assert.equal(getHeader(h, 'x-b3-sampled'), '0');
  assert.equal(getHeader(h, 'traceparent'), `00-0000000000000000463ac35c9f6413ad-${d.spanId}-00`);
  assert.equal(h.filter((x) => x === 'x-b3-spanid').length, 1);
});

test('existing traceparent only: its trace id, parent and flags carry into B3', () => {
  const h = ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'];
  const d = propagateTrace(h, 0, () => 0.99);
  assert.equal(d.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(d.parentSpanId, '00f067aa0ba902b7');
  assert.equal(d.sampled, true);
  assert.equal(getHeader(h, 'x-b3-traceid'), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(parseTraceparent(getHeader(h, 'traceparent'))!.parentId, d.spanId);
});

test('invalid traceparent values are ignored (a new trace starts); x-envoy-force-trace samples', () => {
  assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
  assert.equal(parseTraceparent('zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
  const h = ['traceparent', 'garbage', 'x-envoy-force-trace', '1'];
  const d = propagateTrace(h, 0, () => 0.5);
  assert.notEqual(d.traceId, 'garbage');
  assert.equal(d.sampled, true);
});

test('rewritten in place: other headers keep their order; a repeated trace header is collapsed to one', () => {
  const h = ['host', 'a', 'x-b3-traceid', '463ac35c9f6413ad', 'accept', '*/*', 'x-b3-spanid', 'a2fb4a1d1a96d312', 'x-b3-parentspanid', 'ffffffffffffffff', 'x-b3-sampled', '1'];
  const d = propagateTrace(h, 0, () => 0.99);
  assert.deepEqual(h.filter((_, i) => i % 2 === 0), ['host', 'x-b3-traceid', 'accept', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'traceparent']);
  assert.equal(getHeader(h, 'x-b3-spanid'), d.spanId);
  assert.equal(getHeader(h, 'x-b3-parentspanid'), 'a2fb4a1d1a96d312');
  assert.equal(d.sampled, true);
  const r = ['x-b3-traceid', '463ac35c9f6413ad', 'x-b3-traceid', '0000000000000001', 'x-b3-spanid', 'a2fb4a1d1a96d312'];
  const e = propagateTrace(r, 0, () => 0.99);
  assert.equal(e.traceId, '463ac35c9f6413ad');
  assert.equal(r.filter((x) => x === 'x-b3-traceid').length, 1);
  assert.equal(getHeader(r, 'x-b3-traceid'), '463ac35c9f6413ad');
});

test('ids from the pool: hex of the right length, different each time, across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const d = propagateTrace([], 100, () => 0);
    assert.match(d.traceId, /^[0-9a-f]{32}$/);
    assert.match(d.spanId, /^[0-9a-f]{16}$/);
    seen.add(d.traceId);
  }
  assert.equal(seen.size, 1000);
});

test('B3 ids in upper case are accepted and lower-cased; all-zero or wrong-length ids start a new trace', () => {
  const h = ['x-b3-traceid', '463AC35C9F6413AD', 'x-b3-spanid', 'A2FB4A1D1A96D312', 'x-b3-sampled', '1'];
  const d = propagateTrace(h, 0, () => 0.99);
  assert.equal(d.traceId, '463ac35c9f6413ad');
  assert.equal(d.parentSpanId, 'a2fb4a1d1a96d312');
  assert.equal(getHeader(h, 'x-b3-traceid'), '463ac35c9f6413ad');
  for (const bad of ['0000000000000000', '463ac35c9f6413a', '463ac35c9f6413ag']) {
    const e = propagateTrace(['x-b3-traceid', bad, 'x-b3-sampled', '1'], 100, () => 0);
    assert.notEqual(e.traceId, bad);
    assert.equal(e.traceId.length, 32);
    assert.equal(e.parentSpanId, undefined);
  }
});

test('new trace and span ids are lower-case hex of 32 / 16 digits, distinct, every digit at every position, across pool refills', () => {
  const traces = new Set<string>(), spans = new Set<string>();
  const digits: Set<string>[] = Array.from({ length: 32 }, () => new Set<string>());
  for (let i = 0; i < 600; i++) { // 600 x 24 bytes: several 4 KB pools
    const t = newTraceId(), s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    traces.add(t); spans.add(s);
    for (let k = 0; k < 32; k++) digits[k]!.add(t[k]!);
  }
  assert.equal(traces.size, 600);
  assert.equal(spans.size, 600);
  for (let k = 0; k < 32; k++) assert.equal(digits[k]!.size, 16, `position ${k}`);
});

test('trace headers are found among look-alike names (x-bz, x-envoy-*, t*, b*), built from a parsed head', () => {
  // names cut out of one string, as the parser gives them (not the literals the code compares against)
  const head = 'x-request-id:x-bz:x-envoy-expected-rq-timeout-ms:x-envoy-force-trace:b3x:b3:tracestate:x-b3-traceid:x-b3-spanid';
  const n = head.split(':').map((s) => (s + ' ').slice(0, s.length));
  const h = [n[0]!, 'r', n[1]!, 'z', n[2]!, '100', n[3]!, '1', n[4]!, 'q', n[5]!, 'ABCDEF0123456789abcdef0123456789-0123456789abcdef-0',
    n[6]!, 's', n[7]!, '0123456789abcdef0123456789abcdef', n[8]!, 'abcdef0123456789'];
  const d = propagateTrace(h, 0, () => 0.5);
  assert.equal(d.traceId, '0123456789abcdef0123456789abcdef', 'x-b3-traceid wins over b3');
  assert.equal(d.parentSpanId, 'abcdef0123456789');
  assert.equal(d.sampled, true, 'x-envoy-force-trace found after other x-envoy-* names');
  assert.equal(getHeader(h, 'x-bz'), 'z');
  assert.equal(getHeader(h, 'x-b3-sampled'), '1');
  // without B3 ids the single b3 header is read (and 'b3x' is not it)
  const g = [n[4]!, 'q', n[5]!, 'abcdef0123456789abcdef0123456789-0123456789abcdef-1'];
  const e = propagateTrace(g, 0, () => 0.5);
  assert.equal(e.traceId, 'abcdef0123456789abcdef0123456789');
  assert.equal(e.parentSpanId, '0123456789abcdef');
  assert.equal(e.sampled, true);
});

test('B3 id validation: leading zeros are fine, all zeros / a trailing newline / a non-hex digit are not', () => {
  const ok = ['x-b3-traceid', '00000000000000a1', 'x-b3-spanid', '0000000000000001', 'x-b3-sampled', '1'];
  const d = propagateTrace(ok, 0, () => 0.5);
  assert.equal(d.traceId, '00000000000000a1');
  assert.equal(d.parentSpanId, '0000000000000001');
  for (const bad of ['463ac35c9f6413a\n', '00000000000000000000000000000000', '463AC35C9F6413A-', ' 463ac35c9f6413a']) {
    const d2 = propagateTrace(['x-b3-traceid', bad, 'x-b3-sampled', '1'], 0, () => 0.5);
    assert.notEqual(d2.traceId, bad.toLowerCase(), JSON.stringify(bad));
    assert.match(d2.traceId, /^[0-9a-f]{32}$/, 'a new trace');
  }
  const mixed = propagateTrace(['x-b3-traceid', '463AC35C9F6413AD', 'x-b3-sampled', '1'], 0, () => 0.5);
  assert.equal(mixed.traceId, '463ac35c9f6413ad');
});
