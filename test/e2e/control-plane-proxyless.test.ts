// test/e2e: the "must show" — `rig control-plane` as a child process serving a ServiceEntry/WorkloadEntry
// registry to the real @grpc/grpc-js-xds client: calls reach backends; weighted split; header match to a
// subset; fault abort; retries; live edits with no restart; an invalid edit is reported while routing holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startGrpcBackend, EchoClient, hello, type Backend } from '../helpers/grpc-backend.ts';
import { startRig, poll, runRig, type RigProcess } from '../helpers/processes.ts';

const HOST = 'reviews.default.svc.cluster.local';
const TARGET = `xds:///${HOST}:9080`;
let dir = '';
let cp: RigProcess;
let debugAddr = '';
const backends: Record<string, Backend> = {};
let anchor: grpc.Client | undefined;

const serviceEntry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: reviews } }
`;
const workloadEntry = (v: string, port: number) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-${v}, namespace: default }
spec:
  address: 127.0.0.1
  ports: { grpc: ${port} }
  labels: { app: reviews, version: ${v} }
`;
const destinationRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${HOST}
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }
`;
const vs = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  http:
${http}`;
const dest = (subset: string, weight?: number) => `{ destination: { host: ${HOST}, subset: ${subset}, port: { number: 9080 } }${weight === undefined ? '' : `, weight: ${weight}`} }`;

function writeVs(http: string): void { writeFileSync(join(dir, 'virtual-service.yaml'), vs(http)); }

/** n calls on a fresh channel (grpc-js-xds may cache a channel's config); returns versions or error codes. */
async function calls(n: number, metadata?: Record<string, string>): Promise<string[]> {
  const client = new EchoClient(TARGET, grpc.credentials.createInsecure());
  try {
    const out: string[] = [];
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => hello(client, metadata)));
      out.push(...batch.map((r) => r.reply?.version ?? `error:${r.error?.code}`));
    }
    return out;
  } finally { client.close(); }
}
/** Barrier: the control plane generated route config matching `has` and the client ACKed it. */
async function routesSynced(has: string, hasNot?: string): Promise<void> {
  await poll(async () => {
    const dump = await (await fetch(`http://${debugAddr}/debug/config_dump?proxyID=client.default`)).json() as { resources?: { routes: unknown[] } };
    const text = JSON.stringify(dump.resources?.routes ?? []);
    if (!text.includes(has) || (hasNot && text.includes(hasNot))) return false;
    const syncz = await (await fetch(`http://${debugAddr}/debug/syncz`)).json() as { proxyId: string; types: { type: string; state: string }[] }[];
    return syncz.some((st) => st.proxyId.includes('~client.default~') && st.types.find((x) => x.type === 'routes')?.state === 'SYNCED');
  }, 15000, 100);
}
const count = (xs: string[], v: string) => xs.filter((x) => x === v).length;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rig-cp-e2e-'));
  for (const v of ['v1', 'v2', 'v3']) backends[v] = await startGrpcBackend(v);
  writeFileSync(join(dir, 'service-entry.yaml'), serviceEntry);
  writeFileSync(join(dir, 'workload-entries.yaml'), ['v1', 'v2', 'v3'].map((v) => workloadEntry(v, backends[v]!.port)).join('---\n'));
  writeFileSync(join(dir, 'destination-rule.yaml'), destinationRule);
  cp = startRig(['control-plane', '--config', dir, '--xds-port', '0', '--debug-port', '0'], { env: { RIG_LOG_LEVEL: 'info', RIG_DEBOUNCE_MS: '20', RIG_DEBOUNCE_MAX_MS: '200' } });
  const xds = await cp.waitFor(/xDS \(ADS gRPC\) listening on 127\.0\.0\.1:(\d+)/);
  const dbg = await cp.waitFor(/debug API listening on http:\/\/(127\.0\.0\.1:\d+)/);
  debugAddr = dbg[1]!;
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xds[1]}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' }, locality: {} },
  });
  grpcXds.register();
  // grpc-js-xds ends its ADS stream when the last channel stops watching, and a stream restarted while
  // the old one is still closing can lose the client's state (its handleAdsStreamEnd clears the new
  // stream). One channel kept open for the whole test keeps a single stream up, as a real app would.
  anchor = new EchoClient(TARGET, grpc.credentials.createInsecure());
  await poll(async () => (await hello(anchor!)).reply, 15000, 100); // a channel watches only once used
});

