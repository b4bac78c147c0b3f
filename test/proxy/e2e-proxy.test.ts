// test/proxy: end to end as a user runs it — Rigging's control plane serving Istio YAML, `rig proxy` as a child
// process in local mode (HTTP_PROXY-style listener), absolute-form requests routed by host:port to the backend,
// the admin API ready, and SIGTERM exiting cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../src/control-plane/index.ts';
import { startRig, poll } from '../helpers/processes.ts';
import { freePort } from '../helpers/ports.ts';
import { serviceEntry, workloadEntry } from '../helpers/fixtures.ts';
import { backend, rawExchange } from './engine-fixtures.ts';

test('rig proxy + control plane: absolute-form request through the local HTTP_PROXY listener reaches the ServiceEntry backend', async () => {
  const be = await backend((req, res) => res.end(`backend saw ${req.method} ${req.url} host=${req.headers.host} rid=${req.headers['x-request-id'] ? 'yes' : 'no'}`));
  const dir = mkdtempSync(join(tmpdir(), 'rig-e2e-proxy-'));
  writeFileSync(join(dir, 'svc.yaml'), serviceEntry('backend') + workloadEntry('backend-1', '127.0.0.1', { ports: { http: be.port }, labels: { app: 'backend' } }));
  const cp = await startControlPlane({ configDir: dir, xdsPort: 0, debugPort: 0 });
  const httpProxyPort = await freePort();
  const proxy = startRig(['proxy', '--xds-address', `127.0.0.1:${cp.xdsPort}`, '--node-id', 'sidecar~127.0.0.2~client.default~default.svc.cluster.local',
    '--metadata', 'NAMESPACE=default', '--metadata', 'LABELS={"app":"client"}', '--metadata', `RIG_HTTP_PROXY_PORT=${httpProxyPort}`, '--admin-port', '0', '--drain-ms', '500'],
  { env: { RIG_LOG_LEVEL: 'warn' } });
  try {
    const m = await proxy.waitFor(/admin on 127\.0\.0\.1:(\d+)/);
    const admin = Number(m[1]);
    await poll(async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200, 15000);
    const out = await poll(async () => {
      const t = await rawExchange(httpProxyPort, 'GET http://backend:9080/hello?x=1 HTTP/1.1\r\nHost: backend:9080\r\nConnection: close\r\n\r\n', () => false);
      return t.startsWith('HTTP/1.1 200') ? t : undefined;
    }, 10000);
    assert.match(out, /backend saw GET \/hello\?x=1 host=backend:9080 rid=yes/);
    assert.match(out, /x-envoy-upstream-service-time: \d+/);
    // An unknown host:port: no route, as Envoy answers.
    const miss = await rawExchange(httpProxyPort, 'GET http://nowhere:1234/ HTTP/1.1\r\nConnection: close\r\n\r\n', () => false);
    assert.match(miss, /^HTTP\/1\.1 (404|502|503)/);
    const clusters = await (await fetch(`http://127.0.0.1:${admin}/clusters`)).text();
    assert.match(clusters, new RegExp(`outbound\\|9080\\|\\|backend\\.default\\.svc\\.cluster\\.local::127\\.0\\.0\\.1:${be.port}::health_flags::healthy`));
    const stats = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
    assert.match(stats, /rig\.downstream_rq_2xx: [1-9]/);
    assert.equal(await proxy.stop('SIGTERM', 8000), 0);
  } finally {
    await proxy.stop('SIGKILL');
    await cp.close();
    await be.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
