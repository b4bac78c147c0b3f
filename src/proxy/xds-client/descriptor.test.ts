// proxy/xds-client: the pre-built descriptor has the parsed protos' wire shape, decodes resources the same, and a
// missing, stale or broken file is refused (the proxy then parses the .proto files).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { dataPlaneRoot, installDataPlaneRoot, lookupType, pack, TypeUrl, unpack } from '../../envoy/protos.ts';
import { buildDescriptor, loadDescriptor, writeDescriptor, type DescriptorFile } from './descriptor.ts';
import { adsObjectOptions } from './ads-proto.ts';

const dir = mkdtempSync(join(tmpdir(), 'rig-descriptor-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'types.json');
writeDescriptor(file);

function loaded(): protobuf.Root {
  const r = loadDescriptor(file);
  assert.ok('root' in r, 'reason' in r ? r.reason : '');
  return r.root;
}

function types(ns: protobuf.ReflectionObject, out: protobuf.Type[] = []): protobuf.Type[] {
  if (ns instanceof protobuf.Type) out.push(ns);
  if (ns instanceof protobuf.Namespace) for (const o of ns.nestedArray) types(o, out);
  return out;
}

const wire = (t: protobuf.Type): string[] => t.fieldsArray.map((f) => `${f.name}=${f.id}:${f.repeated}:${f.map ? (f as unknown as protobuf.MapField).keyType : ''}:${f.type}:${f.repeated && f.packed}`).sort();

test('every message of the descriptor has the same fields, numbers, types and packing as the parsed protos', () => {
  const pruned = loaded();
  const full = dataPlaneRoot();
  const all = types(pruned);
  assert.ok(all.length > 300, `only ${all.length} types`);
  let compared = 0;
  for (const t of all) {
    const f = full.lookup(t.fullName);
    if (!(f instanceof protobuf.Type)) continue; // the ADS messages are not in the data-plane tier
    assert.deepEqual(wire(t), wire(f), t.fullName);
    assert.deepEqual(t.oneofsArray.map((o) => `${o.name}:${o.oneof.join(',')}`), f.oneofsArray.map((o) => `${o.name}:${o.oneof.join(',')}`), t.fullName);
    compared++;
  }
  assert.ok(compared > 300, `compared ${compared}`);
  // Every typed_config the proxy decodes, and the ADS messages, are there.
  for (const url of Object.values(TypeUrl)) {
    const name = url.slice(url.lastIndexOf('/') + 1);
    if (full.lookup(name)) assert.ok(pruned.lookup(name) instanceof protobuf.Type, name);
  }
  for (const n of ['DiscoveryRequest', 'DiscoveryResponse', 'DeltaDiscoveryRequest', 'DeltaDiscoveryResponse']) {
    assert.ok(pruned.lookup(`envoy.service.discovery.v3.${n}`) instanceof protobuf.Type, n);
  }
});

test('the descriptor drops validation and annotation options (what kept the .proto text alive)', () => {
  const text = readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /validate\.rules|udpa\.annotations|java_package/);
  assert.ok(!loaded().lookup('validate.FieldRules'), 'validate.proto types are not reachable from any field');
});

const listener = {
  name: 'l1', address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
    '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'l1', rds: { route_config_name: 'r1', config_source: { ads: {} } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
  } }] }],
};
const cluster = {
  name: 'c1', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1, nanos: 500000000 },
  lb_policy: 'LEAST_REQUEST', circuit_breakers: { thresholds: [{ max_connections: { value: 7 } }] },
  transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTls, sni: 'x.example' } },
};
const route = {
  name: 'r1', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name: 'x', string_match: { exact: 'y' } }] },
    route: { cluster: 'c1', timeout: { seconds: 3 }, retry_policy: { retry_on: '5xx', num_retries: { value: 2 } } } }] }],
};
const cla = { cluster_name: 'c1', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: 3 } }] }] };

test('resources decode the same through the installed descriptor as through the parsed protos', () => {
  const samples: [string, Record<string, unknown>][] = [[TypeUrl.Listener, listener], [TypeUrl.Cluster, cluster], [TypeUrl.RouteConfiguration, route], [TypeUrl.ClusterLoadAssignment, cla]];
  const packed = samples.map(([url, o]) => pack(url, o));
  const viaProtos = packed.map((a) => unpack(a));
  installDataPlaneRoot(loaded());
  try {
    assert.equal(lookupType(TypeUrl.Cluster).root, dataPlaneRoot(), 'lookups go to the installed root');
    const viaDescriptor = packed.map((a) => unpack(a));
    assert.deepEqual(viaDescriptor, viaProtos);
    assert.equal((viaDescriptor[0].filter_chains as { filters: { typed_config: { stat_prefix: string } }[] }[])[0].filters[0].typed_config.stat_prefix, 'l1');
    // Encoding through the descriptor gives the same bytes.
    for (const [i, [url, o]] of samples.entries()) assert.deepEqual(Buffer.from(pack(url, o).value), Buffer.from(packed[i].value), url);
  } finally {
    installDataPlaneRoot(undefined);
  }
});

test('a DiscoveryResponse round-trips through the descriptor as the ADS stream sees it (Any kept packed)', () => {
  const t = loaded().lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  const any = pack(TypeUrl.Cluster, cluster);
  const bytes = t.encode(t.fromObject({ version_info: '3', type_url: TypeUrl.Cluster, nonce: 'n1', resources: [any] })).finish();
  const o = t.toObject(t.decode(bytes), adsObjectOptions) as { version_info: string; nonce: string; resources: { type_url: string; value: Uint8Array }[] };
  assert.equal(o.version_info, '3');
  assert.equal(o.nonce, 'n1');
  assert.equal(o.resources[0].type_url, TypeUrl.Cluster);
  assert.deepEqual(Buffer.from(o.resources[0].value), Buffer.from(any.value));
  assert.equal((unpack(o.resources[0]) as { name: string }).name, 'c1');
});

test('a missing, stale or broken descriptor is refused with the reason', () => {
  const missing = loadDescriptor(join(dir, 'nope.json'));
  assert.ok('reason' in missing && missing.reason === 'missing');
  const d = JSON.parse(readFileSync(file, 'utf8')) as DescriptorFile;
  const stale = join(dir, 'stale.json');
  writeFileSync(stale, JSON.stringify({ ...d, stamp: d.stamp.replace(/"protobufjs":"[^"]*"/, '"protobufjs":"0.0.1"') }));
  const s = loadDescriptor(stale);
  assert.ok('reason' in s && /stale/.test(s.reason), JSON.stringify(s));
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"stamp": ');
  const b = loadDescriptor(broken);
  assert.ok('reason' in b && /unreadable/.test(b.reason));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ stamp: d.stamp, root: { nested: { x: { fields: { a: { type: 'NoSuchType', id: 1 } } } } } }));
  const v = loadDescriptor(bad);
  assert.ok('reason' in v && /invalid/.test(v.reason), JSON.stringify(v));
});

test('buildDescriptor is deterministic (same protos, same file)', () => {
  assert.equal(JSON.stringify(buildDescriptor()), readFileSync(file, 'utf8'));
});
