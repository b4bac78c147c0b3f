// xds/translate/listeners: the HttpConnectionManager network filter every HTTP listener uses. Filter order is
// the shared contract: authn/authz (jwt_authn, RBAC; see ../security), fault, cors, router — the router must be
// last (grpc-js-xds and Envoy both reject it elsewhere). Routes come over RDS from the ADS stream, or inline for inbound.
import type { MeshConfig } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { ADS_CONFIG_SOURCE } from '../clusters/tls.ts';
import { meshAccessLog } from '../telemetry/accesslog.ts';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';

const fault = { name: 'envoy.filters.http.fault', typed_config: { '@type': TypeUrl.Fault } };
const cors = { name: 'envoy.filters.http.cors', typed_config: { '@type': TypeUrl.Cors } };
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };

/** HTTP filters in contract order; proxyless gRPC gets only what grpc-js-xds implements (fault, router). */
export function httpFilters(kind: HcmKind): EnvoyResource[] {
  if (kind === 'grpc') return [fault, router];
  if (kind === 'grpc-server') return [router];
  // inbound traffic was already shaped by the caller's sidecar; only authn/authz (HcmOptions.authFilters) and the router apply
  if (kind === 'inbound') return [router];
  return [fault, cors, router];
}

export type HcmKind = 'sidecar' | 'gateway' | 'inbound' | 'grpc' | 'grpc-server';

export interface HcmOptions {
  statPrefix: string;
  rds?: string;
  routeConfig?: EnvoyResource;
  kind: HcmKind;
  mesh: MeshConfig;
  /** jwt_authn / RBAC filters (security/index.ts) placed first; ignored for proxyless gRPC. */
  authFilters?: EnvoyResource[];
}

/** The HCM config (typed_config body) for a listener filter or an api_listener. */
export function hcmConfig(o: HcmOptions): EnvoyResource {
  const h: Record<string, unknown> = { '@type': TypeUrl.HttpConnectionManager, stat_prefix: o.statPrefix };
  if (o.rds !== undefined) h.rds = { route_config_name: o.rds, config_source: ADS_CONFIG_SOURCE };
  else if (o.routeConfig) h.route_config = o.routeConfig;
  if (o.kind === 'grpc' || o.kind === 'grpc-server') {
    h.http_filters = httpFilters(o.kind);
    return h;
  }
  h.http_filters = [...(o.authFilters ?? []), ...httpFilters(o.kind)];
  // gateways are the edge: trust their own peer address for x-forwarded-for; sidecars keep the client's
  if (o.kind === 'gateway') h.use_remote_address = { value: true };
  h.generate_request_id = { value: true };
  // inbound: tell the app who called (x-forwarded-client-cert from the peer's mTLS certificate), as Istio does
  if (o.kind === 'inbound') {
    h.forward_client_cert_details = 'APPEND_FORWARD';
    h.set_current_client_cert_details = { subject: { value: true }, dns: true, uri: true };
  }
  Object.assign(h, pathNormalization(o.mesh));
  h.upgrade_configs = [{ upgrade_type: 'websocket' }];
  if (o.mesh.enableTracing) {
    const sampling = o.mesh.defaultConfig?.tracing?.sampling ?? 1;
    h.tracing = { client_sampling: { value: 100 }, random_sampling: { value: sampling }, overall_sampling: { value: 100 } };
  }
  const al = meshAccessLog(o.mesh);
  if (al) h.access_log = al;
  return h;
}

/**
 * MeshConfig pathNormalization as HCM fields, Istio's mapping (every sidecar inbound/outbound and gateway HCM; not
 * proxyless gRPC): NONE turns normalize_path off; BASE (the default) normalizes dot segments and %-encoded unreserved
 * characters; MERGE_SLASHES adds merge_slashes; DECODE_AND_MERGE_SLASHES also unescapes %2F / %5C and forwards.
 * Without it an AuthorizationPolicy on /admin is dodged by //admin, /./admin or /x/../admin.
 */
export function pathNormalization(mesh: MeshConfig): Record<string, unknown> {
  const n = mesh.pathNormalization?.normalization ?? 'BASE';
  const out: Record<string, unknown> = { normalize_path: { value: n !== 'NONE' } };
  if (n === 'MERGE_SLASHES' || n === 'DECODE_AND_MERGE_SLASHES') out.merge_slashes = true;
  out.path_with_escaped_slashes_action = n === 'DECODE_AND_MERGE_SLASHES' ? 'UNESCAPE_AND_FORWARD' : 'KEEP_UNCHANGED';
  return out;
}

export function hcmFilter(o: HcmOptions): EnvoyResource {
  return { name: HCM_FILTER, typed_config: hcmConfig(o) };
}

export function tcpProxyFilter(statPrefix: string, mesh: MeshConfig, target: { cluster: string } | { weighted: { name: string; weight: number }[] }, idleTimeout?: EnvoyResource): EnvoyResource {
  const t: Record<string, unknown> = { '@type': TypeUrl.TcpProxy, stat_prefix: statPrefix };
  if (idleTimeout) t.idle_timeout = idleTimeout;
  if ('cluster' in target) t.cluster = target.cluster;
  else if (target.weighted.length === 1) t.cluster = target.weighted[0]!.name;
  else t.weighted_clusters = { clusters: target.weighted };
  const al = meshAccessLog(mesh);
  if (al) t.access_log = al;
  return { name: TCP_PROXY_FILTER, typed_config: t };
}

export function socketAddress(address: string, port: number): EnvoyResource {
  return { socket_address: { address, port_value: port } };
}
