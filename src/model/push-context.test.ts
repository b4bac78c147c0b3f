// model: tests for PushContext lookups (visibility, Sidecar scoping, VirtualService/DestinationRule selection, endpoints).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectsFromYaml } from './test-helpers.ts';
import { buildSnapshot } from './snapshot.ts';
import { PushContext } from './push-context.ts';
import { parseProxy } from './proxy.ts';
import type { Proxy } from './types.ts';

function ctxFrom(yaml: string): PushContext {
  return new PushContext(buildSnapshot(objectsFromYaml(yaml), 'v1'));
}

function proxy(id: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): Proxy {
  const p = parseProxy({ id, metadata: { LABELS: labels, ...extra } });
  if (p instanceof Error) throw p;
  return p;
}

const svc = (name: string, ns: string, ann = '') => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}${ann ? `, annotations: {networking.istio.io/exportTo: "${ann}"}` : ''}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 9080}]
---`;

test('servicesFor honours exportTo and Sidecar egress hosts', () => {
  const ctx = ctxFrom(`${svc('a', 'ns1')}${svc('b', 'ns2')}${svc('private', 'ns2', '.')}
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ns3}
spec:
  egress: [{hosts: ["./*", "ns2/b.ns2.svc.cluster.local"]}]
`);
  const p1 = proxy('sidecar~10.0.0.1~x.ns1~ns1.svc.cluster.local');
  assert.deepEqual(ctx.servicesFor(p1).map((s) => s.hostname), ['a.ns1.svc.cluster.local', 'b.ns2.svc.cluster.local']);
  const p2 = proxy('sidecar~10.0.0.2~x.ns2~ns2.svc.cluster.local');
  assert.deepEqual(ctx.servicesFor(p2).map((s) => s.hostname).sort(),
    ['a.ns1.svc.cluster.local', 'b.ns2.svc.cluster.local', 'private.ns2.svc.cluster.local']);
  const p3 = proxy('sidecar~10.0.0.3~x.ns3~ns3.svc.cluster.local');
  assert.deepEqual(ctx.servicesFor(p3).map((s) => s.hostname), ['b.ns2.svc.cluster.local']);
  assert.equal(ctx.sidecarFor(p3)?.metadata.name, 'default');
  assert.equal(ctx.sidecarFor(p1), undefined);
});

test('sidecarFor: selector first, then namespace default, then root namespace; outbound policy override', () => {
  const ctx = ctxFrom(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: root, namespace: istio-system}
spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ns-default, namespace: app}
spec: {egress: [{hosts: ["*/*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: for-ratings, namespace: app}
spec: {workloadSelector: {labels: {app: ratings}}, egress: [{hosts: ["*/*"]}], outboundTrafficPolicy: {mode: ALLOW_ANY}}
`);
  const ratings = proxy('sidecar~10.0.0.1~r.app~app.svc.cluster.local', { app: 'ratings' });
  const other = proxy('sidecar~10.0.0.2~o.app~app.svc.cluster.local', { app: 'other' });
  const elsewhere = proxy('sidecar~10.0.0.3~e.x~x.svc.cluster.local');
  assert.equal(ctx.sidecarFor(ratings)?.metadata.name, 'for-ratings');
  assert.equal(ctx.sidecarFor(other)?.metadata.name, 'ns-default');
  assert.equal(ctx.sidecarFor(elsewhere)?.metadata.name, 'root');
  assert.equal(ctx.outboundTrafficPolicy(ratings), 'ALLOW_ANY');
  assert.equal(ctx.outboundTrafficPolicy(other), 'ALLOW_ANY');
  assert.equal(ctx.outboundTrafficPolicy(elsewhere), 'REGISTRY_ONLY');
  assert.equal(ctx.sidecarFor(proxy('router~10.0.0.4~gw.x~x.svc.cluster.local')), undefined);
});

