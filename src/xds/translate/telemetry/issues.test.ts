// xds/translate/telemetry: tests for telemetryIssues (its tracing part) — each unusable provider reference is named by object and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectsFromYaml, ZIPKIN_COLLECTOR_YAML } from '../../../model/test-helpers.ts';
import { buildSnapshot } from '../../../model/snapshot.ts';
import { PushContext } from '../../../model/push-context.ts';
import { telemetryIssues } from './issues.ts';

function issuesOf(mesh: string, extra = '') {
  const yaml = `${ZIPKIN_COLLECTOR_YAML}---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
${mesh.split('\n').map((l) => `    ${l}`).join('\n')}
${extra}`;
  const ctx = new PushContext(buildSnapshot(objectsFromYaml(yaml, 'tracing-issues.yaml'), 'test'));
  return telemetryIssues(ctx.snapshot, (h) => ctx.serviceByHost(h)).map((i) => ({ kind: i.kind, name: i.name, path: i.path, code: i.code, message: i.message }));
}

const PROVIDERS = `extensionProviders:
- name: zipkin
  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
- name: otel
  opentelemetry: {service: otel.istio-system.svc.cluster.local, port: 4317}
- name: lost
  zipkin: {service: nowhere.istio-system.svc.cluster.local, port: 9411}`;

test('a usable zipkin provider raises nothing; unused unusable providers raise nothing either', () => {
  assert.deepEqual(issuesOf(`${PROVIDERS}\ndefaultProviders: {tracing: [zipkin]}`), []);
});

test('Telemetry references: unknown name, non-zipkin type, missing service, extra providers', () => {
  const tel = `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t, namespace: shop}
spec:
  tracing:
  - providers: [{name: nope}]
  - match: {mode: CLIENT}
    providers: [{name: otel}, {name: zipkin}]
  - providers: [{name: lost}]
  - providers: [{name: zipkin}]
`;
  const got = issuesOf(PROVIDERS, tel);
  assert.deepEqual(got.map((i) => [i.kind, i.name, i.path, i.code]), [
    ['Telemetry', 'shop/t', 'spec.tracing[0].providers[0].name', 'RIG307'],
    ['Telemetry', 'shop/t', 'spec.tracing[1].providers[0].name', 'RIG307'],
    ['Telemetry', 'shop/t', 'spec.tracing[1].providers[1]', 'RIG307'],
    ['Telemetry', 'shop/t', 'spec.tracing[2].providers[0].name', 'RIG307'],
  ]);
  assert.match(got[0]!.message, /nope is not defined in meshConfig\.extensionProviders/);
  assert.match(got[1]!.message, /otel is of type opentelemetry; only zipkin is supported/);
  assert.match(got[2]!.message, /only the first tracing provider is used; zipkin is ignored/);
  assert.match(got[3]!.message, /could not find service nowhere\.istio-system\.svc\.cluster\.local/);
});

test('MeshConfig: defaultProviders naming a bad provider, and a legacy zipkin.address with no service', () => {
  const d = issuesOf(`${PROVIDERS}\ndefaultProviders: {tracing: [otel]}`);
  assert.deepEqual(d.map((i) => [i.kind, i.name, i.path]), [['ConfigMap', 'istio', 'data.mesh.defaultProviders.tracing[0]']]);
  const legacy = issuesOf('enableTracing: true\ndefaultConfig:\n  tracing: {zipkin: {address: "jaeger.tracing:9411"}}');
  assert.deepEqual(legacy.map((i) => i.path), ['data.mesh.defaultConfig.tracing.zipkin.address']);
  assert.match(legacy[0]!.message, /could not find service jaeger\.tracing/);
  assert.deepEqual(issuesOf('enableTracing: true\ndefaultConfig:\n  tracing: {zipkin: {address: "zipkin.istio-system:9411"}}'), [], 'a legacy address naming a registry service is fine');
  assert.deepEqual(issuesOf('enableTracing: false\ndefaultConfig:\n  tracing: {zipkin: {address: "jaeger.tracing:9411"}}'), [], 'tracing off: the address is unused');
});
