// proxy/config: tests for the xDS decoders, fed through a real proto encode/decode round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, TypeUrl } from '../../envoy/protos.ts';
import { decodeAny, ResourceType } from './decode.ts';
import { endpointTls } from './decode-cluster.ts';
import type { ClusterConfig, ClusterLoadAssignment, ListenerConfig, RouteConfig } from './types.ts';

function decode<T>(url: string, obj: Record<string, unknown>): { value?: T; errors?: { resource: string; field: string; message: string }[] } {
  return decodeAny(url, pack(url, obj)).result as { value?: T; errors?: { resource: string; field: string; message: string }[] };
}

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };

function hcmListener(filters: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'l1',
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [{
      filter_chain_match: { destination_port: { value: 9080 }, server_names: ['A.example.com'] },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'out', rds: { route_config_name: '9080', config_source: { ads: {} } }, http_filters: filters, ...extra },
      }],
    }],
  };
}

test('listener with HCM over RDS decodes filter chain match, filters and defaults', () => {
  const fault = { name: 'envoy.filters.http.fault', typed_config: { '@type': TypeUrl.Fault, abort: { http_status: 503, percentage: { numerator: 50, denominator: 'HUNDRED' } } } };
  const r = decode<ListenerConfig>(ResourceType.Listener, hcmListener([fault, router]));
  assert.equal(r.errors, undefined);
  const l = r.value!;
  assert.equal(l.port, 15001);
  assert.equal(l.bindToPort, true);
  const fc = l.filterChains[0]!;
  assert.equal(fc.match.destinationPort, 9080);
  assert.deepEqual(fc.match.serverNames, ['a.example.com']);
  assert.equal(fc.handler.kind, 'http');
  if (fc.handler.kind !== 'http') return;
  assert.equal(fc.handler.routeConfigName, '9080');
  assert.equal(fc.handler.streamIdleTimeoutMs, 300_000);
  assert.equal(fc.handler.stripHostPort, undefined);
  assert.deepEqual(fc.handler.httpFilters.map((f) => f.type), ['fault', 'router']);
  const f0 = fc.handler.httpFilters[0]!;
  assert.ok(f0.type === 'fault' && f0.fault.abort?.httpStatus === 503 && f0.fault.abort.percentage.numerator === 50);
});

test('unknown http filter is rejected naming the filter, unless optional', () => {
  const unknown = { name: 'acme.magic', typed_config: { '@type': TypeUrl.TlsInspector } };
  const r = decode<ListenerConfig>(ResourceType.Listener, hcmListener([unknown, router]));
  assert.ok(r.errors);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.resource, 'Listener l1');
  assert.match(r.errors[0]!.field, /filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]/);
  assert.match(r.errors[0]!.message, /acme\.magic/);
  const ok = decode<ListenerConfig>(ResourceType.Listener, hcmListener([{ ...unknown, is_optional: true }, router], { strip_any_host_port: true }));
  assert.equal(ok.errors, undefined);
  const h = ok.value!.filterChains[0]!.handler;
  assert.ok(h.kind === 'http' && h.httpFilters[0]!.type === 'skipped');
  assert.ok(h.kind === 'http' && h.stripHostPort === 'any');
});

test('router filter must be last', () => {
  const cors = { name: 'envoy.filters.http.cors', typed_config: { '@type': TypeUrl.Cors } };
  const r = decode<ListenerConfig>(ResourceType.Listener, hcmListener([router, cors]));
  assert.ok(r.errors?.some((e) => /router filter must be last/.test(e.message)));
});

test('tcp proxy listener and bind_to_port false', () => {
  const r = decode<ListenerConfig>(ResourceType.Listener, {
    name: '10.0.0.1_3306', address: { socket_address: { address: '10.0.0.1', port_value: 3306 } }, bind_to_port: { value: false },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'db', weighted_clusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }] } } }] }],
  });
  assert.equal(r.errors, undefined);
  assert.equal(r.value!.bindToPort, false);
  const h = r.value!.filterChains[0]!.handler;
  assert.ok(h.kind === 'tcp');
  assert.deepEqual(h.weightedClusters, [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }]);
  assert.equal(h.idleTimeoutMs, 3_600_000);
});

