// envoy: the proto root loads in tiers — decoding xDS resources (what a proxy does) never parses the service and
// bootstrap definitions; asking for those loads the rest into the same root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPlaneRoot, envoyRoot, lookupType, normalize, pack, unpack, TypeUrl } from './protos.ts';

test('data-plane types load without the bootstrap and service definitions', () => {
  lookupType(TypeUrl.Listener);
  assert.equal(dataPlaneRoot().lookup('envoy.config.bootstrap.v3.Bootstrap'), null);
  assert.equal(dataPlaneRoot().lookup('envoy.service.discovery.v3.DiscoveryResponse'), null);
});

test('a Listener with nested typed_configs round-trips on the data-plane tier', () => {
  const listener = {
    name: 'l1',
    address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in', rds: { route_config_name: 'r', config_source: { ads: {} } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
    } }] }],
  };
  const out = unpack(pack(TypeUrl.Listener, listener)) as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
  const hcm = out.filter_chains[0].filters[0].typed_config;
  assert.equal(hcm['@type'], TypeUrl.HttpConnectionManager);
  assert.equal(hcm.stat_prefix, 'in');
  assert.deepEqual((hcm.http_filters as { typed_config: unknown }[])[0].typed_config, { '@type': TypeUrl.Router });
  assert.equal(dataPlaneRoot().lookup('envoy.config.bootstrap.v3.Bootstrap'), null);
});

test('types outside the data plane load the rest on demand, into the same root', () => {
  const t = lookupType('type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap');
  assert.equal(t.fullName, '.envoy.config.bootstrap.v3.Bootstrap');
  assert.equal(envoyRoot(), dataPlaneRoot());
  assert.ok(envoyRoot().lookup('envoy.service.discovery.v3.DiscoveryResponse'));
  const b = normalize('type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap', { node: { id: 'n1' } });
  assert.deepEqual(b, { node: { id: 'n1' } });
  // Types loaded earlier still work after the second tier joined the root.
  assert.equal((unpack(pack(TypeUrl.Cluster, { name: 'c', type: 'EDS' })) as { type: string }).type, 'EDS');
});
