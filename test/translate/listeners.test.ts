// test: listener translation — local-mode metadata, sidecar outbound/inbound shapes, TCP routing by
// VirtualService, REGISTRY_ONLY, HCM filter order and access logs, gateways, proxyless gRPC listener names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFor, makeProxy, parseValidConfig, normalizeConfig } from '../helpers/golden.ts';
import { generate, generateListeners, missingReferences } from '../../src/xds/translate/generate.ts';
import { localMode } from '../../src/xds/translate/listeners/local-mode.ts';
import { referencedRouteNames } from '../../src/xds/translate/listeners/index.ts';
import type { EnvoyResource } from '../../src/xds/translate/types.ts';

type Any = Record<string, any>;
const listener = (list: EnvoyResource[], name: string): Any => {
  const l = list.find((x) => x.name === name);
  assert.ok(l, `no listener ${name}; have ${list.map((x) => x.name).join(', ')}`);
  return l as Any;
};
const filtersOf = (l: Any): Any[] => l.filter_chains.flatMap((fc: Any) => fc.filters.map((f: Any) => f.typed_config));

test('local mode: metadata as JSON strings or objects; bad entries skipped; absent = captured shape', () => {
  const p = makeProxy({ name: 'a', metadata: { RIG_HTTP_PROXY_PORT: '15080', RIG_INBOUND_PORTS: '{"9080": 19080, "x": 1, "9090": 70000}', RIG_TCP_PORTS: { 'db:5432': 16000, 'nocolon': 1 } } });
  const lm = localMode(p)!;
  assert.equal(lm.httpProxyPort, 15080);
  assert.deepEqual([...lm.inboundPorts!], [[9080, 19080]]);
  assert.deepEqual(lm.tcpPorts, [{ host: 'db', port: 5432, localPort: 16000 }]);
  assert.equal(localMode(makeProxy({ name: 'b' })), undefined);
  assert.equal(localMode(makeProxy({ name: 'c', metadata: { RIG_INBOUND_PORTS: 'not json' } })), undefined);
});

const YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 15001, name: http-odd, protocol: HTTP}]
  endpoints: [{address: 10.0.0.1, labels: {app: web}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache, namespace: default}
spec:
  hosts: [cache.default.svc.cluster.local]
  addresses: [10.96.5.5]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: TCP}]
  endpoints: [{address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache-b, namespace: default}
spec:
  hosts: [cache-b.default.svc.cluster.local]
  addresses: [10.96.5.6]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: TCP}]
  endpoints: [{address: 10.0.0.3}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cache, namespace: default}
