// envoy: loads Envoy's v3 API definitions from @grpc/grpc-js-xds at run time (never copied here),
// and packs/unpacks the resources both halves of the mesh exchange.
//
// Resources are handled as plain objects in Envoy's canonical field names (snake_case, the same
// shape as Envoy's config dump), with `{"@type": URL, ...}` for every google.protobuf.Any, and
// durations as `{seconds, nanos}`. protobufjs packs nested Anys from the `@type` key.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const xdsPkg = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
export const protoIncludeDirs = [
  join(xdsPkg, 'deps/envoy-api'),
  join(xdsPkg, 'deps/xds'),
  join(xdsPkg, 'deps/googleapis'),
  join(xdsPkg, 'deps/protoc-gen-validate'),
];
// google/protobuf/*.proto ship with protobufjs itself
const pbCommon = join(dirname(require.resolve('protobufjs/package.json')), 'google/protobuf');

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  HttpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  TcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  Fault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  Cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  CorsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  HttpRbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  NetworkRbac: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  JwtAuthn: 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  UpstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  DownstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  OriginalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  TlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  HttpInspector: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  LocalRateLimit: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  HttpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  FileAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  PreviousHostsPredicate: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  PreviousPrioritiesConfig: 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  ZipkinConfig: 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
  ExtAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
} as const;

/** Short names used by CLIs and debug APIs, in xDS order. */
export const XdsTypes = [
  { short: 'clusters', url: TypeUrl.Cluster },
  { short: 'endpoints', url: TypeUrl.ClusterLoadAssignment },
  { short: 'listeners', url: TypeUrl.Listener },
  { short: 'routes', url: TypeUrl.RouteConfiguration },
  { short: 'secrets', url: TypeUrl.Secret },
] as const;

// The data plane's files: the five xDS resource types and every typed_config they may carry that the proxy
// decodes. A nested Any is only expanded when its type is loaded, so these load together.
const dataPlaneFiles = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/config/trace/v3/zipkin.proto',
];
// What only the control plane and tools use (service definitions, bootstrap): loaded on first need.
const restFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  // ext_authz's gRPC Check: a proxy loads it only when a gRPC ext_authz filter is configured
  'envoy/service/auth/v3/external_auth.proto',
];

let rootCache: protobuf.Root | undefined;
let loaded: 'none' | 'data-plane' | 'all' = 'none';

function baseRoot(): protobuf.Root {
  if (rootCache) return rootCache;
  rootCache = resolvingRoot();
  return rootCache;
}

/** An empty root that finds imports in the Envoy API dirs and google/protobuf in protobufjs. */
function resolvingRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (target.startsWith('google/protobuf/')) {
      const p = join(pbCommon, target.slice('google/protobuf/'.length));
      if (existsSync(p)) return p;
    }
    for (const dir of protoIncludeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  return root;
}

/** One root, filled in tiers: the proxy only ever needs the data-plane files (~15% less heap, faster start). */
function loadTier(tier: 'data-plane' | 'all'): protobuf.Root {
  const root = baseRoot();
  if (loaded === 'all' || loaded === tier) return root;
  // Files already in the root are skipped by protobufjs, so a later 'all' only parses the rest.
  root.loadSync(tier === 'all' ? [...dataPlaneFiles, ...restFiles] : dataPlaneFiles, { keepCase: true });
  root.resolveAll();
  loaded = tier;
  return root;
}

/** The protobufjs root holding every Envoy type Rigging uses (loaded once, ~100-200 ms). */
export function envoyRoot(): protobuf.Root {
  return loadTier('all');
}

/** The root with at least the data plane's types (resources and the typed_configs the proxy decodes). */
export function dataPlaneRoot(): protobuf.Root {
  return installedDataPlaneRoot ?? loadTier('data-plane');
}

/** The files of the data-plane tier (a pre-built descriptor of them is checked against this list). */
export const dataPlaneProtoFiles: readonly string[] = dataPlaneFiles;

/** A fresh root with `files` parsed (keepCase, resolved), separate from envoyRoot(): for build-time descriptors. */
export function loadProtoFiles(files: readonly string[]): protobuf.Root {
  const root = resolvingRoot();
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

let installedDataPlaneRoot: protobuf.Root | undefined;
/**
 * Serve dataPlaneRoot() (and so lookupType/unpack of data-plane types) from `root` instead of parsing the data-plane
 * files: the proxy installs a root built from a pre-built JSON descriptor (less heap, no .proto parse). It must hold
 * every type of the data-plane files. Types it lacks still come from envoyRoot(). `undefined` uninstalls.
 */
export function installDataPlaneRoot(root: protobuf.Root | undefined): void {
  installedDataPlaneRoot = root;
  typeCache.clear();
}

export function typeNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

const typeCache = new Map<string, protobuf.Type>();
export function lookupType(urlOrName: string): protobuf.Type {
  let t = typeCache.get(urlOrName);
  if (!t) {
    const name = typeNameOf(urlOrName);
    // Data-plane types first: a proxy then never parses the service and bootstrap definitions.
    const dp = dataPlaneRoot().lookup(name);
    t = dp instanceof protobuf.Type ? dp : envoyRoot().lookupType(name);
    typeCache.set(urlOrName, t);
  }
  return t;
}

export interface AnyMessage { type_url: string; value: Uint8Array }

/** Encode a canonical plain object of type `url` to a packed Any. Throws on fields the type lacks. */
export function pack(url: string, obj: Record<string, unknown>): AnyMessage {
  const t = lookupType(url);
  const { ['@type']: _drop, ...rest } = obj;
  // fromObject first: verify() on the plain object rejects enum names ("EDS"), which are the
  // canonical form here; verifying the converted message still catches wrongly typed values.
  const msg = t.fromObject(rest);
  const err = t.verify(msg);
  if (err) throw new Error(`${typeNameOf(url)}: ${err}`);
  return { type_url: url, value: t.encode(msg).finish() };
}

export const toObjectOptions: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: String, json: true, defaults: false, arrays: false };

/** Decode a packed Any back to the canonical plain object (nested Anys carry `@type`). */
export function unpack(any: AnyMessage): Record<string, unknown> {
  const t = lookupType(any.type_url);
  const msg = t.decode(any.value);
  return t.toObject(msg, toObjectOptions) as Record<string, unknown>;
}

/** Round-trip check used by tests and golden files: encode then decode. */
export function normalize(url: string, obj: Record<string, unknown>): Record<string, unknown> {
  return unpack(pack(url, obj));
}

/** The xDS resource name of a canonical resource object (CLA uses cluster_name). */
export function resourceName(obj: Record<string, unknown>): string {
  return String(obj.name ?? obj.cluster_name ?? '');
}
