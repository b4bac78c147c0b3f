// test/golden: Telemetry accessLogging -> HCM / tcp_proxy access_log, as goldens (test/golden/telemetry-accesslog/)
// plus the semantics they must show (scoping, per-provider override, CLIENT/SERVER, gateways = CLIENT, unsupported
// providers and CEL), and the proxy's own decoder evaluating the translated filters. RIG_UPDATE_GOLDEN=1 rewrites goldens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGoldenInput, contextFor, makeProxy, normalizeConfig, assertGolden, parseValidConfig } from '../../helpers/golden.ts';
import { generate } from '../../../src/xds/translate/generate.ts';
import { assertDecodes } from '../../helpers/decodes.ts';
import { telemetryIssues } from '../../../src/xds/translate/telemetry/index.ts';
import { normalize, TypeUrl } from '../../../src/envoy/protos.ts';
import { decodeListener } from '../../../src/proxy/config/decode.ts';
import { compileLogFilter, type AccessLogEntry } from '../../../src/proxy/telemetry/access-log.ts';
import type { EnvoyResource, GeneratedConfig } from '../../../src/xds/translate/types.ts';

const cart = { name: 'cart-1', namespace: 'shop', ip: '10.5.0.1', labels: { app: 'cart' } };
const orders = { name: 'orders-1', namespace: 'shop', ip: '10.5.0.2', labels: { app: 'orders' } };
const gateway = { type: 'router' as const, name: 'istio-ingressgateway-1', namespace: 'istio-system', ip: '10.1.0.2', labels: { istio: 'ingressgateway' } };

type Log = { name: string; filter?: Record<string, any>; typed_config: Record<string, any> };
/** Every HCM / tcp_proxy's access logs, keyed "<direction> <filter name> <stat_prefix>". */
function logs(cfg: GeneratedConfig): Map<string, Log[]> {
  const out = new Map<string, Log[]>();
  for (const l of cfg.listeners) {
    const chains = [...((l.filter_chains as EnvoyResource[] | undefined) ?? []), ...(l.default_filter_chain ? [l.default_filter_chain as EnvoyResource] : [])];
    for (const c of chains) {
      for (const f of (c.filters as EnvoyResource[]) ?? []) {
        const tc = f.typed_config as Record<string, any>;
        if (!String(f.name).endsWith('http_connection_manager') && !String(f.name).endsWith('tcp_proxy')) continue;
        const kind = String(f.name).endsWith('tcp_proxy') ? 'tcp' : 'http';
        out.set(`${l.traffic_direction} ${kind} ${tc.stat_prefix}`, tc.access_log ?? []);
      }
    }
  }
  return out;
}
const paths = (ls: Log[]) => ls.map((x) => x.typed_config.path).sort();
function bySide(cfg: GeneratedConfig, dir: 'INBOUND' | 'OUTBOUND', kind?: 'tcp' | 'http'): Log[][] {
  return [...logs(cfg)].filter(([k]) => k.startsWith(dir) && (!kind || k.split(' ')[1] === kind)).map(([, v]) => v);
}

/** The proxy's decoder + evaluator on a generated logger: which of `entries` it would log. */
function proxyFilter(l: Log): (e: Partial<AccessLogEntry>) => boolean {
  const listener = { name: 'x', address: { socket_address: { address: '0.0.0.0', port_value: 1 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 's', cluster: 'c', access_log: [l] } }] }] };
  const r = decodeListener(normalize(TypeUrl.Listener, listener));
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const cfg = r.value!.filterChains[0]!.handler.accessLog[0]!;
  if (!cfg.logFilter) return () => true;
  const f = compileLogFilter(cfg.logFilter);
  return (e) => f({ startMs: 0, flags: '-', bytesReceived: 0, bytesSent: 0, durationMs: 0, ...e } as AccessLogEntry);
}
const hdrs = (h: Record<string, string>) => (n: string) => h[n];

