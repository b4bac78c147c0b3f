// test/xds-server: a tiny hand-written generator (proxyless-gRPC shaped) so the server is tested apart
// from the real translation.
import { TypeUrl } from '../../src/envoy/protos.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';

export interface TinyMesh { services: { host: string; port: number; endpoints: { ip: string; port: number }[] }[]; routeHeader?: string; /** changes every listener's stat_prefix, to force LDS changes */ tag?: string }

export function tinyConfig(mesh: TinyMesh): GeneratedConfig {
  const out: GeneratedConfig = { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
  for (const s of mesh.services) {
    const hp = `${s.host}:${s.port}`;
    const cluster = `outbound|${s.port}||${s.host}`;
    out.listeners.push({
      name: hp,
      api_listener: { api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: mesh.tag ? `${hp}.${mesh.tag}` : hp,
        rds: { route_config_name: hp, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      } },
    });
    out.routes.push({
      name: hp,
      virtual_hosts: [{ name: hp, domains: [hp, s.host], routes: [{
        match: mesh.routeHeader ? { prefix: '/', headers: [{ name: mesh.routeHeader, present_match: true }] } : { prefix: '/' },
        route: { cluster },
      }] }],
    });
    out.clusters.push({ name: cluster, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, lb_policy: 'ROUND_ROBIN' });
    out.endpoints.push({
      cluster_name: cluster,
      endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: s.endpoints.map((e) => ({ endpoint: { address: { socket_address: { address: e.ip, port_value: e.port } } } })) }],
    });
  }
  return out;
}

export const NODE_ID = 'sidecar~127.0.0.1~client.default~default.svc.cluster.local';