spec:
  hosts: [cache.default.svc.cluster.local]
  tcp:
  - match: [{sourceLabels: {app: canary}}]
    route: [{destination: {host: cache-b}}]
  - route: [{destination: {host: cache}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cache-b, namespace: default}
spec:
  host: cache-b.default.svc.cluster.local
  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 30s}}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  addresses: [10.96.7.7]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 7070, name: grpc, protocol: GRPC}, {number: 7071, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.0.0.4}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    accessLogFile: /var/log/access.log
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`;

test('sidecar: virtual listeners, per-port listeners not bound, reserved ports skipped, REGISTRY_ONLY blackholes', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const ls = generateListeners(ctx, makeProxy({ name: 'web-1', ip: '10.0.0.1', labels: { app: 'web' } }));
  const vo = listener(ls, 'virtualOutbound');
  assert.equal(vo.address.socket_address.port_value, 15001);
  assert.deepEqual(vo.use_original_dst, { value: true });
  assert.equal(filtersOf(vo)[0].cluster, 'BlackHoleCluster');
  assert.ok(!ls.some((l) => l.name === '0.0.0.0_15001'), 'a service port equal to 15001 must not shadow virtualOutbound');
  const http = listener(ls, '0.0.0.0_80');
  assert.deepEqual(http.bind_to_port, { value: false });
  const hcm = filtersOf(http)[0];
  assert.equal(hcm.rds.route_config_name, '80');
  assert.deepEqual(hcm.rds.config_source, { ads: {}, resource_api_version: 'V3' });
  assert.deepEqual(hcm.http_filters.map((f: Any) => f.name), ['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.router']);
  assert.equal(hcm.access_log[0].typed_config.path, '/var/log/access.log');
  assert.ok(hcm.access_log[0].typed_config.log_format.text_format_source.inline_string.includes('%RESPONSE_FLAGS%'));
  assert.equal(hcm.use_remote_address, undefined, 'sidecars keep the caller address');
  const vi = listener(ls, 'virtualInbound');
  const chain = vi.filter_chains.find((fc: Any) => fc.filter_chain_match?.destination_port?.value === 80);
  assert.ok(chain, 'inbound chain for the workload port');
  assert.equal(chain.filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster, 'inbound|80||');
});

test('TCP services sharing a port: one chain per VIP; tcp routes applied per source labels', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const clusterFor = (labels: Record<string, string>, vip: string) => {
    const l = listener(generateListeners(ctx, makeProxy({ name: 'x', labels })), '0.0.0.0_6379');
    const fc = l.filter_chains.find((c: Any) => c.filter_chain_match?.prefix_ranges?.[0]?.address_prefix === vip);
    assert.ok(fc, `chain for ${vip}`);
    return fc.filters[0].typed_config.cluster;
  };
  assert.equal(clusterFor({ app: 'canary' }, '10.96.5.5'), 'outbound|6379||cache-b.default.svc.cluster.local');
  assert.equal(clusterFor({ app: 'other' }, '10.96.5.5'), 'outbound|6379||cache.default.svc.cluster.local');
  assert.equal(clusterFor({ app: 'other' }, '10.96.5.6'), 'outbound|6379||cache-b.default.svc.cluster.local');
  // the destination's DestinationRule tcp.idleTimeout goes on the tcp_proxy
  const l = listener(generateListeners(ctx, makeProxy({ name: 'x' })), '0.0.0.0_6379');
  const idle = (vip: string) => l.filter_chains.find((c: Any) => c.filter_chain_match?.prefix_ranges?.[0]?.address_prefix === vip).filters[0].typed_config.idle_timeout;
  assert.deepEqual(idle('10.96.5.6'), { seconds: 30, nanos: 0 });
  assert.equal(idle('10.96.5.5'), undefined);
});

test('gateway: use_remote_address and RDS http.<port>; server bind; no gateway selects -> no listeners', () => {
  const yaml = `${YAML}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {app: gw}
  servers:
  - {port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 9000, name: http-local, protocol: HTTP}, hosts: ["*"], bind: 127.0.0.1}
