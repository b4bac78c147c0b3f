// proxy/telemetry: access-log formats (Envoy command operators, text / JSON / Envoy's default) and the batched sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AccessLogWriters, compileJson, compileLogFilter, compileText, entryGrpcStatus, formatterFor, LogSink, type AccessLogEntry } from './access-log.ts';
import type { AccessLogFilterConfig } from '../config/types.ts';

const headers: Record<string, string> = { 'x-request-id': 'rid-1', 'user-agent': 'curl/8', 'x-envoy-original-path': '/orig' };
const entry: AccessLogEntry = {
  startMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678), method: 'GET', path: '/reviews/1', protocol: 'HTTP/1.1', status: 503, flags: 'UF,URX',
  bytesReceived: 12, bytesSent: 91, durationMs: 41.6, upstreamHost: '10.0.0.7:9080', upstreamCluster: 'outbound|9080||reviews.default.svc.cluster.local',
  routeName: 'default', downstreamRemoteAddress: '10.0.0.1:5555',
  req: (n) => (n === ':method' ? 'GET' : n === ':path' ? '/reviews/1' : n === ':authority' ? 'reviews:9080' : headers[n]),
  resp: (n) => (n === 'x-envoy-upstream-service-time' ? '40' : undefined),
};

test('text format: operators, header fallbacks (X?Y), truncation, missing values as "-"', () => {
  const f = compileText('[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(X-REQUEST-ID)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %ROUTE_NAME% %REQ(USER-AGENT):4% %REQ(X-MISSING)% %DOWNSTREAM_PEER_URI_SAN% 100%%\n');
  assert.equal(f(entry), '[2026-01-02T03:04:05.678Z] "GET /orig HTTP/1.1" 503 UF,URX 12 91 42 "rid-1" "10.0.0.7:9080" outbound|9080||reviews.default.svc.cluster.local default curl - - 100%\n');
  const g = compileText('%REQ(X-NONE?:PATH)%');
  assert.equal(g(entry), '/reviews/1');
});

test("Envoy's default format when the logger names none", () => {
  const line = formatterFor({})(entry);
  assert.equal(line, '[2026-01-02T03:04:05.678Z] "GET /orig HTTP/1.1" 503 UF,URX 12 91 42 40 "-" "curl/8" "rid-1" "reviews:9080" "10.0.0.7:9080"\n');
});

