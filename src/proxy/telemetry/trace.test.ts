// proxy/telemetry: trace headers — start a trace when none, keep trace id and sampling across hops with a new span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceparent, propagateTrace } from './trace.ts';
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