`;
  const ctx = contextFor(parseValidConfig(yaml, 'g.yaml'));
  const ls = generateListeners(ctx, makeProxy({ type: 'router', name: 'gw-1', labels: { app: 'gw' } }));
  const hcm = filtersOf(listener(ls, '0.0.0.0_8080'))[0];
  assert.equal(hcm.rds.route_config_name, 'http.8080');
  assert.deepEqual(hcm.use_remote_address, { value: true });
  // a server with bind gets a listener on that address
  assert.deepEqual(listener(ls, '127.0.0.1_9000').address.socket_address, { address: '127.0.0.1', port_value: 9000 });
  assert.deepEqual(generateListeners(ctx, makeProxy({ type: 'router', name: 'gw-2', labels: { app: 'other' } })), []);
});

test('proxyless gRPC: listeners named as requested, short names expanded in the client namespace', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const proxy = makeProxy({ name: 'g', metadata: { GENERATOR: 'grpc' } });
  const all = generateListeners(ctx, proxy).map((l) => l.name);
  assert.ok(all.includes('echo.default.svc.cluster.local:7070'));
  assert.ok(!all.includes('echo.default.svc.cluster.local:7071'), 'TCP ports are not offered unless asked for');
  const named = generateListeners(ctx, proxy, ['echo:7070', 'echo.default:7070', 'echo.default.svc.cluster.local:7070', 'missing:1', 'echo:9999']);
  assert.deepEqual(named.map((l) => l.name), ['echo:7070', 'echo.default:7070', 'echo.default.svc.cluster.local:7070']);
  const api = (named[0] as Any).api_listener.api_listener;
  assert.equal(api.rds.route_config_name, 'outbound|7070||echo.default.svc.cluster.local');
  assert.equal(api.http_filters.at(-1).name, 'envoy.filters.http.router');
  assert.deepEqual((named[0] as Any).address.socket_address, { address: '10.96.7.7', port_value: 7070 });
  assert.deepEqual(referencedRouteNames(named), ['outbound|7070||echo.default.svc.cluster.local']);
});

test('local mode: HTTP_PROXY listener, inbound on the proxy IP, TCP port to an unknown service blackholed', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const proxy = makeProxy({ name: 'web-1', ip: '10.0.0.1', labels: { app: 'web' }, metadata: { RIG_HTTP_PROXY_PORT: 15080, RIG_INBOUND_PORTS: { 80: 18080, 9000: 19000 }, RIG_TCP_PORTS: { 'cache:6379': 16379, 'nosuch:1': 16380, 'web:80': 16381 } } });
  const ls = generateListeners(ctx, proxy);
  assert.deepEqual(ls.map((l) => l.name).sort(), ['10.0.0.1_80', '10.0.0.1_9000', '127.0.0.1_15080', '127.0.0.1_16379', '127.0.0.1_16380', '127.0.0.1_16381']);
  assert.equal(filtersOf(listener(ls, '127.0.0.1_15080'))[0].rds.route_config_name, 'http_proxy');
  assert.equal(filtersOf(listener(ls, '127.0.0.1_16379'))[0].cluster, 'outbound|6379||cache.default.svc.cluster.local');
  assert.equal(filtersOf(listener(ls, '127.0.0.1_16380'))[0].cluster, 'BlackHoleCluster');
  // an HTTP service on its own port: the single-service route config answering any Host
  assert.equal(filtersOf(listener(ls, '127.0.0.1_16381'))[0].rds.route_config_name, 'web.default.svc.cluster.local:80');
  const cfg = generate(ctx, proxy);
  assert.deepEqual(missingReferences(cfg).routes, []);
  const inb = listener(ls, '10.0.0.1_80');
  assert.deepEqual(inb.address.socket_address, { address: '10.0.0.1', port_value: 80 });
  assert.equal(inb.traffic_direction, 'INBOUND');
  // the port serves an HTTP service: HCM with the inline inbound route
  assert.equal(filtersOf(inb)[0].route_config.virtual_hosts[0].routes[0].route.cluster, 'inbound|80||');
  // a port no service declares is proxied as TCP
  assert.equal(filtersOf(listener(ls, '10.0.0.1_9000'))[0].cluster, 'inbound|9000||');
});

test('proxyless gRPC server: inbound listener by name with a non-forwarding route, router only', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const proxy = makeProxy({ name: 'g', metadata: { GENERATOR: 'grpc' } });
  const [l, ...rest] = generateListeners(ctx, proxy, ['xds.istio.io/grpc/lds/inbound/[::]:7070', 'xds.istio.io/grpc/lds/inbound/bad']) as Any[];
  assert.equal(rest.length, 0, 'a name without a port yields nothing');
  assert.equal(l!.name, 'xds.istio.io/grpc/lds/inbound/[::]:7070');
  assert.deepEqual(l!.address.socket_address, { address: '::', port_value: 7070 });
  const hcm = filtersOf(l!)[0];
  assert.deepEqual(hcm.route_config.virtual_hosts[0].routes[0], { match: { prefix: '/' }, non_forwarding_action: {} });
  assert.deepEqual(hcm.http_filters.map((f: Any) => f.name), ['envoy.filters.http.router']);
  assert.deepEqual(normalizeConfig({ listeners: [l!] }).listeners!.length, 1);
});

test('local mode: a repeated listener address is emitted once', () => {
  const ctx = contextFor(parseValidConfig(YAML, 'l.yaml'));
  const proxy = makeProxy({ name: 'lo', ip: '127.0.0.1', metadata: { RIG_INBOUND_PORTS: { 16379: 18000 }, RIG_TCP_PORTS: { 'cache:6379': 16379 } } });
  const names = generateListeners(ctx, proxy).map((l) => l.name);
  assert.deepEqual(names, ['127.0.0.1_16379']);
});

test('gateway AUTO_PASSTHROUGH: one SNI chain per cluster, named as sidecars send it with ISTIO_MUTUAL', () => {
  const yaml = `${YAML}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: eastwest, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers: [{port: {number: 15443, name: tls, protocol: TLS}, hosts: ["*.local"], tls: {mode: AUTO_PASSTHROUGH}}]
