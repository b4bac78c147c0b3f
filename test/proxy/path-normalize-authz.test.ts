// test/proxy: path normalization end to end — the control plane's emitted inbound HCM (MeshConfig pathNormalization
// + an AuthorizationPolicy DENY on /admin) decoded and served by a proxy Engine on 127.0.0.1; requests spelled
// //admin, /./admin, /x/../admin, /%2Fadmin must be denied like /admin, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REVIEWS_MESH, pathPolicy } from '../helpers/fixtures.ts';
import { reviewsInbound } from '../helpers/inbound.ts';
import { decodeObject, ResourceType } from '../../src/proxy/config/decode.ts';
import type { ListenerConfig } from '../../src/proxy/config/types.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { parseMeshConfig } from '../../src/model/mesh.ts';
import type { EnvoyResource } from '../../src/xds/translate/types.ts';
import { backend, cluster, snapshot, testRouter, rawExchange } from './engine-fixtures.ts';

const MESH = REVIEWS_MESH + pathPolicy('deny-admin', 'DENY', ['/admin']);

function meshConfigMap(normalization?: string): string {
  if (!normalization) return '';
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    pathNormalization: {normalization: ${normalization}}
`;
}

/** The emitted inbound HCM for port 9080, re-homed on a plain 127.0.0.1:0 listener routing to cluster "app". */
function emittedListener(normalization?: string): { raw: EnvoyResource; hcm: Record<string, unknown> } {
  const inbound = reviewsInbound(MESH + meshConfigMap(normalization), 'path-normalize.yaml');
  const chain = (inbound.filter_chains as any[]).find((c) => c.filter_chain_match?.destination_port?.value === 9080
    && c.filters?.[0]?.name === 'envoy.filters.network.http_connection_manager' && !c.transport_socket);
  assert.ok(chain, 'a plaintext HTTP chain for 9080');
  const hcm = { ...chain.filters[0].typed_config };
  // keep every emitted HCM field (normalization, auth filters); only the route points at the test backend
  delete hcm.rds;
  hcm.route_config = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] };
  const raw = {
    name: 'in', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
  return { raw, hcm };
}

async function withProxy(normalization: string | undefined, run: (get: (path: string) => Promise<number>, seen: string[]) => Promise<void>): Promise<void> {
  const seen: string[] = [];
  const be = await backend((req, res) => { seen.push(req.url ?? ''); res.end('ok'); });
  const engine = new Engine({ compileRouter: testRouter });
  try {
    const d = decodeObject(ResourceType.Listener, emittedListener(normalization).raw);
    assert.equal(d.errors, undefined, JSON.stringify(d.errors));
    await engine.apply(snapshot([d.value as ListenerConfig], [cluster('app', [{ address: '127.0.0.1', port: be.port }])]));
    const port = engine.portOf('in');
    assert.ok(port, 'listener bound');
    /** The head is complete and the body has content-length bytes. */
    const complete = (t: string): boolean => {
      const end = t.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(t);
      return end >= 0 && !!len && t.length >= end + 4 + Number(len[1]);
    };
    const get = async (path: string): Promise<number> => {
      const text = await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: reviews\r\nconnection: close\r\n\r\n`, complete);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      assert.ok(m, `a response to ${path}: ${JSON.stringify(text)}`);
      return Number(m[1]);
    };
    await run(get, seen);
  } finally {
    engine.close();
    await be.close();
  }
}

test('emitted HCMs carry Istio\'s mapping of pathNormalization', () => {
  const pick = (n?: string) => {
    const { hcm } = emittedListener(n);
    return { np: hcm.normalize_path, ms: hcm.merge_slashes, esc: hcm.path_with_escaped_slashes_action };
  };
  assert.deepEqual(pick(), { np: { value: true }, ms: undefined, esc: 'KEEP_UNCHANGED' });
  assert.deepEqual(pick('NONE'), { np: { value: false }, ms: undefined, esc: 'KEEP_UNCHANGED' });
  assert.deepEqual(pick('MERGE_SLASHES'), { np: { value: true }, ms: true, esc: 'KEEP_UNCHANGED' });
  assert.deepEqual(pick('DECODE_AND_MERGE_SLASHES'), { np: { value: true }, ms: true, esc: 'UNESCAPE_AND_FORWARD' });
});

test('MERGE_SLASHES: a DENY on /admin also denies //admin, /./admin, /x/../admin; the app sees normalized paths', async () => {
  await withProxy('MERGE_SLASHES', async (get, seen) => {
    assert.equal(await get('/admin'), 403);
    for (const p of ['//admin', '/./admin', '/x/../admin', '/%61dmin', '/x\\..\\admin', '//x/../admin']) assert.equal(await get(p), 403, p);
    assert.equal(await get('/x//y/./z'), 200);
    assert.equal(await get('/%2Fadmin'), 200, 'an escaped slash is kept as data without DECODE_AND_MERGE_SLASHES');
    assert.deepEqual(seen, ['/x/y/z', '/%2Fadmin']);
  });
});