test('virtualServicesFor: gateways, exportTo, FQDN copies and delegates', () => {
  const ctx = ctxFrom(`${svc('reviews', 'default')}
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    delegate: {name: reviews-api}
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-api, namespace: default}
spec:
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: other}
spec:
  hosts: [thing]
  exportTo: ["."]
  http: [{route: [{destination: {host: thing}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress, namespace: istio-system}
spec:
  hosts: ["bookinfo.example.com"]
  gateways: [bookinfo-gateway, mesh]
  http: [{route: [{destination: {host: productpage.default.svc.cluster.local}}]}]
`);
  const p = proxy('sidecar~10.0.0.1~x.default~default.svc.cluster.local');
  const vs = ctx.virtualServicesFor(p, ['mesh']);
  assert.deepEqual(vs.map((v) => v.metadata.name), ['reviews', 'ingress']); // sorted by namespace, then name
  const reviews = vs.find((v) => v.metadata.name === 'reviews')!;
  assert.deepEqual(reviews.spec.hosts, ['reviews.default.svc.cluster.local']);
  assert.equal(reviews.spec.http![1]!.route![0]!.destination.host, 'reviews.default.svc.cluster.local');
  assert.deepEqual(reviews.spec.http![0]!.delegate, { name: 'reviews-api', namespace: 'default' });
  // the snapshot's own object is untouched
  const orig = ctx.snapshot.virtualServices.find((v) => v.metadata.name === 'reviews')!;
  assert.deepEqual(orig.spec.hosts, ['reviews']);
  assert.equal(orig.spec.http![1]!.route![0]!.destination.host, 'reviews');
  const d = ctx.delegate('reviews-api', 'default');
  assert.equal(d?.spec.http![0]!.route![0]!.destination.host, 'reviews.default.svc.cluster.local');
  assert.ok(ctx.isDelegate('reviews-api', 'default'));
  // the namespace-private one is visible in its own namespace only
  const po = proxy('sidecar~10.0.0.2~x.other~other.svc.cluster.local');
  assert.ok(ctx.virtualServicesFor(po, ['mesh']).some((v) => v.metadata.name === 'private'));
  // gateway binding: "bookinfo-gateway" means istio-system/bookinfo-gateway
  const gw = proxy('router~10.0.0.3~gw.istio-system~istio-system.svc.cluster.local');
  assert.deepEqual(ctx.virtualServicesFor(gw, ['istio-system/bookinfo-gateway']).map((v) => v.metadata.name), ['ingress']);
  assert.deepEqual(ctx.virtualServicesFor(gw, ['default/bookinfo-gateway']), []);
});

test('destinationRuleFor: selector, proxy ns, service ns, root ns, exportTo and most specific host', () => {
  const ctx = ctxFrom(`${svc('reviews', 'default')}
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-ns, namespace: default}
spec: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: client-ns, namespace: client}
spec: {host: reviews.default.svc.cluster.local}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: client-selected, namespace: client}
spec: {host: reviews.default.svc.cluster.local, workloadSelector: {matchLabels: {app: special}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: root-wide, namespace: istio-system}
spec: {host: "*.svc.cluster.local"}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: root-narrow, namespace: istio-system}
spec: {host: "*.local.svc.cluster.local"}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hidden, namespace: default}
spec: {host: other.default.svc.cluster.local, exportTo: ["."]}
`);
  const host = 'reviews.default.svc.cluster.local';
  const special = proxy('sidecar~10.0.0.1~s.client~client.svc.cluster.local', { app: 'special' });
  const client = proxy('sidecar~10.0.0.2~c.client~client.svc.cluster.local', { app: 'c' });
  const third = proxy('sidecar~10.0.0.3~t.third~third.svc.cluster.local');
  assert.equal(ctx.destinationRuleFor(special, host)?.metadata.name, 'client-selected');
  assert.equal(ctx.destinationRuleFor(client, host)?.metadata.name, 'client-ns');
  assert.equal(ctx.destinationRuleFor(third, host)?.metadata.name, 'svc-ns');
  assert.equal(ctx.destinationRuleFor(third, host)?.spec.host, host);
  assert.equal(ctx.destinationRuleFor(third, 'x.local.svc.cluster.local')?.metadata.name, 'root-narrow');
  assert.equal(ctx.destinationRuleFor(third, 'x.y.svc.cluster.local')?.metadata.name, 'root-wide');
  assert.equal(ctx.destinationRuleFor(third, 'other.default.svc.cluster.local')?.metadata.name, 'root-wide');
  assert.equal(ctx.destinationRuleFor(third, 'api.example.com'), undefined);
});

