// config/validation: the Kubernetes kinds Rigging reads (Service, Endpoints, EndpointSlice) and the `istio` mesh ConfigMap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../validate.ts';
import type { ConfigObject } from '../types.ts';

const errors = (o: Partial<ConfigObject> & { kind: string }) =>
  validateObject({ apiVersion: o.kind === 'EndpointSlice' ? 'discovery.k8s.io/v1' : 'v1', metadata: { name: 'x', namespace: 'default' }, spec: undefined, ...o } as ConfigObject)
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);

const mesh = (text: string) => errors({ kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, extra: { data: { mesh: text } } });

test('Service: ports in range, names required when several and unique, targetPort number or name', () => {
  assert.deepEqual(errors({ kind: 'Service', spec: { selector: { app: 'r' }, ports: [{ name: 'http', port: 9080, targetPort: 'http-alt' }], sessionAffinity: 'None' } }), []);
  assert.deepEqual(errors({ kind: 'Service', spec: { ports: [{ port: 80 }, { name: 'b', port: 70000 }] } }), ['spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535', 'spec.ports[0].name: port name is required when a Service has more than one port']);
  assert.deepEqual(errors({ kind: 'Service', spec: { ports: [{ name: 'a', port: 80, protocol: 'HTTP' }] } }).length, 1);
});

test('Endpoints and EndpointSlice: addresses are IPs, addressType known', () => {
  assert.deepEqual(errors({ kind: 'Endpoints', extra: { subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] } }), []);
  assert.deepEqual(errors({ kind: 'Endpoints', extra: { subsets: [{ addresses: [{ ip: 'ten' }] }] } }), ['subsets[0].addresses[0].ip: "ten" is not a valid IP address']);
  assert.deepEqual(errors({ kind: 'EndpointSlice', metadata: { name: 's', namespace: 'default', labels: { 'kubernetes.io/service-name': 'r' } }, extra: { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 9080 }] } }), []);
  assert.deepEqual(errors({ kind: 'EndpointSlice', extra: { endpoints: [] } }), ['addressType: Required value']);
});

test('mesh ConfigMap: trustDomain, outboundTrafficPolicy, retries, access log, defaultConfig, rootNamespace', () => {
  const good = `trustDomain: cluster.local
rootNamespace: istio-system
enableTracing: true
accessLogFile: /dev/stdout
accessLogEncoding: JSON
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
defaultHttpRetryPolicy: {attempts: 2, retryOn: "connect-failure,503"}
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true"}
  tracing: {zipkin: {address: zipkin.istio-system:9411}}
`;
  assert.deepEqual(mesh(good), []);
  assert.deepEqual(mesh(''), []);
  assert.deepEqual(mesh('trustDomain: "bad domain"'), ['data.mesh.trustDomain: trust domain name "bad domain" invalid']);
  assert.deepEqual(mesh('outboundTrafficPolicy: {mode: ALLOW_SOME}').length, 1);
  assert.deepEqual(mesh('accessLogEncoding: XML').length, 1);
  assert.deepEqual(mesh('accessLogFile: logs/access.log'), ['data.mesh.accessLogFile: accessLogFile "logs/access.log" must be an absolute path such as /dev/stdout']);
  assert.deepEqual(mesh('enableTracing: "yes"').length, 1);
  assert.deepEqual(mesh('defaultHttpRetryPolicy: {attempts: 0, perTryTimeout: 1s}'), ['data.mesh.defaultHttpRetryPolicy.attempts: http retry policy configured when attempts are set to 0 (disabled)']);
  // drainDuration: whole seconds only, whatever the spelling (1.5s too, not just ms/us/ns units)
  for (const dd of ['500ms', '1.5s', '1m0.5s']) assert.deepEqual(mesh(`defaultConfig: {drainDuration: ${dd}}`), ['data.mesh.defaultConfig.drainDuration: drain time only supports durations to seconds precision'], dd);
  assert.deepEqual(mesh('defaultConfig: {drainDuration: 1m30s}'), []);
  assert.deepEqual(mesh('defaultConfig: {discoveryAddress: "istiod"}'), ['data.mesh.defaultConfig.discoveryAddress: unable to split "istiod" into host:port']);
  assert.deepEqual(mesh('rootNamespace: Istio_System').length, 1);
  assert.deepEqual(mesh('trustDomian: cluster.local'), ['data.mesh.trustDomian: unknown field "trustDomian"']);
  assert.match(mesh('a: [')[0]!, /^data\.mesh: mesh config is not valid YAML/);
  // Fields of Istio's MeshConfig that Rigging does not read still load.
  assert.deepEqual(mesh('extensionProviders: [{name: otel, opentelemetry: {service: otel.svc, port: 4317}}]\ndiscoverySelectors: []'), []);
});
