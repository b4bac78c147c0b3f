// xds/translate: unit tests for the simulator on hand-written Envoy config (no generator involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, pickVirtualHost, routeMatches } from './simulate.ts';
import { TypeUrl } from '../../envoy/protos.ts';
import type { GeneratedConfig } from './types.ts';

const hcm = (rds: string) => ({ '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'x', rds: { route_config_name: rds, config_source: { ads: {} } } });
const listener = (name: string, address: string, port: number, chains: unknown[], extra: Record<string, unknown> = {}) =>
  ({ name, address: { socket_address: { address, port_value: port } }, filter_chains: chains, ...extra });

function config(): GeneratedConfig {
  return {
    listeners: [
      listener('virtualOutbound', '0.0.0.0', 15001, [], { use_original_dst: { value: true }, default_filter_chain: { name: 'PassthroughFilterChain', filters: [{ name: 'tcp', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'p', cluster: 'PassthroughCluster' } }] } }),
      listener('0.0.0.0_80', '0.0.0.0', 80, [{ name: 'http', filters: [{ name: 'hcm', typed_config: hcm('80') }] }], { bind_to_port: { value: false } }),
      listener('0.0.0.0_3306', '0.0.0.0', 3306, [
        { name: 'db-a', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: { value: 32 } }] }, filters: [{ name: 'tcp', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'a', cluster: 'outbound|3306||a' } }] },
        { name: 'db-any', filters: [{ name: 'tcp', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'b', weighted_clusters: { clusters: [{ name: 'x', weight: 1 }, { name: 'y', weight: 3 }] } } }] },
      ]),
      listener('0.0.0.0_443', '0.0.0.0', 443, [
        { name: 'sni-foo', filter_chain_match: { server_names: ['foo.com'], transport_protocol: 'tls' }, filters: [{ name: 'tcp', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'f', cluster: 'foo' } }] },
        { name: 'sni-wild', filter_chain_match: { server_names: ['*.bar.com'], transport_protocol: 'tls' }, filters: [{ name: 'tcp', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'b', cluster: 'bar' } }] },
      ]),
    ],
    routes: [{
      name: '80',
      virtual_hosts: [
        { name: 'exact', domains: ['a.com', 'a.com:80'], routes: [
          { name: 'case', match: { path: '/Exact', case_sensitive: { value: false } }, direct_response: { status: 204 } },
          { name: 'hdr', match: { prefix: '/', headers: [{ name: 'x-no', present_match: true, invert_match: true }, { name: 'x-v', string_match: { safe_regex: { regex: 'v[12]' } } }] }, route: { cluster: 'c-hdr', timeout: { seconds: 1, nanos: 500000000 } } },
          { name: 'q', match: { prefix: '/q', query_parameters: [{ name: 'id', string_match: { prefix: '4' } }] }, route: { cluster: 'c-q', prefix_rewrite: '/r' } },
          { name: 'rest', match: { prefix: '/' }, route: { cluster: 'c-rest', regex_rewrite: { pattern: { regex: '^/(\\w+)/(\\w+)' }, substitution: '/\\2/\\1' } } },
        ] },
        { name: 'suffix', domains: ['*.a.com'], routes: [{ name: 's', match: { prefix: '/' }, route: { cluster: 'c-suffix' } }] },
        { name: 'longer-suffix', domains: ['*.b.a.com'], routes: [{ name: 'ls', match: { prefix: '/' }, route: { cluster: 'c-longer' } }] },
        { name: 'prefix', domains: ['api.*'], routes: [{ name: 'p', match: { prefix: '/' }, route: { cluster: 'c-prefix' } }] },
        { name: 'star', domains: ['*'], routes: [{ name: 'st', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster' } }] },
      ],
    }],
    clusters: [],
    endpoints: [{ cluster_name: 'c-rest', endpoints: [
      { locality: { zone: 'z1' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.0.1', port_value: 8080 } } } }, { endpoint: { address: { socket_address: { address: '10.1.0.2', port_value: 8080 } } }, health_status: 'UNHEALTHY' }] },
      { locality: { zone: 'z2' }, priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.2.0.1', port_value: 8080 } } } }] },
    ] }],
    secrets: [],
  };
}

test('virtual host selection: exact, longest suffix wildcard, prefix wildcard, then "*"', () => {
  const vhs = (config().routes[0]!.virtual_hosts as any[]);
  assert.equal(pickVirtualHost(vhs, 'A.com')?.name, 'exact');
  assert.equal(pickVirtualHost(vhs, 'a.com:80')?.name, 'exact');
  assert.equal(pickVirtualHost(vhs, 'x.a.com')?.name, 'suffix');
  assert.equal(pickVirtualHost(vhs, 'x.b.a.com')?.name, 'longer-suffix');
  assert.equal(pickVirtualHost(vhs, 'api.example')?.name, 'prefix');
  assert.equal(pickVirtualHost(vhs, 'a.com:8080')?.name, 'star', 'a port is part of the host unless ignored');
  assert.equal(pickVirtualHost(vhs, 'a.com:8080', true)?.name, 'exact');
});

test('route matching: case-insensitive path, inverted presence, full-match regex, query prefix', () => {
  const cfg = config();
  const go = (path: string, headers: Record<string, string> = {}) => simulate(cfg, { port: 80, address: '10.9.9.9', host: 'a.com', path, headers });
  assert.equal(go('/exact').route, 'case');
  assert.deepEqual(go('/exact').directResponse, { status: 204, body: undefined });
  assert.equal(go('/x', { 'x-v': 'v1' }).cluster, 'c-hdr');
  assert.equal(go('/x', { 'x-v': 'v1', 'x-no': '' }).cluster, 'c-rest', 'inverted presence');
  assert.equal(go('/x', { 'x-v': 'v12' }).cluster, 'c-rest', 'regex must match the whole value');
  assert.equal(go('/x', { 'X-V': 'v2' }).timeoutMs, 1500, 'header names are case-insensitive');
  assert.deepEqual(go('/q/1?id=42').rewrite, { path: '/r/1?id=42' });
  assert.equal(go('/q/1?id=52').cluster, 'c-rest');
  assert.deepEqual(go('/one/two/three').rewrite, { path: '/two/one/three' });
  assert.equal(routeMatches({ safe_regex: { regex: '/a+' } }, { port: 1, host: 'h', path: '/aaa?x' }), true);
});

test('captured traffic goes through the virtual outbound listener to the port listener; unknown ports pass through', () => {
  const cfg = config();
  const r = simulate(cfg, { port: 80, address: '10.9.9.9', host: 'x.a.com', path: '/' });
  assert.equal(r.listener, '0.0.0.0_80');
  assert.equal(r.cluster, 'c-suffix');
  const p = simulate(cfg, { port: 5555, address: '10.9.9.9', host: 'x', path: '/' });
  assert.equal(p.listener, 'virtualOutbound');
  assert.equal(p.cluster, 'PassthroughCluster');
  assert.equal(p.tcp, true);
});

test('tcp filter chains by destination address and SNI; weighted tcp clusters', () => {
  const cfg = config();
  assert.equal(simulate(cfg, { port: 3306, address: '10.0.0.1', host: '', path: '' }).cluster, 'outbound|3306||a');
  assert.deepEqual(simulate(cfg, { port: 3306, address: '10.0.0.2', host: '', path: '' }).weightedClusters, [{ name: 'x', weight: 1 }, { name: 'y', weight: 3 }]);
  assert.equal(simulate(cfg, { port: 443, host: '', path: '', sni: 'foo.com' }).cluster, 'foo');
  assert.equal(simulate(cfg, { port: 443, host: '', path: '', sni: 'x.bar.com' }).cluster, 'bar');
  assert.match(simulate(cfg, { port: 443, host: '', path: '', sni: 'baz.com' }).error ?? '', /no filter chain/);
});

test('endpoints of the chosen cluster, with health and priority', () => {
  const r = simulate(config(), { port: 80, address: '10.9.9.9', host: 'a.com', path: '/a/b' });
  assert.deepEqual(r.endpoints?.map((e) => [e.address, e.healthy, e.priority]), [['10.1.0.1', true, 0], ['10.1.0.2', false, 0], ['10.2.0.1', true, 1]]);
});

test('dead ends are reported, never thrown', () => {
  const cfg = config();
  assert.match(simulate({ ...cfg, listeners: [] }, { port: 80, host: 'a', path: '/' }).error ?? '', /no listener/);
  assert.match(simulate({ ...cfg, routes: [] }, { port: 80, address: '10.9.9.9', host: 'a.com', path: '/' }).error ?? '', /route config 80 not found/);
  const noStar = { ...cfg, routes: [{ name: '80', virtual_hosts: [(cfg.routes[0]!.virtual_hosts as any[])[0]] }] };
  assert.match(simulate(noStar, { port: 80, address: '10.9.9.9', host: 'zzz', path: '/' }).error ?? '', /no virtual host/);
});