test('golden telemetry-accesslog: scoping, per-provider override, CLIENT/SERVER, gateways, HTTP and TCP', () => {
  const ctx = contextFor(loadGoldenInput('telemetry-accesslog'));
  for (const [name, spec] of Object.entries({ cart, orders, gateway })) {
    const cfg = generate(ctx, makeProxy(spec));
    assertGolden('telemetry-accesslog', name, normalizeConfig({ listeners: cfg.listeners }));
    assertDecodes(name, cfg);
  }
  const c = generate(ctx, makeProxy(cart));
  const cOut = bySide(c, 'OUTBOUND');
  assert.ok(bySide(c, 'OUTBOUND', 'tcp').length > 0 && bySide(c, 'OUTBOUND', 'http').length > 0);
  for (const ls of cOut) {
    // the workload Telemetry disabled envoy on CLIENT and added text-err, whose CEL is untranslatable: unfiltered
    assert.deepEqual(paths(ls), ['/dev/stderr']);
    assert.equal(ls[0]!.filter, undefined);
    assert.equal(ls[0]!.typed_config.log_format.text_format_source.inline_string, '%RESPONSE_CODE% %DURATION%\n');
  }
  const cIn = bySide(c, 'INBOUND');
  assert.ok(bySide(c, 'INBOUND', 'tcp').length > 0 && bySide(c, 'INBOUND', 'http').length > 0);
  for (const ls of cIn) {
    // SERVER: the namespace level names json-file (and otel-als, which emits nothing) for SERVER, so the mesh-wide
    // envoy provider is out of scope there
    assert.deepEqual(paths(ls), ['/var/log/rig/access.json']);
    const json = ls[0]!;
    assert.equal(json.filter, undefined);
    assert.deepEqual(Object.keys(json.typed_config.log_format.json_format.fields).sort(), ['code', 'flags', 'path']);
  }
  // orders is not selected by cart-logs: CLIENT keeps the mesh-wide envoy logger with its errors-only filter
  for (const ls of bySide(generate(ctx, makeProxy(orders)), 'OUTBOUND')) {
    assert.deepEqual(paths(ls), ['/dev/stdout']);
    const envoy = ls[0]!;
    assert.match(envoy.typed_config.log_format.text_format_source.inline_string, /^\[%START_TIME%\] "%REQ\(:METHOD\)% /);
    const keep = proxyFilter(envoy);
    assert.equal(keep({ status: 404 }), true);
    assert.equal(keep({ status: 200 }), false);
  }
  // the gateway's listeners are CLIENT; its workload Telemetry names json-file, which replaces envoy
  const g = bySide(generate(ctx, makeProxy(gateway)), 'OUTBOUND');
  assert.ok(g.length > 0);
  for (const ls of g) {
    assert.deepEqual(paths(ls), ['/var/log/rig/access.json']);
    const keep = proxyFilter(ls[0]!);
    assert.equal(keep({ status: 200, req: hdrs({ 'x-debug': 'on' }) }), true);
    assert.equal(keep({ status: 502, req: hdrs({}) }), true);
    assert.equal(keep({ status: 404, req: hdrs({ 'x-debug': 'off' }) }), false);
  }
  // both unsupported things are reported, naming object and field
  const issues = telemetryIssues(ctx.snapshot, (h) => ctx.serviceByHost(h)).filter((i) => i.code === 'RIG308');
  assert.deepEqual(issues.map((i) => [i.name, i.path]), [
    ['shop/cart-logs', 'spec.accessLogging[1].filter.expression'],
    ['shop/shop', 'spec.accessLogging[1].providers[0].name'],
  ]);
  assert.match(issues[0]!.message, /filter expression not supported: .*startsWith.*logged without this filter/);
  assert.match(issues[1]!.message, /otel-als is of type envoyOtelAls; only envoyFileAccessLog is supported/);
});

const mesh = (m: string, extra = '') => contextFor(parseValidConfig(`apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
${m.split('\n').map((l) => `    ${l}`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: default}
spec:
  hosts: [a.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1, labels: {app: a}}]
${extra}`, 'inline.yaml'));
const proxyA = () => makeProxy({ name: 'a', ip: '10.0.0.1', labels: { app: 'a' } });
const all = (ctx: ReturnType<typeof mesh>) => [...logs(generate(ctx, proxyA())).values()];

test('no Telemetry and no default provider: MeshConfig accessLogFile still logs; nothing otherwise', () => {
  for (const ls of all(mesh('accessLogFile: /dev/stdout\naccessLogEncoding: JSON'))) {
    assert.deepEqual(paths(ls), ['/dev/stdout']);
    assert.ok(ls[0]!.typed_config.log_format.json_format);
  }
  for (const ls of all(mesh('accessLogFile: ""'))) assert.deepEqual(ls, []);
});

test('MeshConfig accessLogFile uses the same format as the built-in envoy provider (Istio: one default), HTTP and TCP', () => {
  const tcpSvc = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  addresses: [10.9.0.1]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.0.0.9}]`;
  const formats = (ctx: ReturnType<typeof mesh>) => [...logs(generate(ctx, proxyA()))].map(([k, ls]) => [k, ls.map((l) => l.typed_config.log_format)]);
  for (const settings of ['', 'accessLogEncoding: JSON', 'accessLogFormat: "%RESPONSE_CODE% %UPSTREAM_CLUSTER%"',
    'accessLogEncoding: JSON\naccessLogFormat: \'{"code": "%RESPONSE_CODE%"}\'']) {
    const legacy = formats(mesh(`accessLogFile: /tmp/legacy.log\n${settings}`, tcpSvc));
    const provider = formats(mesh(`defaultProviders: {accessLogging: [envoy]}\n${settings}`, tcpSvc));
    assert.ok(legacy.some(([k]) => String(k).includes(' tcp ')), 'a tcp_proxy is covered');
    assert.deepEqual(legacy, provider, settings || 'defaults');
  }
  const text = formats(mesh('accessLogFile: /tmp/legacy.log'))[0]![1] as Array<Record<string, any>>;
  assert.match(text[0]!.text_format_source.inline_string, /%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%/, "Istio's default, not a shorter one of our own");
});

test('defaultProviders.accessLogging logs everywhere; a Telemetry with no providers means the defaults; disabled wins later', () => {
  const d = all(mesh('defaultProviders: {accessLogging: [envoy]}\naccessLogEncoding: JSON'));
  assert.ok(d.length > 0);
  for (const ls of d) {
    assert.deepEqual(paths(ls), ['/dev/stdout']);
    assert.equal(ls[0]!.typed_config.log_format.json_format.fields.response_code.stringValue, '%RESPONSE_CODE%');
  }
  const tel = `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  accessLogging: [{filter: {expression: "response.code >= 500"}}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ns, namespace: default}
spec:
  accessLogging: [{match: {mode: SERVER}, disabled: true}]`;
  const ctx = mesh('defaultProviders: {accessLogging: [envoy]}\naccessLogFile: /tmp/legacy.log', tel);
  const cfg = generate(ctx, proxyA());
  for (const ls of bySide(cfg, 'OUTBOUND')) {
    // the Telemetry path replaces the MeshConfig file; no providers -> the default envoy, with the mesh-wide filter
    assert.deepEqual(paths(ls), ['/dev/stdout']);
    assert.equal(proxyFilter(ls[0]!)({ status: 500 }), true);
    assert.equal(proxyFilter(ls[0]!)({ status: 499 }), false);
  }
  for (const ls of bySide(cfg, 'INBOUND')) assert.deepEqual(ls, [], 'namespace Telemetry disabled SERVER logging');
  // another namespace sees only the mesh-wide Telemetry
  const other = generate(ctx, makeProxy({ name: 'b', namespace: 'other', ip: '10.0.0.2' }));
  for (const ls of bySide(other, 'INBOUND')) assert.deepEqual(paths(ls), ['/dev/stdout']);
});

test('an unknown provider is reported from defaultProviders and Telemetry, and emits nothing', () => {
  const ctx = mesh('defaultProviders: {accessLogging: [nope]}', `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t, namespace: default}
