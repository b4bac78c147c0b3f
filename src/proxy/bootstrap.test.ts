// proxy/bootstrap: tests for reading an Envoy-shaped bootstrap and CLI flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrap, parseBootstrapText, resolveBootstrap } from './bootstrap.ts';
import { isRigError } from '../common/errors.ts';

const yamlDoc = `
node:
  id: sidecar~10.0.0.7~reviews-v1.default~default.svc.cluster.local
  cluster: reviews.default
  metadata: { NAMESPACE: default, LABELS: { app: reviews, version: v1 } }
  locality: { region: r1, zone: z1 }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }]
  lds_config: { ads: {} }
  cds_config: { ads: {} }
static_resources:
  clusters:
    - name: xds-grpc
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: xds-grpc
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 15010 } } } }] }]
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 15500 } } }
`;

test('reads node, ADS address through the static cluster, and admin from a YAML bootstrap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-bootstrap-'));
  try {
    const f = join(dir, 'b.yaml');
    writeFileSync(f, yamlDoc);
    const b = loadBootstrap({ bootstrap: f });
    assert.equal(b.node.id, 'sidecar~10.0.0.7~reviews-v1.default~default.svc.cluster.local');
    assert.equal(b.node.cluster, 'reviews.default');
    assert.deepEqual(b.node.metadata.LABELS, { app: 'reviews', version: 'v1' });
    assert.deepEqual(b.node.locality, { region: 'r1', zone: 'z1', subZone: undefined });
    assert.deepEqual(b.xds, { host: '127.0.0.1', port: 15010 });
    assert.deepEqual(b.admin, { address: '127.0.0.1', port: 15500 });
    assert.equal(b.protocol, 'sotw');
    // Flags override the file.
    const o = loadBootstrap({ bootstrap: f, xdsAddress: 'cp:15012', adminPort: 0, metadata: ['EXTRA=1', 'LABELS={"app":"x"}'] });
    assert.deepEqual(o.xds, { host: 'cp', port: 15012 });
    assert.equal(o.admin.port, 0);
    assert.equal(o.node.metadata.EXTRA, '1');
    assert.deepEqual(o.node.metadata.LABELS, { app: 'x' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flags alone are enough; JSON works too', () => {
  const r = resolveBootstrap(undefined, { xdsAddress: '[::1]:15010', nodeId: 'router~1.2.3.4~gw.ns~ns.svc.cluster.local' });
  assert.deepEqual(r.value?.xds, { host: '::1', port: 15010 });
  assert.equal(r.value?.admin.port, 15000);
  const j = resolveBootstrap(JSON.parse('{"node":{"id":"n"},"dynamic_resources":{"ads_config":{"api_type":"DELTA_GRPC","grpc_services":[{"google_grpc":{"target_uri":"localhost:9000"}}]}}}'));
  assert.deepEqual(j.value?.xds, { host: 'localhost', port: 9000 });
  assert.equal(j.value?.protocol, 'delta');
  const rest = resolveBootstrap({ node: { id: 'n' }, dynamic_resources: { ads_config: { api_type: 'REST', grpc_services: [{ google_grpc: { target_uri: 'a:1' } }] } } });
  assert.deepEqual(rest.errors?.map((e) => e.field), ['dynamic_resources.ads_config.api_type']);
});

test('every problem is reported with its field', () => {
  const r = resolveBootstrap({ node: {}, dynamic_resources: { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] } }, admin: { address: {} } }, { metadata: ['novalue'] });
  assert.ok(r.errors);
  const fields = r.errors.map((e) => e.field).sort();
  assert.deepEqual(fields, ['--metadata[0]', '--node-id', 'admin.address.socket_address', 'static_resources.clusters']);
  const bad = resolveBootstrap(undefined, { nodeId: 'n', xdsAddress: 'nohost' });
  assert.deepEqual(bad.errors?.map((e) => e.field), ['--xds-address']);
  const none = resolveBootstrap(undefined, { nodeId: 'n' });
  assert.match(none.errors![0]!.message, /--xds-address/);
});

test('loadBootstrap throws a RigError with code PROXY_BOOTSTRAP naming the file and field', () => {
  assert.throws(() => loadBootstrap({ nodeId: 'n', xdsAddress: 'x:0' }), (e: unknown) => isRigError(e) && e.code === 'RIG403' && /--xds-address/.test(e.message));
  assert.throws(() => loadBootstrap({ bootstrap: '/nonexistent/b.yaml' }), (e: unknown) => isRigError(e) && /cannot read/.test(e.message));
});

test('bootstrap text: JSON (what rig up writes) and YAML parse to the same document; bad text is an error, not a throw', () => {
  const json = parseBootstrapText('{"node": {"id": "a~1.2.3.4~b.c~c.svc.cluster.local", "cluster": "b"}, "admin": {"address": {"socket_address": {"port_value": 15000}}}}');
  const yaml = parseBootstrapText('node: {id: a~1.2.3.4~b.c~c.svc.cluster.local, cluster: b}\nadmin:\n  address: {socket_address: {port_value: 15000}}\n');
  assert.deepEqual(json.doc, yaml.doc);
  assert.equal((json.doc as { node: { cluster: string } }).node.cluster, 'b');
  assert.match(parseBootstrapText('node: [unclosed').error ?? '', /./);
});
