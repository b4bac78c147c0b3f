// control-plane: wiring test with a hand-made store and pipeline — store changes push new config to a
// connected client; the debug API shows sync state, config dump, configz issues, readiness and metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigEvent, ConfigObject, ConfigStore, ValidationIssue } from '../config/types.ts';
import { startControlPlane } from './control-plane.ts';
import type { Pipeline } from './pipeline.ts';
import { RawAdsClient, makeNode, namesOf } from '../xds/server/ads-client.ts';
import { TypeUrl } from '../envoy/protos.ts';
import { logger } from '../common/logger.ts';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { objectsFromYaml, ZIPKIN_COLLECTOR_YAML, ZIPKIN_PROVIDER_MESH_YAML } from '../model/test-helpers.ts';

class TestStore implements ConfigStore {
  objects: ConfigObject[] = [];
  problems: ValidationIssue[] = [];
  private handlers = new Set<(e: ConfigEvent[]) => void>();
  list(): ConfigObject[] { return this.objects; }
  get(): ConfigObject | undefined { return undefined; }
  watch(h: (e: ConfigEvent[]) => void): () => void { this.handlers.add(h); return () => this.handlers.delete(h); }
  issues(): ValidationIssue[] { return this.problems; }
  async close(): Promise<void> {}
  set(objs: ConfigObject[]): void {
    this.objects = objs;
    for (const h of this.handlers) h(objs.map((object) => ({ type: 'update' as const, object })));
  }
}

// One cluster per object, named after it: enough to see config flow through.
const pipeline: Pipeline = {
  build: (objects) => () => ({
    listeners: [], routes: [], endpoints: [], secrets: [],
    clusters: objects.map((o) => ({ name: `outbound|80||${o.metadata.name}.default.svc.cluster.local`, type: 'STATIC' })),
  }),
};
const obj = (name: string): ConfigObject => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: 'default' }, spec: {} });

test('store changes reach clients; debug API reports them', async () => {
  const log = logger('test');
  log.level = 'silent';
  const store = new TestStore();
  store.objects = [obj('a')];
  const cp = await startControlPlane({ store, pipeline, xdsPort: 0, debugPort: 0, debounceMs: 1, debounceMaxMs: 5, logger: log });
  const c = new RawAdsClient(`127.0.0.1:${cp.xdsPort}`);
  const base = `http://127.0.0.1:${cp.debugPort}`;
  try {
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    c.send({ node: makeNode('sidecar~127.0.0.1~app.default~default.svc.cluster.local'), type_url: TypeUrl.Cluster });
    const r1 = await c.next();
    assert.deepEqual(namesOf(r1?.resources), ['outbound|80||a.default.svc.cluster.local']);
    c.ack(r1!);
    store.problems = [{ severity: 'error', code: 'RIG103', file: 'bad.yaml', document: 1, kind: 'VirtualService', name: 'default/x', path: 'spec.http[0].route[0].weight', message: 'weights must sum to 100' }];
    store.set([obj('a'), obj('b')]);
    const r2 = await c.next();
    assert.deepEqual(namesOf(r2?.resources).sort(), ['outbound|80||a.default.svc.cluster.local', 'outbound|80||b.default.svc.cluster.local']);
    c.ack(r2!);
    await new Promise((r) => setTimeout(r, 50));
    const syncz = await (await fetch(`${base}/debug/syncz`)).json() as { proxyId: string; types: { type: string; state: string }[] }[];
    assert.equal(syncz.length, 1);
    assert.equal(syncz[0]!.proxyId, 'sidecar~127.0.0.1~app.default~default.svc.cluster.local');
    assert.deepEqual(syncz[0]!.types.map((t) => [t.type, t.state]), [['clusters', 'SYNCED']]);
    const dump = await (await fetch(`${base}/debug/config_dump?proxyID=app.default`)).json() as { resources: { clusters: { name: string }[] } };
    assert.equal(dump.resources.clusters.length, 2);
    assert.equal((await fetch(`${base}/debug/config_dump?proxyID=nope`)).status, 404);
    const configz = await (await fetch(`${base}/debug/configz`)).json() as { objects: unknown[]; issues: ValidationIssue[] };
    assert.equal(configz.objects.length, 2);
    assert.equal(configz.issues[0]!.file, 'bad.yaml');
    assert.equal(configz.issues[0]!.path, 'spec.http[0].route[0].weight');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^pilot_xds 1$/m);
    assert.match(metrics, /^pilot_xds_pushes\{type="clusters"\} 2$/m);
  } finally {
    c.close();
    await cp.close();
  }
});

