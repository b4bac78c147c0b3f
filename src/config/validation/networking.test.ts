// config/validation: DestinationRule, Gateway, Sidecar, ServiceEntry and WorkloadEntry rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorPaths, issuesOf } from './testkit.ts';

test('DestinationRule: host, subsets, load balancer oneofs, locality weights, outlier and TLS rules', () => {
  assert.deepEqual(errorPaths('DestinationRule', { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }), []);
  assert.deepEqual(errorPaths('DestinationRule', {}), ['spec.host']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', subsets: [{ name: 'v1' }, { name: 'v1' }, { name: 'V_2' }] }), ['spec.subsets[1].name', 'spec.subsets[2].name']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { loadBalancer: { simple: 'RANDOM', consistentHash: { useSourceIp: true } } } }), ['spec.trafficPolicy.loadBalancer.consistentHash']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: {} }), ['spec.trafficPolicy']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { loadBalancer: { consistentHash: { maglev: { tableSize: 1000 } } } } }), ['spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize']);
  const distribute = (to: Record<string, number>) => ({ host: 'r', trafficPolicy: { outlierDetection: {}, loadBalancer: { localityLbSetting: { distribute: [{ from: 'us-west/zone1/*', to }] } } } });
  assert.deepEqual(errorPaths('DestinationRule', distribute({ 'us-west/zone1/*': 80, 'us-west/zone2/*': 20 })), []);
  assert.deepEqual(issuesOf('DestinationRule', distribute({ 'us-west/zone1/*': 80, 'us-west/zone2/*': 10 })), ['spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: total locality weight 90 != 100']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { outlierDetection: { consecutiveLocalOriginFailures: 3, maxEjectionPercent: 120 } } }), ['spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures', 'spec.trafficPolicy.outlierDetection.maxEjectionPercent']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { tls: { mode: 'MUTUAL' } } }), ['spec.trafficPolicy.tls.clientCertificate', 'spec.trafficPolicy.tls.privateKey']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'c' }, connectionPool: { http: { http2KeepAlive: { interval: '10s' } } } } }), ['spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { portLevelSettings: [{ port: { number: 80 } }] } }), ['spec.trafficPolicy.portLevelSettings[0]']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', exportTo: ['.', 'default'] }), ['spec.exportTo[1]']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', exportTo: ['*', 'a'] }), ['spec.exportTo']);
  assert.deepEqual(errorPaths('DestinationRule', { host: 'r', trafficPolicy: { connectionPool: { tcp: { connectTimeout: '-1s' } } } }), ['spec.trafficPolicy.connectionPool.tcp.connectTimeout']);
});

test('Gateway: servers need hosts and a port; protocol, TLS and bind rules', () => {
  const server = (extra: object = {}) => ({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], ...extra });
  assert.deepEqual(errorPaths('Gateway', { selector: { istio: 'ingressgateway' }, servers: [server()] }), []);
  assert.deepEqual(errorPaths('Gateway', { servers: [] }), ['spec.servers']);
  assert.deepEqual(errorPaths('Gateway', { servers: [{ hosts: ['*'] }] }), ['spec.servers[0].port']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ port: { number: 443, name: 'https', protocol: 'HTTPS' } })] }), ['spec.servers[0].tls']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'SIMPLE', credentialName: 'cert' } })] }), []);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'SIMPLE' } })] }), ['spec.servers[0].tls.serverCertificate', 'spec.servers[0].tls.privateKey']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ tls: { httpsRedirect: true } })] }), []);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ port: { number: 80, name: 'http', protocol: 'SPDY' } })] }), ['spec.servers[0].port.protocol']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ hosts: ['ns/foo*'] })] }), ['spec.servers[0].hosts[0]']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server({ hosts: ['bookinfo/reviews.example.com', 'short'] })] }), ['spec.servers[0].hosts[1]']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server(), server()] }), ['spec.servers[1].port.name']);
  assert.deepEqual(errorPaths('Gateway', { servers: [server()] }, 'my.gateway'), ['metadata.name']);
});

