// e2e (issue 3 item 2): `rig up test/fixtures/rig-up-tcp` — a client app calls echo's plain TCP port and its gRPC port
// through the ECHO_SERVICE_* variables rig up gave it. Both calls go through the client's sidecar and echo's, with
// mTLS (strict) and certificates of the mesh config's trust domain (example.org); TCP metrics on both sidecars name
// the peer workload (Istio's TCP metadata exchange); a VirtualService routes each port to a subset; a service port
// added live is reported as needing a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, printTail, rigApply, poll, RIG_UP_ANY_PORTS } from '../helpers/processes.ts';

interface Status {
  trustDomain: string;
  workloads: {
    name: string; address: string; appPort: number; metricsPort?: number; env: Record<string, string>;
    servicePorts: { service: string; port: number; name: string; protocol: string; local: string }[];
  }[];
}
interface GrpcReply { status: number; grpcStatus?: string; message: { workload: string; said: string; xfcc: string | null } | null }

async function getJson<T>(url: string): Promise<{ status: number; json: T }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, json: (await r.json()) as T };
}

/** Series of one metric in a Prometheus text page, as label maps with values. */
function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[a-z_]+\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const kv of m[1]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]!] = kv[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** A plain-text TCP exchange: what comes back for one line (empty when the peer closes without answering). */
function rawTcp(host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    let out = '';
    s.setTimeout(5000, () => s.destroy());
    s.on('connect', () => s.write(line + '\n'));
    s.on('data', (d) => { out += d.toString('utf8'); });
    s.on('close', () => resolve(out));
    s.on('error', () => { /* reset: resolved on close */ });
  });
}

const CLIENT_ID = 'spiffe://example.org/ns/default/sa/client';

