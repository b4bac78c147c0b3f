// local: tests for the per-service local ports of rig up — which ports get one, the Kubernetes-style variables,
// the RIG_TCP_PORTS metadata — and for the port allocator that never hands out one number twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Service } from '../model/types.ts';
import { serviceEnv, serviceEnvName, tcpPortsMetadata, wantedServicePorts } from './service-ports.ts';
import { PortAllocator, ephemeralRange } from './ports.ts';

function svc(hostname: string, namespace: string, ports: Service['ports'], exportTo = ['*']): Service {
  return { hostname, namespace, ports, addresses: [], resolution: 'STATIC', location: 'MESH_INTERNAL', exportTo, labels: {}, origin: { kind: 'ServiceEntry', namespace, name: hostname } };
}

test('only non-HTTP ports of visible, non-wildcard services get a local port', () => {
  const services = [
    svc('web.default.svc.cluster.local', 'default', [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'grpc-api', port: 9090, protocol: 'GRPC' }]),
    svc('db.data.svc.cluster.local', 'data', [{ name: 'tcp', port: 5432, protocol: 'TCP' }]),
    svc('secret.ops.svc.cluster.local', 'ops', [{ name: 'tcp', port: 1, protocol: 'TCP' }], ['.']),
    svc('*.example.com', 'default', [{ name: 'tls', port: 443, protocol: 'TLS' }]),
    svc('api.example.com', 'default', [{ name: 'https', port: 443, protocol: 'HTTPS' }, { name: 'dns', port: 53, protocol: 'UDP' }]),
  ];
  const got = wantedServicePorts(services, 'default').map((b) => `${b.host}:${b.port} ${b.protocol} ${b.envName}`);
  assert.deepEqual(got, [
    'api.example.com:443 HTTPS API_EXAMPLE_COM',
    'db.data.svc.cluster.local:5432 TCP DB_DATA',
    'web.default.svc.cluster.local:9090 GRPC WEB',
  ]);
  // seen from its own namespace the exportTo "." service is there, under its short name
  assert.ok(wantedServicePorts(services, 'ops').some((b) => b.envName === 'SECRET'));
});

test('variable names follow Kubernetes: upper case, "-" to "_", first port is _SERVICE_PORT', () => {
  assert.equal(serviceEnvName('my-db.default.svc.cluster.local', 'default'), 'MY_DB');
  assert.equal(serviceEnvName('my-db.other.svc.cluster.local', 'default'), 'MY_DB_OTHER');
  assert.equal(serviceEnvName('my-db.default.svc.corp.local', 'default', 'corp.local'), 'MY_DB');
  const bindings = [
    { host: 'my-db.default.svc.cluster.local', port: 5432, portName: 'tcp-pg', protocol: 'TCP' as const, envName: 'MY_DB', localPort: 20001 },
    { host: 'my-db.default.svc.cluster.local', port: 5433, portName: 'tcp-replica', protocol: 'TCP' as const, envName: 'MY_DB', localPort: 20002 },
  ];
  assert.deepEqual(serviceEnv(bindings), {
    MY_DB_SERVICE_HOST: '127.0.0.1', MY_DB_SERVICE_PORT: '20001', MY_DB_SERVICE_PORT_TCP_PG: '20001', MY_DB_SERVICE_PORT_TCP_REPLICA: '20002',
  });
  assert.deepEqual(JSON.parse(tcpPortsMetadata(bindings)), { 'my-db.default.svc.cluster.local:5432': 20001, 'my-db.default.svc.cluster.local:5433': 20002 });
});

test('the allocator stays below the ephemeral range, skips busy and reserved ports, never repeats', async () => {
  const [eLo] = ephemeralRange();
  const busy = net.createServer();
  const alloc = new PortAllocator();
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const p = await alloc.take();
    assert.ok(!seen.has(p), `port ${p} handed out twice`);
    assert.ok(p < eLo || eLo <= 12000, `port ${p} is inside the ephemeral range starting at ${eLo}`);
    seen.add(p);
  }
  // Istio's well-known ports are never chosen
  const istio = new PortAllocator({ range: [14999, 15101], random: () => 0, isFree: async () => true });
  assert.deepEqual([await istio.take(), await istio.take()], [14999, 15101]);
  // a small range: a reserved port and a busy one are skipped; then it runs out instead of looping
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const b = (busy.address() as net.AddressInfo).port;
  try {
    const small = new PortAllocator({ range: [b - 1, b + 1], random: () => 0, isFree: async (p) => p !== b });
    small.reserve(b - 1);
    assert.equal(await small.take(), b + 1);
    await assert.rejects(small.take(), /no free port left/);
  } finally {
    busy.close();
  }
});