test('route configuration: matches, weighted clusters, retry, rewrites, redirect, direct response, per-filter config', () => {
  const r = decode<RouteConfig>(ResourceType.RouteConfiguration, {
    name: '9080',
    virtual_hosts: [{
      name: 'reviews:9080', domains: ['Reviews', 'reviews:9080'],
      routes: [
        {
          match: { prefix: '/api', case_sensitive: { value: false }, headers: [{ name: 'X-User', exact_match: 'jason' }, { name: 'x-b', string_match: { prefix: 'v', ignore_case: true }, invert_match: true }], query_parameters: [{ name: 'q', present_match: true }] },
          route: {
            weighted_clusters: { clusters: [{ name: 'v1', weight: { value: 80 } }, { name: 'v2', weight: { value: 20 } }] },
            timeout: { seconds: 2, nanos: 500_000_000 },
            retry_policy: { retry_on: 'gateway-error,connect-failure', num_retries: { value: 3 }, per_try_timeout: { seconds: 1 } },
            prefix_rewrite: '/v1',
            request_mirror_policies: [{ cluster: 'mirror', runtime_fraction: { default_value: { numerator: 10 } } }],
            hash_policy: [{ header: { header_name: 'X-Session' } }, { connection_properties: { source_ip: true }, terminal: true }],
          },
          typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': TypeUrl.Fault, delay: { fixed_delay: { seconds: 5 }, percentage: { numerator: 1000, denominator: 'MILLION' } } } },
        },
        { match: { path: '/old' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
        { match: { safe_regex: { regex: '^/x/[0-9]+$' } }, direct_response: { status: 418, body: { inline_string: 'teapot' } } },
        { match: { prefix: '/' }, route: { cluster: 'default' } },
      ],
    }],
  });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const vh = r.value!.virtualHosts[0]!;
  assert.deepEqual(vh.domains, ['reviews', 'reviews:9080']);
  const [a, b, c, d] = vh.routes;
  assert.equal(a!.match.caseSensitive, false);
  assert.equal(a!.match.headers[0]!.name, 'x-user');
  assert.equal(a!.match.headers[1]!.invert, true);
  assert.equal(a!.action.kind, 'route');
  if (a!.action.kind === 'route') {
    assert.equal(a!.action.timeoutMs, 2500);
    assert.equal(a!.action.cluster.kind, 'weighted');
    if (a!.action.cluster.kind === 'weighted') assert.equal(a!.action.cluster.totalWeight, 100);
    assert.deepEqual(a!.action.retryPolicy?.retryOn, ['gateway-error', 'connect-failure']);
    assert.equal(a!.action.retryPolicy?.numRetries, 3);
    assert.equal(a!.action.retryPolicy?.perTryTimeoutMs, 1000);
    assert.deepEqual(a!.action.retryPolicy?.backoff, { baseIntervalMs: 25, maxIntervalMs: 250 });
    assert.deepEqual(a!.action.mirrors[0], { cluster: 'mirror', fraction: { numerator: 10, denominator: 100 }, traceSampled: undefined });
    assert.deepEqual(a!.action.hashPolicy, [{ terminal: false, kind: 'header', headerName: 'x-session' }, { terminal: true, kind: 'sourceIp' }]);
  }
  assert.equal(a!.perFilter.fault?.delay?.fixedDelayMs, 5000);
  assert.deepEqual(a!.perFilter.fault?.delay?.percentage, { numerator: 1000, denominator: 1_000_000 });
  assert.ok(b!.action.kind === 'redirect' && b!.action.responseCode === 302 && b!.action.path === '/new');
  assert.ok(c!.action.kind === 'direct' && c!.action.status === 418 && c!.action.body === 'teapot');
  assert.ok(d!.action.kind === 'route' && d!.action.timeoutMs === 15_000 && d!.action.retryPolicy === undefined);
});

test('route configuration errors name the field: bad regex, duplicate domain, zero weights', () => {
  const r = decode<RouteConfig>(ResourceType.RouteConfiguration, {
    name: 'bad',
    virtual_hosts: [
      { name: 'a', domains: ['x.com'], routes: [{ match: { safe_regex: { regex: '([' } }, route: { cluster: 'c' } }] },
      { name: 'b', domains: ['x.com'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'c', weight: { value: 0 } }] } } }] },
    ],
  });
  assert.ok(r.errors);
  const fields = r.errors.map((e) => e.field);
  assert.ok(fields.includes('virtual_hosts[0].routes[0].match.safe_regex.regex'), fields.join());
  assert.ok(fields.includes('virtual_hosts[1].domains'));
  assert.ok(fields.includes('virtual_hosts[1].routes[0].route.weighted_clusters'));
  assert.ok(r.errors.every((e) => e.resource === 'RouteConfiguration bad'));
});