test('DECODE_AND_MERGE_SLASHES: /%2Fadmin and /x%2F..%2Fadmin are denied too', async () => {
  await withProxy('DECODE_AND_MERGE_SLASHES', async (get, seen) => {
    for (const p of ['/admin', '/%2Fadmin', '/%2fadmin', '/x%2F..%2Fadmin', '/%5Cadmin', '//admin']) assert.equal(await get(p), 403, p);
    assert.equal(await get('/a%2Fb'), 200);
    assert.deepEqual(seen, ['/a/b']);
  });
});

test('BASE (the default): dot segments are removed but //admin is a different path, as in Istio', async () => {
  await withProxy(undefined, async (get, seen) => {
    for (const p of ['/admin', '/./admin', '/x/../admin']) assert.equal(await get(p), 403, p);
    assert.equal(await get('//admin'), 200);
    assert.deepEqual(seen, ['//admin']);
  });
});

test('NONE: no normalization, so only the exact spelling is denied', async () => {
  await withProxy('NONE', async (get, seen) => {
    assert.equal(await get('/admin'), 403);
    assert.equal(await get('/./admin'), 200);
    assert.deepEqual(seen, ['/./admin']);
  });
});

test('the proxy decodes path_with_escaped_slashes_action and NACKs an unknown value by field path', () => {
  const { raw, hcm } = emittedListener('DECODE_AND_MERGE_SLASHES');
  const ok = decodeObject(ResourceType.Listener, raw);
  assert.equal(ok.errors, undefined);
  const h = (ok.value as ListenerConfig).filterChains[0]!.handler as { pathWithEscapedSlashesAction?: string };
  assert.equal(h.pathWithEscapedSlashesAction, 'UNESCAPE_AND_FORWARD');
  hcm.path_with_escaped_slashes_action = 'SOMETIMES';
  const bad = decodeObject(ResourceType.Listener, { ...raw, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] });
  assert.ok(bad.errors?.some((e) => /path_with_escaped_slashes_action/.test(JSON.stringify(e))), JSON.stringify(bad.errors));
});

test('MeshConfig pathNormalization: DEFAULT reads as BASE; a bad value warns with its field path and keeps BASE', () => {
  assert.deepEqual(parseMeshConfig('pathNormalization: {normalization: DEFAULT}').mesh.pathNormalization, { normalization: 'BASE' });
  assert.deepEqual(parseMeshConfig('pathNormalization: {normalization: MERGE_SLASHES}').mesh.pathNormalization, { normalization: 'MERGE_SLASHES' });
  const bad = parseMeshConfig('pathNormalization: {normalization: SOMETIMES}');
  assert.equal(bad.mesh.pathNormalization, undefined);
  assert.deepEqual(bad.issues.map((i) => i.path), ['data.mesh.pathNormalization.normalization']);
  assert.deepEqual(parseMeshConfig('pathNormalization: NONE').issues.map((i) => i.path), ['data.mesh.pathNormalization']);
});

test('REJECT_REQUEST answers 400 and UNESCAPE_AND_REDIRECT 307 to the unescaped path, over a real socket', async () => {
  for (const [action, path, status, location] of [
    ['REJECT_REQUEST', '/a%2Fadmin', 400, undefined],
    ['UNESCAPE_AND_REDIRECT', '/x/..%2Fadmin?q=1', 307, '/admin?q=1'],
    ['REJECT_REQUEST', '/plain', 200, undefined],
  ] as const) {
    const seen: string[] = [];
    const be = await backend((req, res) => { seen.push(req.url ?? ''); res.end('ok'); });
    const engine = new Engine({ compileRouter: testRouter });
    try {
      const { raw, hcm } = emittedListener('DECODE_AND_MERGE_SLASHES');
      hcm.path_with_escaped_slashes_action = action;
      const d = decodeObject(ResourceType.Listener, raw);
      assert.equal(d.errors, undefined, JSON.stringify(d.errors));
      await engine.apply(snapshot([d.value as ListenerConfig], [cluster('app', [{ address: '127.0.0.1', port: be.port }])]));
      const port = engine.portOf('in');
      assert.ok(port);
      const text = await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: reviews\r\nconnection: close\r\n\r\n`, () => false);
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), `${action} ${path}: ${text}`);
      if (location) assert.match(text, new RegExp(`\\r\\nlocation: ${location.replace(/[?.]/g, '\\$&')}\\r\\n`, 'i'));
      assert.deepEqual(seen, status === 200 ? [path] : [], 'only the unaffected request reaches the app');
    } finally {
      engine.close();
      await be.close();
    }
  }
});
