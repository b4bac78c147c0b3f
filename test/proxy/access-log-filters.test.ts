// test/proxy: Envoy AccessLogFilter end to end — decoded from a proto round trip (NACKs naming the field for filter
// types the proxy does not implement), then applied by a real listener writing access-log files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, TypeUrl } from '../../src/envoy/protos.ts';
import { decodeAny, ResourceType } from '../../src/proxy/config/decode.ts';
import type { AccessLogConfig, DecodeError, ListenerConfig } from '../../src/proxy/config/types.ts';
import { compileRouter } from '../../src/proxy/router/index.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { ProxyTelemetry } from '../../src/proxy/telemetry/index.ts';
import { backend, cluster, snapshot } from './engine-fixtures.ts';

const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

function fileLog(path: string, filter?: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': FILE_LOG, path, log_format: { text_format_source: { inline_string: '%RESPONSE_CODE% %REQ(:PATH)% %RESPONSE_FLAGS%\n' } } },
    ...(filter ? { filter } : {}),
  };
}

function listenerWith(accessLog: unknown[]): Record<string, unknown> {
  return {
    name: 'l1',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in',
          route_config: {
            name: 'local',
            virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [
              { match: { prefix: '/missing' }, route: { cluster: 'no-such-cluster' } },
              { match: { prefix: '/' }, route: { cluster: 'c' } },
            ] }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
          access_log: accessLog,
        },
      }],
    }],
  };
}

function decodeListener(l: Record<string, unknown>): { value?: ListenerConfig; errors?: DecodeError[] } {
  return decodeAny(ResourceType.Listener, pack(ResourceType.Listener, l)).result as { value?: ListenerConfig; errors?: DecodeError[] };
}

function logsOf(l: ListenerConfig): AccessLogConfig[] {
  const h = l.filterChains[0]!.handler;
  assert.equal(h.kind, 'http');
  return h.kind === 'http' ? h.accessLog : [];
}

const ge500 = { status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'log.min_status' } } } };

test('every implemented filter type decodes from the proto form, nested and/or included', () => {
  const filter = {
    or_filter: {
      filters: [
        { and_filter: { filters: [ge500, { not_health_check_filter: {} }] } },
        { duration_filter: { comparison: { op: 'GE', value: { default_value: 1000, runtime_key: 'log.slow' } } } },
        { header_filter: { header: { name: 'X-Debug', present_match: true } } },
        { response_flag_filter: { flags: ['UO', 'NR'] } },
        { grpc_status_filter: { statuses: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'], exclude: false } },
        { runtime_filter: { runtime_key: 'log.sample', percent_sampled: { numerator: 10, denominator: 'TEN_THOUSAND' }, use_independent_randomness: true } },
        { traceable_filter: {} },
      ],
    },
  };
  const r = decodeListener(listenerWith([fileLog('/tmp/x.log', filter)]));
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const lf = logsOf(r.value!)[0]!.logFilter!;
  assert.equal(lf.kind, 'or');
  if (lf.kind !== 'or') return;
  assert.deepEqual(lf.filters[0], { kind: 'and', filters: [{ kind: 'status_code', op: 'GE', value: 500 }, { kind: 'not_health_check' }] });
  assert.deepEqual(lf.filters[1], { kind: 'duration', op: 'GE', value: 1000 });
  assert.deepEqual(lf.filters[2], { kind: 'header', header: { name: 'x-debug', invert: false, treatMissingAsEmpty: false, match: { kind: 'present', present: true } } });
  assert.deepEqual(lf.filters[3], { kind: 'response_flag', flags: ['UO', 'NR'] });
  assert.deepEqual(lf.filters[4], { kind: 'grpc_status', statuses: [14, 4], exclude: false });
  assert.deepEqual(lf.filters[5], { kind: 'runtime', runtimeKey: 'log.sample', percent: { numerator: 10, denominator: 10_000 }, independentRandomness: true });
  assert.deepEqual(lf.filters[6], { kind: 'traceable' });
  // EQ is the proto's zero value: an op left out compares for equality.
  const eq = decodeListener(listenerWith([fileLog('/tmp/x.log', { status_code_filter: { comparison: { value: { default_value: 404, runtime_key: 'k' } } } })]));
  assert.deepEqual(logsOf(eq.value!)[0]!.logFilter, { kind: 'status_code', op: 'EQ', value: 404 });
});

test('filters the proxy does not implement, and invalid ones, NACK the listener with the field path', () => {
  const cases: Array<[Record<string, unknown>, RegExp, RegExp]> = [
    [{ extension_filter: { name: 'envoy.access_loggers.extension_filters.cel', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } } }, /access_log\[0\]\.filter\.extension_filter$/, /not supported/],
    [{ metadata_filter: { match_if_key_not_found: { value: true } } }, /access_log\[0\]\.filter\.metadata_filter$/, /not supported/],
    [{ log_type_filter: { types: ['DownstreamEnd'] } }, /access_log\[0\]\.filter\.log_type_filter$/, /not supported/],
    [{ and_filter: { filters: [ge500, { metadata_filter: {} }] } }, /access_log\[0\]\.filter\.and_filter\.filters\[1\]\.metadata_filter$/, /not supported/],
    [{ or_filter: { filters: [ge500] } }, /access_log\[0\]\.filter\.or_filter\.filters$/, /at least 2/],
    [{ runtime_filter: { percent_sampled: { numerator: 5 } } }, /access_log\[0\]\.filter\.runtime_filter\.runtime_key$/, /must not be empty/],
    [{ status_code_filter: {} }, /access_log\[0\]\.filter\.status_code_filter\.comparison$/, /required/],
    [{ duration_filter: { comparison: { op: 'GE', value: { default_value: 5 } } } }, /duration_filter\.comparison\.value\.runtime_key$/, /must not be empty/],
    [{ header_filter: {} }, /access_log\[0\]\.filter\.header_filter\.header$/, /required/],
  ];
  for (const [filter, field, message] of cases) {
    const r = decodeListener(listenerWith([fileLog('/tmp/x.log', filter)]));
    assert.ok(r.errors && r.errors.length > 0, `expected a NACK for ${JSON.stringify(filter)}`);
    assert.ok(r.errors.some((e) => field.test(e.field) && message.test(e.message)), `${JSON.stringify(filter)}: ${JSON.stringify(r.errors)}`);
    assert.equal(r.value, undefined);
  }
});

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    r.on('error', reject);
    r.end();
  });
}