test('JSON format: one object per line; lone numeric operators stay numbers, missing values are null', () => {
  const f = compileJson({ code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', rid: '%REQ(X-REQUEST-ID)%', peer: '%DOWNSTREAM_PEER_URI_SAN%', both: '%REQ(:METHOD)% %REQ(:PATH)%', dur: '%DURATION%' });
  const line = f(entry);
  assert.ok(line.endsWith('\n'));
  assert.deepEqual(JSON.parse(line), { code: 503, flags: 'UF,URX', rid: 'rid-1', peer: null, both: 'GET /reviews/1', dur: 42 });
  // jsonFormat wins over textFormat
  assert.equal(JSON.parse(formatterFor({ textFormat: 'x', jsonFormat: { c: '%RESPONSE_CODE%' } })(entry)).c, 503);
});

test('sink: lines batch into few writes, keep their order, and reach the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-al-'));
  try {
    const path = join(dir, 'access.log');
    const w = new AccessLogWriters();
    const loggers = [{ kind: 'file', path, textFormat: '%REQ(X-REQUEST-ID)% %RESPONSE_CODE%\n' }];
    for (let i = 0; i < 500; i++) w.log(loggers, { ...entry, status: 200 + (i % 3), req: () => `r${i}` });
    await w.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 500);
    assert.equal(lines[0], 'r0 200');
    assert.equal(lines[499], 'r499 201');
    assert.deepEqual(w.stats(), { written: 500, dropped: 0, errors: 0 });
    assert.ok(w.sink(path).batches <= 3, `500 lines in ${w.sink(path).batches} writes`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('sink: a file that cannot be opened is an error count, never a throw', async () => {
  const errors: string[] = [];
  const s = new LogSink('/nonexistent-dir-rig/x.log', (e) => errors.push(e.message));
  s.push('a\n');
  await s.flushed();
  assert.equal(s.errors, 1);
  assert.match(errors[0]!, /ENOENT/);
});

// ----- access-log filters

/** An entry with the given fields and request headers (lower-case names). */
function ent(over: Partial<AccessLogEntry>, reqHeaders: Record<string, string> = {}): AccessLogEntry {
  return { ...entry, req: (n) => reqHeaders[n], resp: () => undefined, ...over };
}
const accepts = (f: AccessLogFilterConfig, e: AccessLogEntry, random?: () => number): boolean => compileLogFilter(f, random)(e);

test('status_code_filter: EQ / GE / LE against the response code; no response compares as 0', () => {
  const ge = { kind: 'status_code', op: 'GE', value: 500 } as const;
  assert.equal(accepts(ge, ent({ status: 503 })), true);
  assert.equal(accepts(ge, ent({ status: 500 })), true);
  assert.equal(accepts(ge, ent({ status: 404 })), false);
  assert.equal(accepts({ kind: 'status_code', op: 'LE', value: 299 }, ent({ status: 200 })), true);
  assert.equal(accepts({ kind: 'status_code', op: 'LE', value: 299 }, ent({ status: 300 })), false);
  assert.equal(accepts({ kind: 'status_code', op: 'EQ', value: 0 }, ent({ status: undefined })), true);
  assert.equal(accepts({ kind: 'status_code', op: 'EQ', value: 404 }, ent({ status: 403 })), false);
});

test('duration_filter: compares whole milliseconds', () => {
  const slow = { kind: 'duration', op: 'GE', value: 100 } as const;
  assert.equal(accepts(slow, ent({ durationMs: 100.9 })), true);
  assert.equal(accepts(slow, ent({ durationMs: 99.9 })), false);
  assert.equal(accepts({ kind: 'duration', op: 'EQ', value: 5 }, ent({ durationMs: 5.7 })), true);
  assert.equal(accepts({ kind: 'duration', op: 'LE', value: 5 }, ent({ durationMs: 6 })), false);
});

test('not_health_check_filter drops health checks; traceable_filter accepts only forced traces', () => {
  assert.equal(accepts({ kind: 'not_health_check' }, ent({})), true);
  assert.equal(accepts({ kind: 'not_health_check' }, ent({ healthCheck: true })), false);
  const tr = { kind: 'traceable' } as const;
  assert.equal(accepts(tr, ent({}, { 'x-request-id': '0f8fad5b-d9cb-469f-a165-70867728950e' })), false);
  assert.equal(accepts(tr, ent({}, { 'x-request-id': '0f8fad5b-d9cb-a69f-a165-70867728950e' })), true); // forced UUID
  assert.equal(accepts(tr, ent({}, { 'x-envoy-force-trace': 'true' })), true);
});

test('runtime_filter: request-id sampling is stable per id; independent randomness uses the injected Random', () => {
  const half = { kind: 'runtime', runtimeKey: 'k', percent: { numerator: 50, denominator: 100 }, independentRandomness: false } as const;
  // First 8 hex digits as an integer, modulo the denominator: 0x00000031 = 49 < 50; 0x00000032 = 50.
  assert.equal(accepts(half, ent({}, { 'x-request-id': '00000031-0000-4000-8000-000000000000' })), true);
  assert.equal(accepts(half, ent({}, { 'x-request-id': '00000032-0000-4000-8000-000000000000' })), false);
  assert.equal(accepts(half, ent({}, { 'x-request-id': '000000ff-0000-4000-8000-000000000000' })), false); // 255 % 100 = 55
  // No usable request id: the Random decides.
  assert.equal(accepts(half, ent({}), () => 0.49), true);
  assert.equal(accepts(half, ent({}), () => 0.5), false);
  const indep = { ...half, independentRandomness: true };
  assert.equal(accepts(indep, ent({}, { 'x-request-id': '00000031-0000-4000-8000-000000000000' }), () => 0.99), false);
  assert.equal(accepts(indep, ent({}, { 'x-request-id': '00000032-0000-4000-8000-000000000000' }), () => 0.1), true);
  // Over many random ids, close to the configured share; 0% never, 100% always.
  const ten = compileLogFilter({ ...half, percent: { numerator: 1000, denominator: 10_000 } });
  let n = 0;
  for (let i = 0; i < 2000; i++) if (ten(ent({}, { 'x-request-id': randomUUID() }))) n++;
  assert.ok(n > 120 && n < 290, `10% of 2000 sampled ${n}`);
  assert.equal(accepts({ ...indep, percent: { numerator: 0, denominator: 100 } }, ent({}), () => 0), false);
  assert.equal(accepts({ ...indep, percent: { numerator: 100, denominator: 100 } }, ent({}), () => 0.999), true);
});

test('header_filter: Envoy header matching on the request headers', () => {
  const f = { kind: 'header', header: { name: 'x-debug', match: { kind: 'string', string: { kind: 'exact', value: 'on', ignoreCase: false } }, invert: false, treatMissingAsEmpty: false } } as const;
  assert.equal(accepts(f, ent({}, { 'x-debug': 'on' })), true);
  assert.equal(accepts(f, ent({}, { 'x-debug': 'off' })), false);
  assert.equal(accepts(f, ent({})), false);
  const present = { kind: 'header', header: { name: 'x-debug', match: { kind: 'present', present: true }, invert: false, treatMissingAsEmpty: false } } as const;
  assert.equal(accepts(present, ent({}, { 'x-debug': '' })), true);
  assert.equal(accepts(present, ent({})), false);
});

test('response_flag_filter: any listed flag, or any flag at all when the list is empty', () => {
  assert.equal(accepts({ kind: 'response_flag', flags: [] }, ent({ flags: '-' })), false);
  assert.equal(accepts({ kind: 'response_flag', flags: [] }, ent({ flags: 'UH' })), true);
  assert.equal(accepts({ kind: 'response_flag', flags: ['UO', 'URX'] }, ent({ flags: 'UF,URX' })), true);
  assert.equal(accepts({ kind: 'response_flag', flags: ['UO'] }, ent({ flags: 'UF,URX' })), false);
  assert.equal(accepts({ kind: 'response_flag', flags: ['UO'] }, ent({ flags: '-' })), false);
});

test('grpc_status_filter: trailers, then headers, then the HTTP status mapped; exclude inverts', () => {
  assert.equal(entryGrpcStatus(ent({ grpcStatus: '5', status: 200 })), 5);
  assert.equal(entryGrpcStatus(ent({ status: 200, resp: (n) => (n === 'grpc-status' ? '7' : undefined) })), 7);
  assert.equal(entryGrpcStatus(ent({ status: 503 })), 14); // UNAVAILABLE
  assert.equal(entryGrpcStatus(ent({ status: 404 })), 12); // UNIMPLEMENTED
  assert.equal(entryGrpcStatus(ent({ status: 200 })), 2); // UNKNOWN: no grpc-status
  assert.equal(entryGrpcStatus(ent({ status: 0 })), 2);
  const notOk: AccessLogFilterConfig = { kind: 'grpc_status', statuses: [0], exclude: true };
  assert.equal(accepts(notOk, ent({ grpcStatus: '0' })), false);
  assert.equal(accepts(notOk, ent({ grpcStatus: '14' })), true);
  const unavailable: AccessLogFilterConfig = { kind: 'grpc_status', statuses: [14, 4], exclude: false };
  assert.equal(accepts(unavailable, ent({ status: 503 })), true);
  assert.equal(accepts(unavailable, ent({ grpcStatus: '4' })), true);
  assert.equal(accepts(unavailable, ent({ grpcStatus: '99' })), false); // user-defined code matches nothing
});

test('and_filter / or_filter combine their filters (short-circuit)', () => {
  const errors = { kind: 'status_code', op: 'GE', value: 500 } as const;
  const slow = { kind: 'duration', op: 'GE', value: 1000 } as const;
  let calls = 0;
  const counting = () => { calls++; return 0; };
  const sampled = { kind: 'runtime', runtimeKey: 'k', percent: { numerator: 100, denominator: 100 }, independentRandomness: true } as const;
  assert.equal(accepts({ kind: 'and', filters: [errors, slow] }, ent({ status: 503, durationMs: 2000 })), true);
  assert.equal(accepts({ kind: 'and', filters: [errors, slow] }, ent({ status: 503, durationMs: 20 })), false);
  assert.equal(accepts({ kind: 'or', filters: [errors, slow] }, ent({ status: 200, durationMs: 2000 })), true);
  assert.equal(accepts({ kind: 'or', filters: [errors, slow] }, ent({ status: 200, durationMs: 20 })), false);
  assert.equal(accepts({ kind: 'or', filters: [errors, sampled] }, ent({ status: 503 }), counting), true);
  assert.equal(calls, 0, 'or stops at the first match');
  assert.equal(accepts({ kind: 'and', filters: [{ kind: 'or', filters: [errors, slow] }, { kind: 'not_health_check' }] }, ent({ status: 500 })), true);
});

test('writers apply each logger\'s own filter; loggers without one log everything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-alf-'));
  try {
    const all = join(dir, 'all.log'), errs = join(dir, 'errors.log');
    const w = new AccessLogWriters(undefined, () => 0);
    const loggers = [
      { kind: 'file', path: all, textFormat: '%RESPONSE_CODE%\n' },
      { kind: 'file', path: errs, textFormat: '%RESPONSE_CODE%\n', logFilter: { kind: 'status_code', op: 'GE', value: 500 } as const },
    ];
    for (const status of [200, 503, 404, 500]) w.log(loggers, ent({ status }));
    await w.close();
    assert.deepEqual(readFileSync(all, 'utf8').trimEnd().split('\n'), ['200', '503', '404', '500']);
    assert.deepEqual(readFileSync(errs, 'utf8').trimEnd().split('\n'), ['503', '500']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
