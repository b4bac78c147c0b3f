// e2e (access logging): a control plane, a client sidecar and a backend sidecar with its app as real processes. A
// mesh-wide Telemetry enables the built-in `envoy` provider with filter `response.code >= 400`: only failing requests
// are written to the proxies' stdout (the client's fault abort on CLIENT, the app's 500 on the backend's SERVER side);
// a live edit disabling it stops the lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh, serviceEntry } from '../helpers/mesh.ts';
import { startApp } from '../helpers/apps.ts';
import { poll } from '../helpers/processes.ts';

const CONFIG = serviceEntry('backend') + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend]
  http:
  - match: [{headers: {x-test: {exact: abort}}}]
    fault: {abort: {percentage: {value: 100}, httpStatus: 503}}
    route: [{destination: {host: backend}}]
  - route: [{destination: {host: backend}}]
---
`;

const telemetry = (disabled: boolean) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - providers: [{name: envoy}]
    disabled: ${disabled}
    filter: {expression: "response.code >= 400"}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('Telemetry envoy provider with response.code >= 400 logs only failing requests to stdout; disabling stops it', { timeout: 90_000 }, async (t) => {
  const backend = await startApp('backend');
  let mesh: Mesh | undefined;
  t.after(async () => { await mesh?.stop(); await backend.close(); });
  mesh = await Mesh.start({
    config: CONFIG + telemetry(false),
    workloads: [
      { name: 'client', labels: { app: 'client' } },
      { name: 'backend', labels: { app: 'backend' }, app: backend },
    ],
  });
  const m = mesh;
  const out = (name: string, needle: string) => m.w(name).proxy.stdout.filter((l) => l.includes(needle));
  await m.waitRoutable('client', 'http://backend:9080/warmup', 30_000);

  for (let i = 0; i < 3; i++) assert.equal((await m.request('client', `http://backend:9080/ok-${i}`)).status, 200);
  const ab = await m.request('client', 'http://backend:9080/aborted', { headers: { 'x-test': 'abort', 'x-request-id': 'rid-abort-1' } });
  assert.equal(ab.status, 503);
  backend.set({ failFirst: 1, failStatus: 500 });
  assert.equal((await m.request('client', 'http://backend:9080/app-fails', { headers: { 'x-request-id': 'rid-500-1' } })).status, 500);

  // CLIENT side: the client's sidecar logs the abort (Istio's text format: method, path, code, flags, request id)
  const [abortLine] = await poll(() => { const l = out('client', 'rid-abort-1'); return l.length ? l : undefined; }, 10_000, 100);
  assert.match(abortLine!, /^\[\d{4}-\d\d-\d\dT[^\]]+\] "GET \/aborted HTTP\/1\.1" 503 FI /);
  // SERVER side: the backend's sidecar logs the app's 500 on its inbound listener (and the client's outbound too)
  const [srvLine] = await poll(() => { const l = out('backend', 'rid-500-1'); return l.length ? l : undefined; }, 10_000, 100);
  assert.match(srvLine!, /"GET \/app-fails HTTP\/1\.1" 500 - /);
  assert.match(srvLine!, /inbound\|9080\|/);
  await poll(() => (out('client', 'rid-500-1').length ? true : undefined), 10_000, 100);
  // successful requests are filtered out everywhere (the 503 and 500 lines above were flushed after them)
  for (const w of ['client', 'backend']) {
    assert.deepEqual(out(w, '/ok-'), [], `${w} logged a 200`);
    // the warm-up polls until a 200: a 503 while the backend's sidecar is still starting is a failure and may be logged
    assert.deepEqual(out(w, '/warmup').filter((l) => /" 200 /.test(l)), [], `${w} logged the warmup's 200`);
  }
  assert.equal(out('backend', 'rid-abort-1').length, 0, 'the abort never reached the backend');

  // Live edit: disabled -> failing requests are no longer logged.
  // the applied listener config carries the translated filter (status_code_filter's runtime key) until the edit lands
  assert.match(await m.admin('client', '/config_dump'), /access_log\.status_code/);
  m.writeConfig('mesh.yaml', CONFIG + telemetry(true));
  await poll(async () => (/access_log\.status_code/.test(await m.admin('client', '/config_dump')) ? undefined : true), 20_000, 200);
  for (let i = 0; i < 3; i++) {
    const r = await m.request('client', 'http://backend:9080/after', { headers: { 'x-test': 'abort', 'x-request-id': `rid-after-${i}` } });
    assert.equal(r.status, 503);
  }
  await sleep(1000);
  assert.deepEqual(out('client', 'rid-after-'), [], 'logging was disabled');
});
