// e2e (telemetry): a control plane, a client sidecar and a server sidecar as real processes. After N requests both
// sidecars' /stats/prometheus show istio_requests_total with Istio's reporter / source / destination / response_code
// labels and the right counts; a fault abort is response_flags="FI" on the client side; the access log configured in
// MeshConfig (accessLogFile) gets lines in Istio's default text format (as the `envoy` provider); trace headers reach the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { startApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const N = 12;
const ABORTS = 3;

function meshConfig(logFile: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    accessLogFile: ${logFile}
    accessLogEncoding: TEXT
    defaultConfig: {tracing: {sampling: 100}}
---
`;
}

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: server, namespace: default}
spec:
  hosts: [server]
  http:
  - name: abort
    match: [{headers: {x-test: {exact: abort}}}]
    fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
    route: [{destination: {host: server}}]
  - name: main
    route: [{destination: {host: server}}]
---
`;

/** istio_requests_total series of a Prometheus text page, as label maps with their values. */
function requestsTotal(text: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^istio_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const kv of m[1]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]!] = kv[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

test('Istio standard metrics, access logs and trace headers through real sidecars', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-e2e-telemetry-'));
  const logFile = join(dir, 'access.log');
  const app = await startApp('server-v1');
  const mesh = await Mesh.start({
    config: meshConfig(logFile) + serviceEntry('server') + VS,
    workloads: [
      { name: 'client', labels: { app: 'client', version: 'v1' } },
      { name: 'server', labels: { app: 'server', version: 'v1' }, app },
    ],
  });
  t.after(async () => { await mesh.stop(); await app.close(); rmSync(dir, { recursive: true, force: true }); });

  const URL_ = 'http://server:9080/';
  const first = await mesh.waitRoutable('client', `${URL_}warmup`);
  // Trace context started by the client sidecar, advanced by the server sidecar; peer metadata never reaches apps.
  const hh = first.json!.headers;
  assert.match(String(hh['x-b3-traceid']), /^[0-9a-f]{32}$/);
  assert.match(String(hh['x-b3-parentspanid']), /^[0-9a-f]{16}$/);
  assert.notEqual(hh['x-b3-spanid'], hh['x-b3-parentspanid']);
  assert.equal(hh['x-b3-sampled'], '1');
  assert.match(String(hh.traceparent), new RegExp(`^00-${String(hh['x-b3-traceid'])}-${String(hh['x-b3-spanid'])}-01$`));
  assert.equal(hh['x-rig-peer-metadata'], undefined);
  assert.equal(first.headers['x-rig-peer-metadata'], undefined);

  const before = requestsTotal(await mesh.admin('client', '/stats/prometheus')).filter((s) => s.labels.response_code === '200').reduce((a, s) => a + s.value, 0);
  for (let i = 0; i < N; i++) {
    const r = await mesh.request('client', `${URL_}r${i}`);
    assert.equal(r.status, 200);
  }
  for (let i = 0; i < ABORTS; i++) {
    const r = await mesh.request('client', `${URL_}a${i}`, { headers: { 'x-test': 'abort' } });
    assert.equal(r.status, 418);
  }

  // Client sidecar: reporter="source".
  const client = requestsTotal(await mesh.admin('client', '/stats/prometheus'));
  const out200 = client.filter((s) => s.labels.reporter === 'source' && s.labels.response_code === '200');
  assert.equal(out200.length, 1, JSON.stringify(client));
  const o = out200[0]!;
  assert.equal(o.value - before, N);
  assert.equal(o.labels.source_workload, 'client');
  assert.equal(o.labels.source_workload_namespace, 'default');
  assert.equal(o.labels.source_app, 'client');
  assert.equal(o.labels.source_version, 'v1');
  assert.equal(o.labels.destination_workload, 'server');
  assert.equal(o.labels.destination_app, 'server');
  assert.equal(o.labels.destination_service, 'server.default.svc.cluster.local');
  assert.equal(o.labels.destination_service_name, 'server');
  assert.equal(o.labels.destination_service_namespace, 'default');
  assert.equal(o.labels.request_protocol, 'http');
  assert.equal(o.labels.response_flags, '-');
  const fi = client.find((s) => s.labels.reporter === 'source' && s.labels.response_code === '418');
  assert.ok(fi, 'a series for the aborted requests');
  assert.equal(fi.value, ABORTS);
  assert.equal(fi.labels.response_flags, 'FI');
  assert.equal(fi.labels.destination_service, 'server.default.svc.cluster.local');

  // Server sidecar: reporter="destination"; aborted requests never reached it.
  const server = requestsTotal(await mesh.admin('server', '/stats/prometheus'));
  const in200 = server.filter((s) => s.labels.reporter === 'destination' && s.labels.response_code === '200');
  assert.equal(in200.length, 1, JSON.stringify(server));
  const d = in200[0]!;
  assert.equal(d.value, o.value, 'every request the client reported reached the server');
  assert.equal(d.labels.source_workload, 'client');
  assert.equal(d.labels.source_app, 'client');
  assert.equal(d.labels.destination_workload, 'server');
  assert.equal(d.labels.destination_version, 'v1');
  assert.equal(d.labels.destination_service_namespace, 'default');
  assert.ok(['mutual_tls', 'none'].includes(d.labels.connection_security_policy!));
  if (d.labels.connection_security_policy === 'mutual_tls') assert.equal(d.labels.source_principal, 'spiffe://cluster.local/ns/default/sa/default');
  assert.equal(server.filter((s) => s.labels.response_code === '418').length, 0);

  // Histograms are there too, with the same labels.
  const text = await mesh.admin('client', '/stats/prometheus');
  assert.match(text, /^istio_request_duration_milliseconds_bucket\{reporter="source",.*response_code="200".*le="\+Inf"\} \d+$/m);
  assert.match(text, /^istio_response_bytes_count\{reporter="source",.*\} \d+$/m);

  // The separate scrape port serves the same metrics.
  const port = Number((await mesh.w('client').proxy.waitFor(/metrics on (\d+)/, 2000))[1]);
  assert.ok(port > 0);
  const scraped = requestsTotal(await (await fetch(`http://127.0.0.1:${port}/stats/prometheus`)).text());
  assert.ok(scraped.some((s) => s.labels.response_code === '418' && s.labels.response_flags === 'FI'));

  // Access log: both sidecars append to the configured file in Istio's default TEXT format (batched, so poll).
  const lines = await poll(async () => {
    if (!existsSync(logFile)) return undefined;
    const l = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    return l.filter((x) => x.includes('/a0 ')).length >= 1 && l.filter((x) => x.includes('/r0 ')).length >= 2 ? l : undefined;
  }, 10_000, 100);
  const abortLine = lines.find((x) => x.includes('"GET /a0 HTTP/1.1"'));
  assert.ok(abortLine, lines.join('\n'));
  // [start] "method path protocol" code flags details termination "transport failure" received sent duration
  // upstream-service-time "x-forwarded-for" "user-agent" "request-id" "authority" "upstream host" cluster
  // upstream-local downstream-local downstream-remote sni route
  assert.match(abortLine, new RegExp('^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "GET /a0 HTTP/1\\.1" 418 FI \\S+ \\S+ "[^"]*" \\d+ \\d+ \\d+ \\S+ '
    + '"[^"]*" "[^"]*" "[0-9a-f-]{36}" "server:9080" "-" outbound\\|9080\\|\\|server\\.default\\.svc\\.cluster\\.local \\S+ \\S+ \\S+ \\S+ abort$'));
  const okLines = lines.filter((x) => x.includes('"GET /r0 HTTP/1.1" 200 - '));
  assert.equal(okLines.length, 2, lines.join('\n')); // one per sidecar
  assert.ok(okLines.some((x) => / outbound\|9080\|\|server\.default\.svc\.cluster\.local /.test(x)));
  assert.ok(okLines.some((x) => / inbound\|9080\|\| /.test(x)));
});
