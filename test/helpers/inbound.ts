// test/helpers: the inbound side of workload reviews-1 (10.0.0.5, app: reviews) that authz tests inspect — its emitted
// virtualInbound listener for some Istio YAML, its ADS node, and virtualInbound's HCM in an LDS response.
import assert from 'node:assert/strict';
import { parseValidConfig, makeProxy, contextFor } from './golden.ts';
import { generateListeners } from '../../src/xds/translate/generate.ts';
import { makeNode } from '../../src/xds/server/ads-client.ts';
import { unpack } from '../../src/envoy/protos.ts';
import type { DiscoveryResponse } from '../../src/xds/server/ads-service.ts';

/** The virtualInbound listener the control plane emits for reviews-1 from `yaml` (Envoy's config-dump form). */
export function reviewsInbound(yaml: string, file = 'inbound.yaml'): Record<string, any> {
  const ctx = contextFor(parseValidConfig(yaml, file));
  const proxy = makeProxy({ name: 'reviews-1', ip: '10.0.0.5', labels: { app: 'reviews' } });
  const inbound = generateListeners(ctx, proxy).find((l) => l.name === 'virtualInbound') as Record<string, any> | undefined;
  assert.ok(inbound, 'virtualInbound emitted');
  return inbound;
}

/** reviews-1's ADS node, as its sidecar announces itself. */
export function reviewsNode(): ReturnType<typeof makeNode> {
  return makeNode('sidecar~10.0.0.5~reviews-1.default~default.svc.cluster.local', { NAMESPACE: 'default', LABELS: { app: 'reviews' } });
}

/** The typed_config of virtualInbound's first HTTP connection manager in an LDS response (undefined: no HCM). */
export function inboundHcm(r: DiscoveryResponse | undefined): Record<string, any> | undefined {
  assert.ok(r, 'expected an LDS response');
  const l = (r.resources ?? []).map((a) => unpack(a)).find((x) => x.name === 'virtualInbound') as Record<string, any>;
  const hcm = l.filter_chains.flatMap((c: any) => c.filters).find((f: any) => f.name === 'envoy.filters.network.http_connection_manager');
  return hcm?.typed_config;
}