spec:
  accessLogging: [{providers: [{name: ghost}, {name: envoy}]}]`);
  for (const ls of all(ctx)) assert.deepEqual(paths(ls), ['/dev/stdout']);
  const issues = telemetryIssues(ctx.snapshot, (h) => ctx.serviceByHost(h));
  assert.deepEqual(issues.map((i) => [i.kind, i.name, i.path, i.code]), [
    ['Telemetry', 'default/t', 'spec.accessLogging[0].providers[0].name', 'RIG308'],
    ['ConfigMap', 'istio', 'data.mesh.defaultProviders.accessLogging[0]', 'RIG308'],
  ]);
  assert.match(issues[0]!.message, /ghost is not defined in meshConfig\.extensionProviders/);
});

test("Istio's merge: a more specific level naming providers replaces the parent's; a later entry wins per provider", () => {
  const m = `extensionProviders:
- {name: file-a, envoyFileAccessLog: {path: /tmp/a.log}}
- {name: file-b, envoyFileAccessLog: {path: /tmp/b.log}}`;
  const ctx = mesh(m, `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  accessLogging: [{providers: [{name: envoy}, {name: file-a}]}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ns, namespace: default}
spec:
  accessLogging:
  - {match: {mode: CLIENT}, providers: [{name: file-b}], filter: {expression: "response.code == 418"}}
  - {match: {mode: CLIENT_AND_SERVER}, filter: {expression: "response.code >= 500"}}`);
  const cfg = generate(ctx, proxyA());
  // CLIENT: the namespace names file-b, so envoy and file-a (mesh-wide) are out; the second entry names no providers,
  // inherits file-b from the entry before it and, being later, its filter wins
  for (const ls of bySide(cfg, 'OUTBOUND')) {
    assert.deepEqual(paths(ls), ['/tmp/b.log']);
    assert.equal(proxyFilter(ls[0]!)({ status: 503 }), true);
    assert.equal(proxyFilter(ls[0]!)({ status: 418 }), false);
  }
  // SERVER: nothing at the namespace level names a provider for SERVER, so the mesh-wide pair stays in scope, but the
  // inherited list (file-b) is not among them: envoy and file-a log everything
  for (const ls of bySide(cfg, 'INBOUND')) {
    assert.deepEqual(paths(ls), ['/dev/stdout', '/tmp/a.log']);
    assert.ok(ls.every((x) => x.filter === undefined));
  }
});