after(async () => {
  anchor?.close();
  const code = await cp?.stop('SIGTERM');
  await Promise.all(Object.values(backends).map((b) => b.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, `control plane exit code on SIGTERM\n${cp?.stderr.slice(-20).join('\n')}`);
});

test('proxyless gRPC: routing driven live by Istio config', async (t) => {
  await t.test('calls reach every backend of the ServiceEntry', async () => {
    // One channel: round robin only spreads over subchannels once they have all connected.
    const client = new EchoClient(TARGET, grpc.credentials.createInsecure());
    const seen = new Set<string>();
    try {
      await poll(async () => {
        const r = await hello(client);
        seen.add(r.reply?.version ?? `error:${r.error?.code}`);
        return ['v1', 'v2', 'v3'].every((v) => seen.has(v));
      }, 15000, 20).catch((e) => { throw new Error(`${e.message}; seen: ${[...seen]}`); });
    } finally { client.close(); }
    assert.deepEqual([...seen].filter((v) => v.startsWith('v')).sort(), ['v1', 'v2', 'v3']);
  });

  await t.test('a short name (xds:///reviews:9080) is served too, generated on demand', async () => {
    const client = new EchoClient('xds:///reviews:9080', grpc.credentials.createInsecure());
    try {
      const r = await poll(async () => (await hello(client)).reply, 15000, 100);
      assert.match(r.version, /^v[123]$/);
    } finally { client.close(); }
  });

  await t.test('a header match routes to a DestinationRule subset', async () => {
    writeVs(`  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [${dest('v3')}]
  - route: [${dest('v1')}]
`);
    await routesSynced('"end-user"');
    await poll(async () => (await calls(5, { 'end-user': 'jason' })).every((x) => x === 'v3'), 15000, 200);
    assert.deepEqual(new Set(await calls(20)), new Set(['v1']));
    assert.deepEqual(new Set(await calls(20, { 'end-user': 'jason' })), new Set(['v3']));
    assert.deepEqual(new Set(await calls(20, { 'end-user': 'bob' })), new Set(['v1']));
  });

  await t.test('an 80/20 weighted route splits 1,000 calls within ±5%', async () => {
    writeVs(`  - route: [${dest('v1', 80)}, ${dest('v2', 20)}]
`);
    await routesSynced('weighted_clusters', '"end-user"');
    await poll(async () => (await calls(40)).includes('v2'), 15000, 200);
    const r = await calls(1000);
    assert.equal(count(r, 'v1') + count(r, 'v2'), 1000, `all calls succeed: ${[...new Set(r)]}`);
    assert.ok(Math.abs(count(r, 'v1') - 800) <= 50, `v1 got ${count(r, 'v1')} of 1000`);
  });

  await t.test('a fault abort returns the configured status', async () => {
    writeVs(`  - match: [{ headers: { x-fault: { exact: abort } } }]
    fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
    route: [${dest('v1')}]
  - route: [${dest('v2')}]
`);
    await routesSynced('"x-fault"');
    await poll(async () => (await calls(5, { 'x-fault': 'abort' })).every((x) => x === `error:${grpc.status.UNAVAILABLE}`), 15000, 200);
    const got = await calls(10);
    if (!got.every((x) => x === 'v2')) {
      const syncz = await (await fetch(`http://${debugAddr}/debug/syncz`)).text();
      const dump = await (await fetch(`http://${debugAddr}/debug/config_dump?proxyID=client.default`)).json() as any;
      process.stderr.write(`DIAG ${got}\n${syncz}\nEDS ${JSON.stringify(dump.resources?.endpoints?.map((e: any) => [e.cluster_name, e.endpoints?.[0]?.lb_endpoints?.length]))}\n${cp.stderr.filter((l) => /stale|rate|NACK|warn|connect/i.test(l)).slice(-30).join('\n')}\n`);
    }
    assert.deepEqual(new Set(got), new Set(['v2']));
    const before = backends.v1!.calls;
    const r = await calls(10, { 'x-fault': 'abort' });
    assert.deepEqual(new Set(r), new Set([`error:${grpc.status.UNAVAILABLE}`]));
    assert.equal(backends.v1!.calls, before, 'aborted calls never reach the backend');
  });

  await t.test('a retry policy retries failed attempts', async () => {
    writeVs(`  - route: [${dest('v3')}]
    retries: { attempts: 3, retryOn: unavailable }
`);
    await routesSynced('outbound|9080|v3|', '"x-fault"');
    await poll(async () => (await calls(10)).every((x) => x === 'v3'), 15000, 200);
    const b = backends.v3!;
    const before = b.calls;
    b.failNext(2);
    const r = await calls(1);
    assert.deepEqual(r, ['v3'], 'the call succeeds after retries');
    assert.equal(b.calls - before, 3, 'two failed attempts and one success at the backend');
  });

  await t.test('an invalid edit is reported and routing keeps working', async () => {
    writeFileSync(join(dir, 'virtual-service.yaml'), vs(`  - route: [${dest('v1', 150)}, { destination: { host: ${HOST}, subset: v2 }, weight: -50 }]
`));
    const configz = await poll(async () => {
      const body = await (await fetch(`http://${debugAddr}/debug/configz`)).json() as { issues: { file?: string; path: string; severity: string }[] };
      return body.issues.some((i) => i.severity === 'error' && (i.file ?? '').endsWith('virtual-service.yaml')) ? body : undefined;
    }, 15000, 200);
    const issue = configz.issues.find((i) => i.severity === 'error' && (i.file ?? '').endsWith('virtual-service.yaml'))!;
    assert.match(issue.path, /^spec\.http\[0\]\.route\[\d\]\.weight$|^spec\.http\[0\]\.route$/);
    // ...and logged by the control plane with file, document and path.
    await cp.waitFor(new RegExp(`config issue: error \\[RIG\\d+\\] \\S*virtual-service\\.yaml doc 0 .*${issue.path.replace(/[[\].]/g, '\\$&')}`), 5000);
    assert.deepEqual(new Set(await calls(20)), new Set(['v3']), 'the last good VirtualService keeps serving');
  });

  await t.test('rig proxy-status and proxy-config read the debug API', async () => {
    // grpc-js-xds closes its ADS stream when no channel watches anything: keep one open.
    const client = new EchoClient(TARGET, grpc.credentials.createInsecure());
    t.after(() => client.close());
    assert.ok((await hello(client)).reply);
    const ps = await runRig(['proxy-status', '--debug-addr', debugAddr]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^NAME\s+TYPE\s+CDS\s+LDS\s+EDS\s+RDS/m);
    assert.match(ps.stdout, /client\.default\s+proxyless\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
    const routes = await runRig(['proxy-config', 'client.default', 'routes', '--debug-addr', debugAddr]);
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(routes.stdout, new RegExp(`outbound\\|9080\\|\\|${HOST.replace(/\./g, '\\.')}\\s+${HOST.replace(/\./g, '\\.')}:9080\\s.*\\s/\\*\\s+outbound\\|9080\\|v3\\|.*reviews\\.default`));
    const pc = await runRig(['proxy-config', 'client.default', 'endpoints', '--debug-addr', debugAddr]);
    assert.equal(pc.code, 0, pc.stderr);
    for (const v of ['v1', 'v2', 'v3']) assert.match(pc.stdout, new RegExp(`127\\.0\\.0\\.1:${backends[v]!.port}\\s+HEALTHY`));
    const json = await runRig(['proxy-config', 'client.default', 'clusters', '-o', 'json', '--debug-addr', debugAddr]);
    assert.ok((JSON.parse(json.stdout) as { name: string }[]).some((c) => c.name === `outbound|9080|v3|${HOST}`));
    const missing = await runRig(['proxy-config', 'nobody.default', 'clusters', '--debug-addr', debugAddr]);
    assert.equal(missing.code, 1);
  });
});