test('gatewaysFor matches selectors against router labels', () => {
  const ctx = ctxFrom(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: default}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: default}
spec: {selector: {istio: egressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
`);
  const gw = proxy('router~10.0.0.1~ig.istio-system~istio-system.svc.cluster.local', { istio: 'ingressgateway' });
  assert.deepEqual(ctx.gatewaysFor(gw).map((g) => g.metadata.name), ['ingress']);
  assert.deepEqual(ctx.gatewaysFor(proxy('sidecar~10.0.0.2~x.default~default.svc.cluster.local', { istio: 'ingressgateway' })), []);
});

test('endpoints by port and subset; inboundServicesFor by IP and workload', () => {
  const ctx = ctxFrom(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP, targetPort: 8000}]
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1, namespace: default}
spec: {address: 127.0.0.1, labels: {app: reviews, version: v1}, ports: {http: 7001}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2, namespace: default}
spec: {address: 127.0.0.1, labels: {app: reviews, version: v2}}
`);
  const host = 'reviews.default.svc.cluster.local';
  assert.deepEqual(ctx.endpoints(host, 9080).map((e) => `${e.address}:${e.port}`), ['127.0.0.1:7001', '127.0.0.1:8000']);
  assert.deepEqual(ctx.endpoints(host, 9080, { version: 'v2' }).map((e) => e.port), [8000]);
  assert.deepEqual(ctx.endpoints(host, 9999), []);
  const v2 = proxy('sidecar~127.0.0.1~reviews-v2-0.default~default.svc.cluster.local', { app: 'reviews', version: 'v2' }, { WORKLOAD_NAME: 'reviews-v2' });
  const inbound = ctx.inboundServicesFor(v2);
  assert.equal(inbound.length, 1);
  assert.equal(inbound[0]!.service.hostname, host);
  assert.equal(inbound[0]!.port.port, 9080);
  assert.equal(inbound[0]!.targetPort, 8000);
  const v1ByLabels = proxy('sidecar~127.0.0.1~pod.default~default.svc.cluster.local', { app: 'reviews', version: 'v1' });
  assert.deepEqual(ctx.inboundServicesFor(v1ByLabels).map((i) => i.targetPort), [7001]);
  assert.deepEqual(ctx.inboundServicesFor(proxy('sidecar~10.9.9.9~x.default~default.svc.cluster.local')), []);
});

test('resolveHost: only a dotless name is short (Istio); dotted names stay as written, the domain suffix applies', () => {
  const ctx = ctxFrom(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec: {hosts: [httpbin.org], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
`);
  assert.equal(ctx.resolveHost('httpbin.org', 'default'), 'httpbin.org');
  assert.equal(ctx.resolveHost('reviews.prod', 'default'), 'reviews.prod');
  assert.equal(ctx.resolveHost('reviews', 'prod'), 'reviews.prod.svc.cluster.local');
  const other = new PushContext({ ...ctx.snapshot, domainSuffix: 'example.internal' });
  assert.equal(other.resolveHost('reviews', 'prod'), 'reviews.prod.svc.example.internal');
});

test('a push over 1,000 services and 200 proxies is fast', () => {
  const docs: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const ns = `ns${i % 20}`;
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: ${ns}}\nspec: {selector: {app: s${i}}, ports: [{name: http, port: 80}]}`);
    if (i % 5 === 0) docs.push(`apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d${i}, namespace: ${ns}}\nspec: {host: s${i}}`);
    if (i % 10 === 0) docs.push(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v${i}, namespace: ${ns}}\nspec: {hosts: [s${i}], http: [{route: [{destination: {host: s${i}}}]}]}`);
  }
  const objects = objectsFromYaml(docs.join('\n---\n'));
  const t0 = performance.now();
  const ctx = new PushContext(buildSnapshot(objects, 'v1'));
  let n = 0;
  for (let p = 0; p < 200; p++) {
    const px = proxy(`sidecar~10.1.${p >> 8}.${p & 255}~w${p}.ns${p % 20}~ns${p % 20}.svc.cluster.local`, { app: `s${p}` });
    const svcs = ctx.servicesFor(px);
    ctx.virtualServicesFor(px, ['mesh']);
    for (const s of svcs) { if (ctx.destinationRuleFor(px, s.hostname)) n++; ctx.endpoints(s.hostname, 80); }
  }
  const ms = performance.now() - t0;
  assert.equal(n, 200 * 200);
  assert.ok(ms < 1000, `push took ${ms.toFixed(0)} ms`);
});

test('DestinationRules for one host in one namespace are merged as Istio does', () => {
  const ctx = ctxFrom(`${svc('reviews', 'default')}
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets: [{name: v1, labels: {version: other}}, {name: v2, labels: {version: v2}}]
`);
  const p = proxy('sidecar~10.0.0.1~x.default~default.svc.cluster.local');
  const dr = ctx.destinationRuleFor(p, 'reviews.default.svc.cluster.local')!;
  assert.equal(dr.metadata.name, 'a');
  assert.deepEqual(dr.spec.subsets!.map((s) => `${s.name}=${s.labels!.version}`), ['v1=v1', 'v2=v2']);
  assert.equal(dr.spec.trafficPolicy?.tls?.mode, 'ISTIO_MUTUAL');
  assert.equal(ctx.snapshot.destinationRules[0]!.spec.subsets!.length, 1, 'snapshot objects untouched');
});
