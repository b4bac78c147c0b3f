// proxy/telemetry: access-log formats (Envoy command operators, text / JSON / Envoy's default) and the batched sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLogWriters, compileJson, compileText, formatterFor, LogSink, type AccessLogEntry } from './access-log.ts';

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
