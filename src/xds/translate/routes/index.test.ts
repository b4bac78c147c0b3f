// xds/translate/routes: unit tests of buildRouteConfiguration on a hand-built RouteContext (no PushContext):
// route name dispatch, dedupe of domains, memo sharing, and output that protobuf accepts unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRouteConfiguration } from './index.ts';
import type { RouteContext } from './context.ts';
import type { ConfigObject } from '../../../config/types.ts';
import type { VirtualServiceSpec } from '../../../config/types/networking.ts';
import type { MeshConfig, Proxy, PushSnapshot, Service } from '../../../model/types.ts';
import { normalize, TypeUrl } from '../../../envoy/protos.ts';

const svc = (name: string, ns: string, port: number, vip: string): Service => ({
  hostname: `${name}.${ns}.svc.cluster.local`, namespace: ns, ports: [{ name: 'http', port, protocol: 'HTTP' }],
  addresses: [vip], resolution: 'STATIC', location: 'MESH_INTERNAL', exportTo: ['*'], labels: {},
  origin: { kind: 'Service', namespace: ns, name },
});
const vs = (name: string, spec: VirtualServiceSpec): ConfigObject<VirtualServiceSpec> =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec });

function fakeCtx(services: Service[], vss: ConfigObject<VirtualServiceSpec>[], mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' = 'ALLOW_ANY'): RouteContext {
  const snapshot = { version: 'v', mesh: { outboundTrafficPolicy: { mode } } as MeshConfig, virtualServices: vss, destinationRules: [], sidecars: [], gateways: [] } as unknown as PushSnapshot;
  return {
    snapshot,
    serviceByHost: (h) => services.find((s) => s.hostname === h),
    servicesFor: () => services.slice(),
    virtualServicesFor: (_p, gws) => (gws.includes('mesh') ? vss : []),
    delegate: () => undefined,
    destinationRuleFor: () => undefined,
    gatewaysFor: () => [],
    outboundTrafficPolicy: () => mode,
  };
}
const proxy = (labels: Record<string, string> = {}, extra: Partial<Proxy> = {}): Proxy => ({
  id: 'sidecar~10.0.0.1~p.default~default.svc.cluster.local', type: 'sidecar', ip: '10.0.0.1', ips: ['10.0.0.1'], name: 'p',
  namespace: 'default', dnsDomain: 'default.svc.cluster.local', labels, locality: {}, metadata: {}, ...extra,
});

const a = svc('a', 'default', 80, '10.96.0.1');
const b = svc('b', 'default', 80, '10.96.0.1'); // same VIP as a: the domain may appear only once
const c = svc('c', 'default', 9080, '10.96.0.3');

test('route names: ports, http_proxy, gRPC cluster-style names; unknown names give undefined', () => {
  const ctx = fakeCtx([a, b, c], []);
  assert.equal(buildRouteConfiguration(ctx, proxy(), '80')?.name, '80');
  assert.equal(buildRouteConfiguration(ctx, proxy(), 'http_proxy')?.name, 'http_proxy');
  assert.equal(buildRouteConfiguration(ctx, proxy(), 'nonsense'), undefined);
  assert.equal(buildRouteConfiguration(ctx, proxy({}, { type: 'router' }), '80'), undefined, 'routers only know gateway names');
  const g = buildRouteConfiguration(ctx, proxy({}, { generator: 'grpc' }), 'outbound|9080||c.default.svc.cluster.local')!;
  assert.deepEqual((g.virtual_hosts as any[]).map((v) => v.name), ['c.default.svc.cluster.local:9080'], 'no catch-all for gRPC');
});

test('a domain shared by two services is kept only on the first virtual host', () => {
  const rc = buildRouteConfiguration(fakeCtx([a, b], []), proxy(), '80')!;
  const [va, vb] = rc.virtual_hosts as any[];
  assert.ok(va.domains.includes('10.96.0.1:80'));
  assert.ok(!vb.domains.includes('10.96.0.1:80'));
  const all = (rc.virtual_hosts as any[]).flatMap((v) => v.domains);
  assert.equal(new Set(all).size, all.length);
});

test('"host:port" on a sidecar: one service, any Host', () => {
  const rc = buildRouteConfiguration(fakeCtx([a, c], []), proxy(), 'c:9080')!;
  assert.deepEqual((rc.virtual_hosts as any[]).map((v) => [v.name, v.domains]), [['c.default.svc.cluster.local:9080', ['*']]]);
  assert.equal(buildRouteConfiguration(fakeCtx([a, c], []), proxy(), 'zzz:9080'), undefined);
});

