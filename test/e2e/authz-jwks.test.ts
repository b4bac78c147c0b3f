// test: jwksUri end to end through a real control plane — a RequestAuthentication naming a JWKS on a loopback server:
// the proxy first gets the unverifiable JWKS (fetch pending), then a push with the fetched keys; /debug/configz
// shows the JWKS state and, for a URI that fails, an issue naming the policy and the URI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startControlPlane } from '../../src/control-plane/control-plane.ts';
import { MemoryStore } from '../../src/config/store/memory.ts';
import { RawAdsClient } from '../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { logger } from '../../src/common/logger.ts';
import { parseValidConfig } from '../helpers/golden.ts';
import { REVIEWS_MESH } from '../helpers/fixtures.ts';
import { inboundHcm, reviewsNode } from '../helpers/inbound.ts';
import { FAKE_JWKS } from '../../src/xds/translate/security/index.ts';
import type { DiscoveryResponse } from '../../src/xds/server/ads-service.ts';

const JWKS = '{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}';

function inlineJwks(r: DiscoveryResponse | undefined): string[] {
  const jwt = inboundHcm(r)?.http_filters.find((f: any) => f.name === 'envoy.filters.http.jwt_authn');
  return jwt ? Object.values(jwt.typed_config.providers).map((p: any) => p.local_jwks.inline_string) : [];
}

test('a jwksUri is fetched, inlined and pushed; a failing one is reported in /debug/configz', async () => {
  const idp = createServer((req, res) => {
    if (req.url === '/jwks') { res.end(JWKS); return; }
    res.writeHead(503); res.end();
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const store = new MemoryStore(parseValidConfig(`${REVIEWS_MESH}apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules:
  - {issuer: good, jwksUri: "${base}/jwks"}
  - {issuer: bad, jwksUri: "${base}/broken"}
`, 'mesh.yaml'));
  const log = logger('authz-jwks-e2e');
  log.level = 'silent';
  const cp = await startControlPlane({ store, xdsPort: 0, debugPort: 0, debounceMs: 1, debounceMaxMs: 5, logger: log });
  const c = new RawAdsClient(`127.0.0.1:${cp.xdsPort}`);
  try {
    c.send({ node: reviewsNode(), type_url: TypeUrl.Listener });
    let keys: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await c.next(3000);
      if (!r) break;
      c.ack(r);
      keys = inlineJwks(r);
      if (keys[0] === JWKS) break;
      assert.deepEqual(keys, [FAKE_JWKS, FAKE_JWKS], 'before the fetch: fail closed');
    }
    assert.deepEqual(keys, [JWKS, FAKE_JWKS]);
    const configz = await (await fetch(`http://127.0.0.1:${cp.debugPort}/debug/configz`)).json() as Record<string, any>;
    const bad = configz.jwks.find((j: any) => j.uri === `${base}/broken`);
    assert.equal(bad.state, 'failed');
    assert.deepEqual(bad.policies, ['default/jwt']);
    const issue = configz.securityIssues.find((i: any) => i.code === 'RIG306');
    assert.equal(issue.name, 'default/jwt');
    assert.match(issue.message, /\/broken/);
  } finally {
    c.close();
    await cp.close();
    idp.closeAllConnections();
    await new Promise<void>((r) => idp.close(() => r()));
  }
});
