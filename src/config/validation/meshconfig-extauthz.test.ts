// config/validation: MeshConfig extensionProviders for AuthorizationPolicy CUSTOM (envoyExtAuthzHttp / Grpc) —
// a valid provider passes; each bad field is reported with its path; duplicate names are errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues } from './context.ts';
import { checkMeshConfigText } from './meshconfig.ts';

function check(yaml: string): string[] {
  const issues = new Issues();
  checkMeshConfigText(yaml, 'data.mesh', issues);
  return issues.list.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);
}

test('a complete envoyExtAuthzHttp provider and a gRPC one validate', () => {
  assert.deepEqual(check(`extensionProviders:
- name: oauth2
  envoyExtAuthzHttp:
    service: foo/authz.foo.svc.cluster.local
    port: "8000"
    timeout: 2.5s
    pathPrefix: /check
    failOpen: true
    statusOnError: "503"
    includeRequestHeadersInCheck: [x-ext-authz, "x-user-*"]
    includeAdditionalHeadersInCheck: {x-from: sidecar}
    headersToUpstreamOnAllow: [x-user]
    headersToDownstreamOnDeny: [x-reason]
- name: opa
  envoyExtAuthzGrpc: {service: opa.foo.svc.cluster.local, port: 9191}
`), []);
});

test('bad provider fields are reported with their paths', () => {
  const errs = check(`extensionProviders:
- name: a
  envoyExtAuthzHttp: {service: "", port: 70000, timeout: soon, pathPrefix: check, statusOnError: "abc", headersToUpstreamOnAllow: ["", "bad name"]}
- name: a
  envoyExtAuthzGrpc: {service: "bad_host!", port: 9000}
`);
  const paths = errs.map((e) => e.slice(0, e.indexOf(':')));
  for (const want of [
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.service',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.port',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.timeout',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.pathPrefix',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.statusOnError',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.headersToUpstreamOnAllow[0]',
    'data.mesh.extensionProviders[0].envoyExtAuthzHttp.headersToUpstreamOnAllow[1]',
    'data.mesh.extensionProviders[1].name',
    'data.mesh.extensionProviders[1].envoyExtAuthzGrpc.service',
  ]) assert.ok(paths.includes(want), `${want} reported (got ${JSON.stringify(errs, null, 1)})`);
  assert.match(errs.find((e) => e.includes('[1].name'))!, /duplicate extension provider name a/);
});