test('cluster: EDS with ring hash, breakers, outlier detection, http2 and transport socket matches', () => {
  const r = decode<ClusterConfig>(ResourceType.Cluster, {
    name: 'outbound|9080|v1|reviews.default.svc.cluster.local', type: 'EDS',
    eds_cluster_config: { service_name: 'outbound|9080|v1|reviews.default.svc.cluster.local', eds_config: { ads: {} } },
    connect_timeout: { seconds: 10 }, lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 2048 } },
    circuit_breakers: { thresholds: [{ max_connections: { value: 100 }, max_retries: { value: 0 } }] },
    outlier_detection: { consecutive_5xx: { value: 3 }, interval: { seconds: 1 }, base_ejection_time: { seconds: 60 } },
    common_lb_config: { healthy_panic_threshold: { value: 0 }, locality_weighted_lb_config: {} },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { fields: { tlsMode: { stringValue: 'istio' } } }, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTls, sni: 'outbound_.9080_.v1_.reviews', common_tls_context: { alpn_protocols: ['istio-peer-exchange', 'istio'] } } } },
      { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
  });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  const c = r.value!;
  assert.equal(c.type, 'EDS');
  assert.equal(c.connectTimeoutMs, 10_000);
  assert.deepEqual(c.ringHash, { minimumRingSize: 2048, maximumRingSize: 8 * 1024 * 1024, hashFunction: 'XX_HASH' });
  assert.equal(c.circuitBreakers[0]!.maxConnections, 100);
  assert.equal(c.circuitBreakers[0]!.maxRetries, 0);
  assert.equal(c.circuitBreakers[0]!.maxRequests, 1024);
  assert.equal(c.outlierDetection?.consecutive5xx, 3);
  assert.equal(c.outlierDetection?.baseEjectionTimeMs, 60_000);
  assert.equal(c.outlierDetection?.maxEjectionPercent, 10);
  assert.equal(c.commonLbConfig.healthyPanicThresholdPercent, 0);
  assert.equal(c.commonLbConfig.localityWeighted, true);
  assert.equal(c.http2, true);
  const ep = { address: '10.0.0.1', port: 9080, health: 'HEALTHY' as const, weight: 1, metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } };
  assert.equal(endpointTls(c, ep)?.sni, 'outbound_.9080_.v1_.reviews');
  assert.equal(endpointTls(c, { ...ep, metadata: {} }), undefined);
});

test('cluster: Http1ProtocolOptions.enable_trailers turns on request trailers to HTTP/1.1 upstreams (off by default)', () => {
  const base = { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [] } };
  const opts = (h1: Record<string, unknown>) => ({ 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http_protocol_options: h1 } } });
  assert.equal(decode<ClusterConfig>(ResourceType.Cluster, base).value?.http1EnableTrailers, undefined);
  assert.equal(decode<ClusterConfig>(ResourceType.Cluster, { ...base, typed_extension_protocol_options: opts({}) }).value?.http1EnableTrailers, undefined);
  assert.equal(decode<ClusterConfig>(ResourceType.Cluster, { ...base, typed_extension_protocol_options: opts({ enable_trailers: true }) }).value?.http1EnableTrailers, true);
  assert.equal(decode<ClusterConfig>(ResourceType.Cluster, { ...base, http_protocol_options: { enable_trailers: true } }).value?.http1EnableTrailers, true);
});

test('cluster without type is STATIC (enum zero) and unknown protocol options are rejected', () => {
  const r = decode<ClusterConfig>(ResourceType.Cluster, { name: 'static', load_assignment: { cluster_name: 'static', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }] } });
  assert.equal(r.value?.type, 'STATIC');
  assert.equal(r.value?.loadAssignment?.localities[0]?.endpoints[0]?.port, 8080);
  const bad = decode<ClusterConfig>(ResourceType.Cluster, { name: 'm', type: 'EDS', lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 100 } } });
  assert.ok(bad.errors?.some((e) => e.field === 'maglev_lb_config.table_size'));
});

test('cluster load assignment: localities, priorities, health and weights', () => {
  const r = decode<ClusterLoadAssignment>(ResourceType.ClusterLoadAssignment, {
    cluster_name: 'c',
    endpoints: [
      { locality: { region: 'r1', zone: 'z1' }, load_balancing_weight: { value: 2 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, health_status: 'HEALTHY', load_balancing_weight: { value: 5 } }] },
      { priority: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 80 } } }, health_status: 'UNHEALTHY' }] },
    ],
    policy: { overprovisioning_factor: { value: 200 } },
  });
  assert.equal(r.errors, undefined);
  const cla = r.value!;
  assert.equal(cla.overprovisioningFactor, 200);
  assert.equal(cla.localities[0]!.weight, 2);
  assert.equal(cla.localities[0]!.locality.zone, 'z1');
  assert.equal(cla.localities[0]!.endpoints[0]!.weight, 5);
  assert.equal(cla.localities[1]!.priority, 1);
  assert.equal(cla.localities[1]!.weight, undefined);
  assert.equal(cla.localities[1]!.endpoints[0]!.health, 'UNHEALTHY');
  const gap = decode<ClusterLoadAssignment>(ResourceType.ClusterLoadAssignment, { cluster_name: 'c', endpoints: [{ priority: 2, lb_endpoints: [] }] });
  assert.ok(gap.errors?.some((e) => /contiguous/.test(e.message)));
});

test('a resource of the wrong type in a response is an error, not a throw', () => {
  const any = pack(ResourceType.Cluster, { name: 'x' });
  const r = decodeAny(ResourceType.Listener, any);
  assert.ok(r.result.errors?.[0]?.message.includes('in a'));
  const garbage = decodeAny(ResourceType.Listener, { type_url: ResourceType.Listener, value: new Uint8Array([0xff, 0xff, 0xff]) });
  assert.ok(garbage.result.errors);
});
