// test: a policy change reaches the affected proxies — a real control plane (memory store, default pipeline) and two
// raw ADS clients: applying an AuthorizationPolicy that selects one workload pushes that proxy new listeners with
// the RBAC filter and leaves the other proxy's listeners alone; deleting it pushes them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane } from '../../../src/control-plane/control-plane.ts';
import { MemoryStore } from '../../../src/config/store/memory.ts';
import { RawAdsClient, makeNode } from '../../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../../src/envoy/protos.ts';
import { logger } from '../../../src/common/logger.ts';
import { parseValidConfig } from '../../helpers/golden.ts';
import { REVIEWS_MESH, workloadEntry } from '../../helpers/fixtures.ts';
import { inboundHcm, reviewsNode } from '../../helpers/inbound.ts';
import type { DiscoveryResponse } from '../../../src/xds/server/ads-service.ts';

const MESH = parseValidConfig(REVIEWS_MESH + workloadEntry('ratings-1', '10.0.0.6', { labels: { app: 'ratings' } }), 'mesh.yaml');

const POLICY = parseValidConfig(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-post, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {methods: ["POST"]}}]}]
`, 'policy.yaml');

/** The names of the HTTP filters on virtualInbound's first HCM chain. */
function inboundHttpFilters(r: DiscoveryResponse | undefined): string[] {
  const hcm = inboundHcm(r);
  return hcm ? hcm.http_filters.map((f: any) => f.name) : [];
}

test('applying and deleting an AuthorizationPolicy pushes the selected proxy only', async () => {
  const store = new MemoryStore(MESH);
  const log = logger('authz-push-test');
  log.level = 'silent';
  const cp = await startControlPlane({ store, xdsPort: 0, debugPort: 0, debounceMs: 1, debounceMaxMs: 5, logger: log });
  const reviews = new RawAdsClient(`127.0.0.1:${cp.xdsPort}`);
  const ratings = new RawAdsClient(`127.0.0.1:${cp.xdsPort}`);
  try {
    reviews.send({ node: reviewsNode(), type_url: TypeUrl.Listener });
    ratings.send({ node: makeNode('sidecar~10.0.0.6~ratings-1.default~default.svc.cluster.local', { NAMESPACE: 'default', LABELS: { app: 'ratings' } }), type_url: TypeUrl.Listener });
    const r1 = await reviews.next(5000);
    assert.deepEqual(inboundHttpFilters(r1), ['envoy.filters.http.router']);
    reviews.ack(r1!);
    const q1 = await ratings.next(5000);
    assert.ok(q1);
    ratings.ack(q1);

    assert.deepEqual(await store.apply(POLICY), []);
    const r2 = await reviews.next(5000);
    assert.deepEqual(inboundHttpFilters(r2), ['envoy.filters.http.rbac', 'envoy.filters.http.router']);
    reviews.ack(r2!);
    assert.equal(await ratings.next(300), undefined, 'a proxy the policy does not select gets no push');

    await store.delete([{ kind: 'AuthorizationPolicy', namespace: 'default', name: 'deny-post' }]);
    const r3 = await reviews.next(5000);
    assert.deepEqual(inboundHttpFilters(r3), ['envoy.filters.http.router']);
    reviews.ack(r3!);
  } finally {
    reviews.close();
    ratings.close();
    await cp.close();
  }
});
