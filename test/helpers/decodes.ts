// test/helpers: the data plane's own decoders must accept every resource the control plane generates for a sidecar
// or gateway (a proxy NACKs what it cannot decode) — checked through a protobuf round trip, as the wire carries it.
import assert from 'node:assert/strict';
import { decodeCluster, decodeClusterLoadAssignment, decodeListener, decodeRouteConfiguration } from '../../src/proxy/config/decode.ts';
import { normalize, TypeUrl } from '../../src/envoy/protos.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';

/** Fails naming `name` and the resource when a decoder reports errors for a listener, cluster, CLA or route config. */
export function assertDecodes(name: string, cfg: GeneratedConfig): void {
  const check = (url: string, list: Record<string, unknown>[], decode: (o: Record<string, unknown>) => { errors?: unknown[] }) => {
    for (const r of list) {
      const res = decode(normalize(url, r));
      assert.equal(res.errors, undefined, `${name} ${String(r.name ?? r.cluster_name)}: ${JSON.stringify(res.errors)}`);
    }
  };
  check(TypeUrl.Listener, cfg.listeners, decodeListener);
  check(TypeUrl.Cluster, cfg.clusters, decodeCluster);
  check(TypeUrl.ClusterLoadAssignment, cfg.endpoints, decodeClusterLoadAssignment);
  check(TypeUrl.RouteConfiguration, cfg.routes, decodeRouteConfiguration);
}