test('a real listener writes only the requests each logger\'s filter accepts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-alf-'));
  const be = await backend((req, res) => { res.statusCode = req.url?.startsWith('/fail') ? 503 : 200; res.end('x'); });
  const telemetry = new ProxyTelemetry({ node: { id: 'sidecar~127.0.0.1~app-1.ns~ns.svc.cluster.local', metadata: { NAMESPACE: 'ns', WORKLOAD_NAME: 'app' } } });
  const engine = new Engine({ compileRouter: (rc) => compileRouter(rc), telemetry });
  t.after(async () => { engine.close(); await be.close(); await telemetry.close(); rmSync(dir, { recursive: true, force: true }); });

  const paths = { all: join(dir, 'all.log'), interesting: join(dir, 'interesting.log'), flagged: join(dir, 'flagged.log'), none: join(dir, 'none.log') };
  const r = decodeListener(listenerWith([
    fileLog(paths.all),
    fileLog(paths.interesting, { or_filter: { filters: [ge500, { header_filter: { header: { name: 'x-debug', present_match: true } } }] } }),
    fileLog(paths.flagged, { response_flag_filter: {} }),
    fileLog(paths.none, { runtime_filter: { runtime_key: 'off', percent_sampled: { numerator: 0 } } }),
  ]));
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  await engine.apply(snapshot([r.value!], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const port = engine.portOf('l1')!;

  assert.equal(await get(port, '/ok'), 200);
  assert.equal(await get(port, '/fail'), 503);
  assert.equal(await get(port, '/debug', { 'x-debug': '1' }), 200);
  assert.equal(await get(port, '/missing'), 503); // no such cluster: NC
  await telemetry.close();

  const lines = (p: string): string[] => { try { return readFileSync(p, 'utf8').trimEnd().split('\n').filter(Boolean); } catch { return []; } };
  assert.deepEqual(lines(paths.all), ['200 /ok -', '503 /fail -', '200 /debug -', '503 /missing NC']);
  // 5xx or an x-debug header: /ok is the only request left out.
  assert.deepEqual(lines(paths.interesting), ['503 /fail -', '200 /debug -', '503 /missing NC']);
  assert.deepEqual(lines(paths.flagged), ['503 /missing NC']);
  assert.deepEqual(lines(paths.none), []);
});