test('REGISTRY_ONLY ends with block_all (502); routes without destination are dropped; statPrefix kept', () => {
  const v = vs('c', { hosts: ['c.default.svc.cluster.local'], http: [
    { name: 'broken', match: [{ uri: { prefix: '/b' } }] },
    { name: 'ok', match: [{ uri: { prefix: '/' }, statPrefix: 'c-root' }], route: [{ destination: { host: 'c.default.svc.cluster.local' } }] },
  ] });
  const rc = buildRouteConfiguration(fakeCtx([c], [v], 'REGISTRY_ONLY'), proxy(), '9080')!;
  const vhs = rc.virtual_hosts as any[];
  assert.deepEqual(vhs.at(-1).routes[0].direct_response, { status: 502 });
  assert.deepEqual(vhs[0].routes.map((r: any) => r.name), ['ok']);
  assert.equal(vhs[0].routes[0].stat_prefix, 'c-root');
  const n = normalize(TypeUrl.RouteConfiguration, rc) as any;
  assert.equal(n.virtual_hosts[0].routes[0].stat_prefix, 'c-root');
});

test('memo: alike proxies share one result; a matching sourceLabels selector gives a different one', () => {
  const v = vs('c', { hosts: ['c.default.svc.cluster.local'], http: [
    { name: 'canary', match: [{ sourceLabels: { track: 'canary' } }], route: [{ destination: { host: 'c.default.svc.cluster.local', subset: 'v2' } }] },
    { name: 'rest', route: [{ destination: { host: 'c.default.svc.cluster.local' } }] },
  ] });
  const ctx = fakeCtx([c], [v]);
  const p1 = buildRouteConfiguration(ctx, proxy({ app: 'x' }), '9080');
  const p2 = buildRouteConfiguration(ctx, proxy({ app: 'y' }), '9080');
  const p3 = buildRouteConfiguration(ctx, proxy({ app: 'x', track: 'canary' }), '9080');
  assert.equal(p1, p2);
  assert.notEqual(p1, p3);
  // for the canary proxy the source-scoped route is a catch-all, so (as in Istio) nothing follows it
  assert.deepEqual(((p3!.virtual_hosts as any[])[0].routes as any[]).map((r) => r.name), ['canary']);
  assert.deepEqual(((p1!.virtual_hosts as any[])[0].routes as any[]).map((r) => r.name), ['rest']);
});

test('VirtualService hosts: exact beats wildcard; a wildcard covers the rest; external hosts get a vhost on port 80', () => {
  const wild = vs('wild', { hosts: ['*.default.svc.cluster.local'], http: [{ name: 'w', route: [{ destination: { host: 'a.default.svc.cluster.local' } }] }] });
  const exact = vs('exact', { hosts: ['b.default.svc.cluster.local'], http: [{ name: 'e', route: [{ destination: { host: 'b.default.svc.cluster.local' } }] }] });
  const ext = vs('ext', { hosts: ['api.external.com'], http: [{ name: 'x', route: [{ destination: { host: 'api.external.com' } }] }] });
  const b2 = svc('b', 'default', 80, '10.96.0.2');
  const rc = buildRouteConfiguration(fakeCtx([a, b2], [wild, exact, ext]), proxy(), '80')!;
  const byName = Object.fromEntries((rc.virtual_hosts as any[]).map((v) => [v.name, v]));
  assert.equal(byName['a.default.svc.cluster.local:80'].routes[0].name, 'w');
  assert.equal(byName['b.default.svc.cluster.local:80'].routes[0].name, 'e');
  assert.deepEqual(byName['api.external.com:80'].domains, ['api.external.com', 'api.external.com:80']);
  assert.equal(byName['api.external.com:80'].routes[0].route.cluster, 'outbound|80||api.external.com');
  const rc9080 = buildRouteConfiguration(fakeCtx([a, b2, c], [ext]), proxy(), '9080')!;
  assert.ok(!(rc9080.virtual_hosts as any[]).some((v) => v.name.startsWith('api.external.com')), 'only on port 80');
});

test('destination hosts: only a dotless name is short (Istio); the snapshot domain suffix is used', () => {
  const corp = { ...c, hostname: 'c.default.svc.corp' };
  const v = vs('c', {
    hosts: ['c.default.svc.corp'],
    http: [
      { match: [{ uri: { prefix: '/short' } }], route: [{ destination: { host: 'c' } }] },
      { route: [{ destination: { host: 'c.default', port: { number: 9080 } } }] },
    ],
  });
  const ctx = fakeCtx([corp], [v]);
  (ctx.snapshot as { domainSuffix?: string }).domainSuffix = 'corp';
  const rc = buildRouteConfiguration(ctx, proxy(), '9080')!;
  const vh = (rc.virtual_hosts as any[]).find((x) => x.name === 'c.default.svc.corp:9080');
  assert.deepEqual(vh.routes.map((r: any) => r.route?.cluster), ['outbound|9080||c.default.svc.corp', 'outbound|9080||c.default']);
});