test('Sidecar: egress hosts are namespace/host, listeners unique, catch-all last, defaultEndpoint form', () => {
  assert.deepEqual(errorPaths('Sidecar', { egress: [{ hosts: ['./*', 'istio-system/*'] }] }), []);
  assert.deepEqual(issuesOf('Sidecar', {}), ['spec: sidecar: empty configuration provided']);
  assert.deepEqual(errorPaths('Sidecar', { egress: [{ hosts: ['reviews.default.svc.cluster.local'] }] }), ['spec.egress[0].hosts[0]']);
  assert.deepEqual(errorPaths('Sidecar', { egress: [{ hosts: ['*/*'] }, { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['*/*'] }] }), ['spec.egress[0]']);
  assert.deepEqual(errorPaths('Sidecar', { ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' }] }), []);
  assert.deepEqual(errorPaths('Sidecar', { ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '10.0.0.1:8080' }] }), ['spec.ingress[0].defaultEndpoint']);
  assert.deepEqual(errorPaths('Sidecar', { ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'a' } }, { port: { number: 9080, protocol: 'HTTP', name: 'b' } }] }), ['spec.ingress[1].port.number']);
  assert.deepEqual(errorPaths('Sidecar', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY', egressProxy: { host: 'egress.example.com', port: { number: 80 } } } }), ['spec.outboundTrafficPolicy.egressProxy']);
  assert.deepEqual(errorPaths('Sidecar', { workloadSelector: { labels: { app: '*' } }, egress: [{ hosts: ['*/*'] }] }), ['spec.workloadSelector.labels.app']);
});

test('ServiceEntry: resolution rules, ports, addresses, endpoints', () => {
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS', location: 'MESH_EXTERNAL' }), []);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: 'host.example.com' }] }), ['spec.endpoints[0].address']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { grpc: 9000 } }] }), ['spec.endpoints[0].ports.grpc']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com', 'b.com'], ports: [{ number: 3306, name: 'mysql', protocol: 'TCP' }], resolution: 'DNS' }), ['spec.ports[0].protocol']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 80, name: 'Bad_Name', protocol: 'HTTP' }] }), ['spec.ports[0].name']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], addresses: ['10.0.0.0/40'] }), ['spec.addresses[0]']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], resolution: 'DYNAMIC_DNS', location: 'MESH_EXTERNAL' }), ['spec.hosts[0]']);
  assert.deepEqual(errorPaths('ServiceEntry', { hosts: ['a.com'], exportTo: ['~', 'ns'] }), ['spec.exportTo']);
});

test('WorkloadEntry and WorkloadGroup: address forms, ports, labels, probes', () => {
  assert.deepEqual(errorPaths('WorkloadEntry', { address: '10.0.0.4', labels: { app: 'ratings', version: 'v1' }, ports: { http: 9080 }, serviceAccount: 'bookinfo-ratings' }), []);
  assert.deepEqual(errorPaths('WorkloadEntry', { address: 'bad_host!' }), ['spec.address']);
  assert.deepEqual(errorPaths('WorkloadEntry', { address: '10.0.0.4', labels: { 'bad key!': 'v' } }), ['spec.labels["bad key!"]']);
  assert.deepEqual(errorPaths('WorkloadGroup', { template: {}, probe: { httpGet: { port: 80 }, tcpSocket: { port: 81 } } }), ['spec.probe.tcpSocket']);
  assert.deepEqual(errorPaths('WorkloadGroup', { template: {}, probe: { exec: { command: [] } } }), ['spec.probe.exec.command']);
  assert.deepEqual(errorPaths('WorkloadGroup', { template: {}, probe: { periodSeconds: -1, tcpSocket: { port: 80 } } }), ['spec.probe.periodSeconds']);
});
