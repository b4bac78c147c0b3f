// xds/server (serving): the snapshot cache — per proxy, per type, each resource packed once with a
// content hash as its version. Kept apart from the stream protocols (SotW, delta), as
// go-control-plane keeps its SnapshotCache apart from its stream servers.
import { createHash } from 'node:crypto';
import { pack, resourceName, TypeUrl, XdsTypes } from '../../envoy/protos.ts';
import { RigError, ErrorCodes, errorMessage } from '../../common/errors.ts';
import type { EnvoyResource, GeneratedConfig } from '../translate/types.ts';
import type { WireAny } from './ads-service.ts';

export interface CachedResource {
  name: string;
  /** Content hash of the encoded resource: the per-resource version (delta) and the input of SotW versions. */
  hash: string;
  resource: EnvoyResource;
  any: WireAny;
}

export type TypeResources = ReadonlyMap<string, CachedResource>;

export interface NodeSnapshot {
  /** The config version (from XdsServer.update) this snapshot was generated from. */
  readonly version: string;
  readonly types: ReadonlyMap<string, TypeResources>;
  /** Resources that could not be encoded or referenced resources that are missing (Consistent()). */
  readonly problems: readonly RigError[];
}

const keyOfType: Record<string, keyof GeneratedConfig> = {
  [TypeUrl.Listener]: 'listeners',
  [TypeUrl.RouteConfiguration]: 'routes',
  [TypeUrl.Cluster]: 'clusters',
  [TypeUrl.ClusterLoadAssignment]: 'endpoints',
  [TypeUrl.Secret]: 'secrets',
};

/** Type URLs this server answers. */
export const servedTypes: ReadonlySet<string> = new Set(Object.keys(keyOfType));

// Encoding is the costly part of a push. Generators memoize resources shared by many proxies, so
// the same object is usually handed to us many times: encode it once per object identity.
// Objects that are equal but not identical (each proxy, each push builds its own) are found by their
// JSON text, which costs a fraction of protobuf encoding. That cache keeps two generations (the current
// and the previous push), so it is bounded by what is in use.
const encoded = new WeakMap<object, CachedResource>();
let byContent = new Map<string, CachedResource>();
let byContentPrev = new Map<string, CachedResource>();

/** Start a new generation of the content cache (called once per push). */
export function rotateEncodingCache(): void {
  byContentPrev = byContent;
  byContent = new Map();
}

export function encodeResource(typeUrl: string, resource: EnvoyResource): CachedResource {
  const hit = encoded.get(resource);
  if (hit) return hit;
  const key = typeUrl + '\n' + JSON.stringify(resource);
  let c = byContent.get(key);
  if (!c) {
    c = byContentPrev.get(key);
    if (!c) {
      const any = pack(typeUrl, resource);
      const hash = createHash('sha1').update(any.value).digest('base64url').slice(0, 12);
      c = { name: resourceName(resource), hash, resource, any };
    }
    byContent.set(key, c);
  }
  encoded.set(resource, c);
  return c;
}

/** Builds a node snapshot from generated config; bad resources are dropped and reported, never thrown. */
export function buildNodeSnapshot(version: string, config: GeneratedConfig): NodeSnapshot {
  const types = new Map<string, Map<string, CachedResource>>();
  const problems: RigError[] = [];
  for (const [url, key] of Object.entries(keyOfType)) {
    const m = new Map<string, CachedResource>();
    for (const r of config[key] ?? []) {
      try {
        const c = encodeResource(url, r);
        if (!c.name) throw new Error('resource has no name');
        if (m.has(c.name)) problems.push(new RigError(ErrorCodes.XDS_ENCODE, `duplicate ${key} resource "${c.name}": keeping the first`, { type: url, name: c.name }));
        else m.set(c.name, c);
      } catch (e) {
        problems.push(new RigError(ErrorCodes.XDS_ENCODE, `${key} resource "${resourceName(r)}" cannot be encoded: ${errorMessage(e)}`, { type: url, name: resourceName(r) }));
      }
    }
    types.set(url, m);
  }
  problems.push(...consistencyProblems(types));
  return { version, types, problems };
}

/** go-control-plane's Consistent(): every EDS cluster has a CLA, every RDS name a route config. */
function consistencyProblems(types: ReadonlyMap<string, TypeResources>): RigError[] {
  const out: RigError[] = [];
  const clas = types.get(TypeUrl.ClusterLoadAssignment) ?? new Map();
  for (const c of types.get(TypeUrl.Cluster)?.values() ?? []) {
    const r = c.resource as { type?: string; eds_cluster_config?: { service_name?: string } };
    if (r.type !== 'EDS') continue;
    const eds = r.eds_cluster_config?.service_name || c.name;
    if (!clas.has(eds)) out.push(new RigError(ErrorCodes.XDS_ENCODE, `cluster "${c.name}" uses EDS but no ClusterLoadAssignment "${eds}" was generated`, { name: c.name }));
  }
  const routes = types.get(TypeUrl.RouteConfiguration) ?? new Map();
  for (const l of types.get(TypeUrl.Listener)?.values() ?? []) {
    for (const name of rdsNames(l.resource)) {
      if (!routes.has(name)) out.push(new RigError(ErrorCodes.XDS_ENCODE, `listener "${l.name}" references route config "${name}" which was not generated`, { name: l.name }));
    }
  }
  return out;
}

function rdsNames(listener: EnvoyResource): string[] {
  const out: string[] = [];
  const visit = (hcm: unknown): void => {
    const n = (hcm as { rds?: { route_config_name?: string } } | undefined)?.rds?.route_config_name;
    if (n) out.push(n);
  };
  const l = listener as { api_listener?: { api_listener?: unknown }; filter_chains?: { filters?: { typed_config?: unknown }[] }[]; default_filter_chain?: { filters?: { typed_config?: unknown }[] } };
  visit(l.api_listener?.api_listener);
  for (const fc of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
    for (const f of fc.filters ?? []) visit(f.typed_config);
  }
  return out;
}

/** Short name ("clusters") of a served type URL, or the URL itself. */
export function shortType(url: string): string {
  return XdsTypes.find((t) => t.url === url)?.short ?? url;
}

/** A stable version for a set of resources (SotW version_info): hash of sorted name@hash pairs. */
export function setVersion(resources: readonly { name: string; hash: string }[]): string {
  const h = createHash('sha1');
  for (const r of [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) h.update(r.name).update('@').update(r.hash).update('\n');
  return h.digest('base64url').slice(0, 12);
}

/** Per-node snapshots shared by every stream of that node (go-control-plane's SnapshotCache). */
export class SnapshotCache {
  private nodes = new Map<string, NodeSnapshot>();
  set(nodeId: string, s: NodeSnapshot): void { this.nodes.set(nodeId, s); }
  get(nodeId: string): NodeSnapshot | undefined { return this.nodes.get(nodeId); }
  delete(nodeId: string): void { this.nodes.delete(nodeId); }
  ids(): string[] { return [...this.nodes.keys()]; }
}