test('telemetry issues (tracing providers, access logs) show in /debug/configz and are logged once per change, naming the Telemetry', async () => {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  const log = pino({ level: 'info' }, sink);
  const store = new TestStore();
  const base = objectsFromYaml(`${ZIPKIN_PROVIDER_MESH_YAML}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{providers: [{name: zipkin}]}]
`, 'mesh.yaml');
  const collector = objectsFromYaml(ZIPKIN_COLLECTOR_YAML, 'zipkin.yaml');
  // an access-log filter Rigging does not translate: reported in the same list
  const logs = objectsFromYaml(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: logs, namespace: default}
spec:
  accessLogging: [{providers: [{name: envoy}], filter: {expression: "request.url_path.startsWith('/x')"}}]
`, 'logs.yaml');
  store.objects = base;
  const cp = await startControlPlane({ store, xdsPort: 0, debugPort: 0, debounceMs: 1, debounceMaxMs: 5, logger: log });
  type Configz = { telemetryIssues: ValidationIssue[]; tracingIssues: ValidationIssue[] };
  const configz = async () => (await (await fetch(`http://127.0.0.1:${cp.debugPort}/debug/configz`)).json()) as Configz;
  const warned = () => lines.filter((l) => l.level === 40 && l.msg.startsWith('translation issue:'));
  const where = (i: ValidationIssue) => [i.code, i.kind, i.name, i.path];
  try {
    const z1 = await configz();
    assert.deepEqual(z1.telemetryIssues.map(where), [['RIG307', 'Telemetry', 'istio-system/mesh-default', 'spec.tracing[0].providers[0].name']]);
    assert.match(z1.telemetryIssues[0]!.message, /could not find service zipkin\.istio-system\.svc\.cluster\.local/);
    assert.deepEqual(z1.tracingIssues, z1.telemetryIssues, 'the deprecated name is an alias of the same list');
    assert.equal(warned().length, 1);
    assert.match(warned()[0]!.msg, /RIG307.*Telemetry istio-system\/mesh-default spec\.tracing\[0\]\.providers\[0\]\.name/);
    store.set([...base]); // same problem again: not logged again
    assert.equal(warned().length, 1);
    store.set([...base, ...collector]); // the service appears: resolved
    assert.deepEqual((await configz()).telemetryIssues, []);
    assert.equal(lines.filter((l) => l.msg.startsWith('translation issue resolved:')).length, 1);
    store.set([...base, ...collector, ...logs]); // an access-log issue: in telemetryIssues (and the alias) and logged
    const z2 = await configz();
    assert.deepEqual(z2.telemetryIssues.map(where), [['RIG308', 'Telemetry', 'default/logs', 'spec.accessLogging[0].filter.expression']]);
    assert.deepEqual(z2.tracingIssues, z2.telemetryIssues);
    assert.equal(warned().length, 2);
    assert.match(warned()[1]!.msg, /RIG308.*Telemetry default\/logs spec\.accessLogging\[0\]\.filter\.expression/);
  } finally {
    await cp.close();
  }
});

test('each built snapshot is exposed once, to snapshot listeners, with the version the xDS server got', async () => {
  const log = logger('test');
  log.level = 'silent';
  const store = new TestStore();
  store.objects = objectsFromYaml(ZIPKIN_COLLECTOR_YAML, 'zipkin.yaml');
  const cp = await startControlPlane({ store, xdsPort: 0, debugPort: 0, debounceMs: 1, debounceMaxMs: 5, logger: log });
  try {
    const first = cp.snapshot!;
    assert.equal(first.version, cp.version);
    assert.ok(first.services.some((s) => s.hostname === 'zipkin.istio-system.svc.cluster.local'));
    const seen: Array<{ version: string; hosts: string[] }> = [];
    const off = cp.onSnapshot((s) => seen.push({ version: s.version, hosts: s.services.map((x) => x.hostname).sort() }));
    cp.onSnapshot(() => { throw new Error('a broken listener'); }); // logged; neither the push nor other listeners suffer
    store.set([]);
    assert.equal(seen.length, 1, 'one snapshot per change: the one the control plane built');
    assert.deepEqual(seen[0], { version: cp.version, hosts: [] });
    assert.equal(cp.snapshot!.version, cp.version);
    off();
    store.set(store.objects);
    assert.equal(seen.length, 1, 'unsubscribed');
  } finally {
    await cp.close();
  }
});

test('a pipeline that exposes no snapshot leaves ControlPlane.snapshot undefined', async () => {
  const log = logger('test');
  log.level = 'silent';
  const cp = await startControlPlane({ store: new TestStore(), pipeline, xdsPort: 0, debugPort: 0, logger: log });
  try {
    assert.equal(cp.snapshot, undefined);
  } finally {
    await cp.close();
  }
});
