// xds/translate/listeners: PeerAuthentication precedence — mesh, namespace, workload, port; UNSET inherits; default PERMISSIVE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PushSnapshot } from '../../../model/types.ts';
import { namespaceMtlsMode, workloadMtlsMode, mtlsChains } from './mtls.ts';

function snap(pas: { ns: string; name: string; spec: Record<string, unknown> }[]): PushSnapshot {
  return {
    mesh: { rootNamespace: 'istio-system' },
    peerAuthentications: pas.map((p) => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { namespace: p.ns, name: p.name }, spec: p.spec })),
  } as unknown as PushSnapshot;
}

test('default is PERMISSIVE; mesh-wide, then namespace, then workload, then port', () => {
  assert.equal(namespaceMtlsMode(snap([]), 'a'), 'PERMISSIVE');
  const s = snap([
    { ns: 'istio-system', name: 'default', spec: { mtls: { mode: 'STRICT' } } },
    { ns: 'legacy', name: 'default', spec: { mtls: { mode: 'DISABLE' } } },
    { ns: 'a', name: 'unset', spec: { mtls: { mode: 'UNSET' } } },
    { ns: 'a', name: 'web', spec: { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '9090': { mode: 'DISABLE' }, '8443': { mode: 'UNSET' } } } },
  ]);
  assert.equal(namespaceMtlsMode(s, 'a'), 'STRICT', 'UNSET inherits the mesh policy');
  assert.equal(namespaceMtlsMode(s, 'legacy'), 'DISABLE');
  assert.equal(workloadMtlsMode(s, { namespace: 'a', labels: { app: 'db' } }, 80), 'STRICT');
  assert.equal(workloadMtlsMode(s, { namespace: 'a', labels: { app: 'web' } }, 80), 'PERMISSIVE');
  assert.equal(workloadMtlsMode(s, { namespace: 'a', labels: { app: 'web' } }, 9090), 'DISABLE');
  assert.equal(workloadMtlsMode(s, { namespace: 'a', labels: { app: 'web' } }, 8443), 'PERMISSIVE', 'port UNSET inherits the workload mode');
  assert.equal(workloadMtlsMode(s, { namespace: 'legacy', labels: { app: 'web' } }, 9090), 'DISABLE', 'selectors apply in their own namespace only');
});

test('a badly typed policy is ignored, not thrown on', () => {
  const s = snap([{ ns: 'istio-system', name: 'x', spec: { mtls: 'STRICT', portLevelMtls: 5 } }, { ns: 'a', name: 'y', spec: { selector: { matchLabels: { app: 'w' } }, portLevelMtls: { 80: { mode: 'bogus' } } } }]);
  assert.equal(workloadMtlsMode(s, { namespace: 'a', labels: { app: 'w' } }, 80), 'PERMISSIVE');
});

test('chains per mode', () => {
  const plain = { name: 'inbound|80||', filter_chain_match: { destination_port: { value: 80 } }, filters: [{ name: 'f' }] };
  assert.deepEqual(mtlsChains('DISABLE', plain), [plain]);
  const strict = mtlsChains('STRICT', plain);
  assert.equal(strict.length, 1);
  assert.equal(strict[0]!.name, 'inbound-mtls|80||');
  assert.deepEqual(strict[0]!.filter_chain_match, { destination_port: { value: 80 }, transport_protocol: 'tls' });
  const perm = mtlsChains('PERMISSIVE', plain);
  assert.deepEqual(perm.map((c) => [c.name, (c.filter_chain_match as { transport_protocol: string }).transport_protocol, !!c.transport_socket]), [
    ['inbound-mtls|80||', 'tls', true], ['inbound|80||', 'raw_buffer', false],
  ]);
});