test('rig up: TCP and gRPC between local workloads through both sidecars, mTLS, trust domain, routing', { timeout: 180_000 }, async (t) => {
  const up = startRig(['up', 'test/fixtures/rig-up-tcp', ...RIG_UP_ANY_PORTS], { env: { RIG_LOG_LEVEL: 'warn' } });
  const tmp = mkdtempSync(join(tmpdir(), 'rig-up-tcp-'));
  try {
    await up.waitFor(/ready\. Try:/, 90_000);
    const api = (await up.waitFor(/mesh API\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const status = (await getJson<Status>(`${api}/v1/status`)).json;
    assert.equal(status.trustDomain, 'example.org');
    const w = (n: string) => status.workloads.find((x) => x.name === n)!;
    const client = w('client');
    const tcpLocal = client.servicePorts.find((p) => p.port === 9000)!;
    const grpcLocal = client.servicePorts.find((p) => p.port === 9001)!;
    assert.deepEqual([tcpLocal.service, tcpLocal.protocol, grpcLocal.protocol], ['echo.default.svc.cluster.local', 'TCP', 'GRPC']);
    // the summary tells a user where the client's sidecar serves echo's TCP port and under which variable
    await up.waitFor(new RegExp(`client\\s+echo\\.default\\.svc\\.cluster\\.local:9000\\s+TCP\\s+${tcpLocal.local.replace(/\./g, '\\.')}\\s+ECHO_SERVICE_PORT_TCP`));

    const clientUrl = `http://127.0.0.1:${client.appPort}`;
    const env = (await getJson<Record<string, string>>(`${clientUrl}/env`)).json;
    assert.deepEqual(env, {
      ECHO_SERVICE_HOST: '127.0.0.1', ECHO_SERVICE_PORT: tcpLocal.local.split(':')[1],
      ECHO_SERVICE_PORT_TCP: tcpLocal.local.split(':')[1], ECHO_SERVICE_PORT_GRPC: grpcLocal.local.split(':')[1],
    });
    assert.deepEqual(env, client.env);

    await t.test('the TCP and gRPC calls arrive, and echo sees the client\'s SPIFFE identity of the mesh trust domain', async () => {
      const tcp = await poll(async () => { const r = await getJson<{ reply?: string }>(`${clientUrl}/tcp`); return r.status === 200 && /^echo-v[12] hello$/.test(r.json.reply ?? '') ? r.json : undefined; }, 30_000, 250);
      assert.match(tcp.reply!, /^echo-v[12] hello$/);
      const g = await poll(async () => { const r = await getJson<GrpcReply>(`${clientUrl}/grpc`); return r.status === 200 && r.json.grpcStatus === '0' ? r.json : undefined; }, 30_000, 250);
      assert.equal(g.message!.said, 'hello');
      // x-forwarded-client-cert is set by echo's sidecar from the client's mTLS certificate
      assert.match(g.message!.xfcc ?? '', new RegExp(`URI=${CLIENT_ID}(;|$)`));
      assert.match(g.message!.xfcc ?? '', /By=spiffe:\/\/example\.org\/ns\/default\/sa\/echo/);
    });

    await t.test('both sidecars count the calls; the server side with the client\'s principal over mutual TLS', async () => {
      const scrape = async (n: string) => (await fetch(`http://127.0.0.1:${w(n).metricsPort}/stats/prometheus`)).text();
      const echoPages = [await scrape('echo-v1'), await scrape('echo-v2')];
      const tcpIn = echoPages.flatMap((p) => series(p, 'istio_tcp_connections_opened_total'))
        .filter((s) => s.labels.reporter === 'destination' && s.labels.source_principal === CLIENT_ID && s.labels.connection_security_policy === 'mutual_tls');
      assert.ok(tcpIn.reduce((a, s) => a + s.value, 0) >= 1, `no inbound TCP connection from ${CLIENT_ID} over mTLS:\n${echoPages.join('\n').split('\n').filter((l) => l.startsWith('istio_tcp')).join('\n')}`);
      // Istio's TCP metadata exchange (ALPN istio-peer-exchange) told echo's sidecar who the client is
      assert.ok(tcpIn.some((s) => s.labels.source_workload === 'client' && s.labels.source_app === 'client' && s.labels.source_workload_namespace === 'default' && s.value >= 1),
        `inbound TCP series without the client's workload labels: ${JSON.stringify(tcpIn.map((s) => s.labels))}`);
      const grpcIn = echoPages.flatMap((p) => series(p, 'istio_requests_total'))
        .filter((s) => s.labels.reporter === 'destination' && s.labels.request_protocol === 'grpc' && s.labels.source_principal === CLIENT_ID
          && s.labels.source_workload === 'client' && s.labels.connection_security_policy === 'mutual_tls');
      assert.ok(grpcIn.reduce((a, s) => a + s.value, 0) >= 1, 'no inbound gRPC request from the client over mTLS');
      const clientPage = await scrape('client');
      assert.ok(series(clientPage, 'istio_tcp_connections_opened_total').some((s) => s.labels.reporter === 'source' && s.labels.destination_service === 'echo.default.svc.cluster.local'), 'client sidecar did not report the TCP connection');
      // ... and the client's sidecar who answered (echo-v1 or echo-v2's node metadata)
      const tcpOut = series(clientPage, 'istio_tcp_connections_opened_total').filter((s) => s.labels.reporter === 'source' && s.labels.destination_service === 'echo.default.svc.cluster.local');
      assert.ok(tcpOut.some((s) => /^echo(-v[12])?$/.test(s.labels.destination_workload ?? '') && s.labels.destination_app === 'echo' && s.labels.destination_version !== 'unknown'),
        `outbound TCP series without echo's workload labels: ${JSON.stringify(tcpOut.map((s) => s.labels))}`);
      assert.ok(series(clientPage, 'istio_requests_total').some((s) => s.labels.reporter === 'source' && s.labels.request_protocol === 'grpc' && s.labels.destination_app === 'echo'), 'client sidecar did not report the gRPC request');
      // STRICT mTLS: a plain-text connection straight to echo's sidecar gets no answer
      assert.doesNotMatch(await rawTcp(w('echo-v1').address, 9000, 'plain'), /echo-v1/);
    });

    await t.test('a VirtualService sends the TCP port to v2 and the gRPC port to v1', async () => {
      const vs = join(tmp, 'vs.yaml');
      writeFileSync(vs, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  tcp:
  - match: [{port: 9000}]
    route: [{destination: {host: echo.default.svc.cluster.local, subset: v2, port: {number: 9000}}}]
  http:
  - match: [{port: 9001}]
    route: [{destination: {host: echo.default.svc.cluster.local, subset: v1, port: {number: 9001}}}]
`);
      await rigApply(api, vs);
      const round = async () => {
        const tcp = (await getJson<{ reply?: string }>(`${clientUrl}/tcp`)).json.reply;
        const g = (await getJson<GrpcReply>(`${clientUrl}/grpc`)).json.message?.workload;
        return `${tcp}|${g}`;
      };
      // 20 in a row: with two endpoints each, a short streak could be the balancer's luck
      await poll(async () => { for (let i = 0; i < 20; i++) if ((await round()) !== 'echo-v2 hello|echo-v1') return false; return true; }, 30_000, 200);
    });

    await t.test('a service port added while running is reported: variables are given at start only', async () => {
      const se = join(tmp, 'se.yaml');
      writeFileSync(se, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache, namespace: default}
spec:
  hosts: [cache.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: tcp-redis, protocol: TCP}]
  workloadSelector: {labels: {app: cache}}
`);
      await rigApply(api, se);
      await up.waitFor(/service port cache\.default\.svc\.cluster\.local:6379 \(TCP\) was added after rig up started.*restart rig up/, 15_000);
      const notes = (await getJson<{ notes?: string[] }>(`${api}/v1/status`)).json.notes ?? [];
      assert.ok(notes.some((n) => n.includes('cache.default.svc.cluster.local:6379')), JSON.stringify(notes));
    });

    const code = await up.stop('SIGINT', 20_000);
    assert.equal(code, 0, up.stdout.slice(-20).join('\n'));
  } catch (e) {
    printTail(up);
    throw e;
  } finally {
    await up.stop('SIGINT', 20_000);
    rmSync(tmp, { recursive: true, force: true });
  }
});