`;
  const ctx = contextFor(parseValidConfig(yaml, 'ew.yaml'));
  const l = listener(generateListeners(ctx, makeProxy({ type: 'router', name: 'ew', namespace: 'istio-system', labels: { istio: 'eastwestgateway' } })), '0.0.0.0_15443');
  assert.deepEqual(l.listener_filters.map((f: Any) => f.name), ['envoy.filters.listener.tls_inspector']);
  const chain = l.filter_chains.find((c: Any) => c.filter_chain_match.server_names[0] === 'outbound_.80_._.web.default.svc.cluster.local');
  assert.ok(chain);
  assert.equal(chain.filters[0].typed_config.cluster, 'outbound|80||web.default.svc.cluster.local');
  assert.equal(new Set(l.filter_chains.map((c: Any) => c.filter_chain_match.server_names[0])).size, l.filter_chains.length, 'SNIs are unique');
});

test('Sidecar egress listener with a port admits its hosts on that port only', () => {
  const yaml = `${YAML}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - port: {number: 6379, protocol: TCP, name: redis}
    hosts: ["./cache.default.svc.cluster.local"]
  - port: {number: 7070, protocol: GRPC, name: grpc}
    hosts: ["./echo.default.svc.cluster.local"]
  - hosts: ["./web.default.svc.cluster.local"]
`;
  const ctx = contextFor(parseValidConfig(yaml, 'sc.yaml'));
  const ls = generateListeners(ctx, makeProxy({ name: 'p' }));
  const names = ls.map((l) => l.name);
  assert.ok(names.includes('0.0.0.0_80'), 'web on every port');
  const redis = listener(ls, '0.0.0.0_6379');
  const vips = redis.filter_chains.map((c: Any) => c.filter_chain_match?.prefix_ranges?.[0]?.address_prefix);
  assert.deepEqual(vips, ['10.96.5.5'], 'cache admitted on 6379; cache-b not in the egress hosts');
  assert.ok(names.includes('0.0.0.0_7070'), 'echo admitted on 7070');
  assert.ok(!names.includes('0.0.0.0_7071'), 'but not on its other port');
});

test('Sidecar egressProxy: unknown destinations go to the egress service instead of PassthroughCluster', () => {
  const yaml = `${YAML.replace('outboundTrafficPolicy: {mode: REGISTRY_ONLY}', 'outboundTrafficPolicy: {mode: ALLOW_ANY}')}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: web, port: {number: 80}}
`;
  const ctx = contextFor(parseValidConfig(yaml, 'egress.yaml'));
  const vo = listener(generateListeners(ctx, makeProxy({ name: 'p' })), 'virtualOutbound');
  assert.equal(filtersOf(vo)[0].cluster, 'outbound|80||web.default.svc.cluster.local');
  const plain = contextFor(parseValidConfig(YAML.replace('outboundTrafficPolicy: {mode: REGISTRY_ONLY}', 'outboundTrafficPolicy: {mode: ALLOW_ANY}'), 'p.yaml'));
  assert.equal(filtersOf(listener(generateListeners(plain, makeProxy({ name: 'p' })), 'virtualOutbound'))[0].cluster, 'PassthroughCluster');
});
