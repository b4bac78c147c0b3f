// proxy/xds-client: per-type resource state (applied resources, versions, nonces, last NACK) and the warming rules that
// turn it into a consistent ProxyConfigSnapshot.
import type { ClusterConfig, ClusterLoadAssignment, DecodeError, ListenerConfig, ProxyConfigSnapshot, RouteConfig, SecretConfig } from '../config/types.ts';
import { ResourceType } from '../config/decode.ts';
import type { AnyMessage } from '../../envoy/protos.ts';

export interface AppliedResource<T = unknown> {
  name: string;
  value: T;
  /**
   * The resource as received, still packed: /config_dump decodes it on demand. Keeping the decoded canonical object
   * instead cost ~8x the memory (2000 clusters: 2.6 MB of objects against 0.3 MB of bytes).
   */
  packed: AnyMessage;
  /** version_info of the response that carried it. */
  version: string;
  /** Clock time it was applied (ms). */
  appliedAt: number;
}

export interface NackRecord {
  version: string;
  nonce: string;
  errors: DecodeError[];
  at: number;
}

export class TypeState<T = unknown> {
  /** Explicit names (RDS/EDS/SDS); ignored for wildcard types. */
  names = new Set<string>();
  readonly resources = new Map<string, AppliedResource<T>>();
  /** Last accepted version_info. */
  version = '';
  /** Last nonce received. */
  nonce = '';
  /** Whether a response was ever applied (even an empty one). */
  received = false;
  lastNack?: NackRecord;
  /** When the current names were first requested, for the initial fetch timeout. */
  requestedAt = new Map<string, number>();
  constructor(readonly typeUrl: string, readonly wildcard: boolean) {}
}

/** All the xDS state a client holds. */
export class XdsStore {
  readonly listeners = new TypeState<ListenerConfig>(ResourceType.Listener, true);
  readonly routes = new TypeState<RouteConfig>(ResourceType.RouteConfiguration, false);
  readonly clusters = new TypeState<ClusterConfig>(ResourceType.Cluster, true);
  readonly endpoints = new TypeState<ClusterLoadAssignment>(ResourceType.ClusterLoadAssignment, false);
  readonly secrets = new TypeState<SecretConfig>(ResourceType.Secret, false);

  /** In the order Envoy subscribes: CDS, EDS, LDS, RDS, then SDS. */
  all(): TypeState[] {
    return [this.clusters, this.endpoints, this.listeners, this.routes, this.secrets] as TypeState[];
  }
  byType(url: string): TypeState | undefined {
    return this.all().find((t) => t.typeUrl === url);
  }

  /**
   * Route config names referenced by the listeners we hold (warming ones need them to warm) and by the listeners
   * still served: an updated listener that now names another route config keeps the old one until it warms.
   */
  wantedRoutes(served?: ProxyConfigSnapshot): Set<string> {
    const out = new Set<string>();
    const add = (l: ListenerConfig): void => {
      for (const fc of chains(l)) if (fc.handler.kind === 'http' && fc.handler.routeConfigName !== undefined) out.add(fc.handler.routeConfigName);
    };
    for (const l of this.listeners.resources.values()) add(l.value);
    for (const l of served?.listeners.values() ?? []) add(l);
    return out;
  }
  wantedEndpoints(served?: ProxyConfigSnapshot): Set<string> {
    const out = new Set<string>();
    const add = (c: ClusterConfig): void => {
      if (c.type === 'EDS') out.add(c.edsServiceName ?? c.name);
    };
    for (const c of this.clusters.resources.values()) add(c.value);
    for (const c of served?.clusters.values() ?? []) add(c);
    return out;
  }
  wantedSecrets(served?: ProxyConfigSnapshot): Set<string> {
    const out = new Set<string>();
    const add = (names: string[]): void => { for (const n of names) out.add(n); };
    for (const c of this.clusters.resources.values()) add(clusterSecrets(c.value));
    for (const c of served?.clusters.values() ?? []) add(clusterSecrets(c));
    for (const l of this.listeners.resources.values()) add(listenerSecrets(l.value));
    for (const l of served?.listeners.values() ?? []) add(listenerSecrets(l));
    return out;
  }
}

function chains(l: ListenerConfig): ListenerConfig['filterChains'] {
  return l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
}

type SdsNamed = { certificateSdsNames: string[]; validationSdsName?: string } | undefined;
/** The SDS secret names TLS contexts name (certificates, then the validation context). */
function sdsNames(ts: SdsNamed[]): string[] {
  const out: string[] = [];
  for (const t of ts) {
    if (!t) continue;
    out.push(...t.certificateSdsNames);
    if (t.validationSdsName) out.push(t.validationSdsName);
  }
  return out;
}
const clusterSecrets = (c: ClusterConfig): string[] => sdsNames([c.tls, ...c.transportSocketMatches.map((m) => m.tls)]);
const listenerSecrets = (l: ListenerConfig): string[] => sdsNames(chains(l).map((fc) => fc.tls));

/**
 * Envoy's warming: a cluster is served once its endpoints and the SDS secrets of its TLS contexts have arrived (or it
 * needs none); a listener once every route config its HTTP chains name and every secret its TLS chains name has
 * arrived. An updated resource that is still warming leaves the previously served version in place.
 * `expired(typeUrl, name)` says the initial fetch timeout passed: serve it without waiting. `external(name)` says a
 * secret is served from outside xDS (the certificate agent's "default" / "ROOTCA", as istio-agent serves them to Envoy).
 */
export function buildSnapshot(
  s: XdsStore,
  previous: ProxyConfigSnapshot | undefined,
  generation: number,
  expired: (typeUrl: string, name: string) => boolean,
  external?: (secretName: string) => boolean | undefined,
): ProxyConfigSnapshot {
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const [n, r] of s.endpoints.resources) endpoints.set(n, r.value);
  const routes = new Map<string, RouteConfig>();
  for (const [n, r] of s.routes.resources) routes.set(n, r.value);
  const secrets = new Map<string, SecretConfig>();
  for (const [n, r] of s.secrets.resources) secrets.set(n, r.value);

  const secretReady = (n: string): boolean => secrets.has(n) || external?.(n) === true || expired(ResourceType.Secret, n);
  const clusterReady = (c: ClusterConfig): boolean => {
    if (!clusterSecrets(c).every(secretReady)) return false;
    if (c.type !== 'EDS') return true;
    const n = c.edsServiceName ?? c.name;
    return endpoints.has(n) || expired(ResourceType.ClusterLoadAssignment, n);
  };
  const clusters = new Map<string, ClusterConfig>();
  for (const [n, r] of s.clusters.resources) {
    if (clusterReady(r.value)) clusters.set(n, r.value);
    else {
      const old = previous?.clusters.get(n);
      if (old && clusterReady(old)) clusters.set(n, old);
    }
  }

  const listenerReady = (l: ListenerConfig): boolean =>
    listenerSecrets(l).every(secretReady) && chains(l).every((fc) => fc.handler.kind !== 'http' || fc.handler.routeConfigName === undefined || routes.has(fc.handler.routeConfigName) || expired(ResourceType.RouteConfiguration, fc.handler.routeConfigName));
  const listeners = new Map<string, ListenerConfig>();
  for (const [n, r] of s.listeners.resources) {
    if (listenerReady(r.value)) listeners.set(n, r.value);
    else {
      const old = previous?.listeners.get(n);
      if (old && listenerReady(old)) listeners.set(n, old);
    }
  }

  const versions: Record<string, string> = {};
  for (const t of s.all()) if (t.received) versions[t.typeUrl] = t.version;
  return { generation, listeners, routes, clusters, endpoints, secrets, versions };
}

/**
 * What waits for a resource: the listeners and clusters that name it (a secret in their TLS contexts, a route config
 * in a listener's HTTP chains, endpoints by a cluster's EDS name), as "listener X" / "cluster Y", for logs.
 */
export function dependents(s: XdsStore, typeUrl: string, name: string): string[] {
  const out: string[] = [];
  if (typeUrl === ResourceType.Secret || typeUrl === ResourceType.RouteConfiguration) {
    for (const [n, r] of s.listeners.resources) {
      const uses = typeUrl === ResourceType.Secret
        ? listenerSecrets(r.value).includes(name)
        : chains(r.value).some((fc) => fc.handler.kind === 'http' && fc.handler.routeConfigName === name);
      if (uses) out.push(`listener ${n}`);
    }
  }
  if (typeUrl === ResourceType.Secret || typeUrl === ResourceType.ClusterLoadAssignment) {
    for (const [n, r] of s.clusters.resources) {
      const c = r.value;
      const uses = typeUrl === ResourceType.Secret ? clusterSecrets(c).includes(name) : c.type === 'EDS' && (c.edsServiceName ?? c.name) === name;
      if (uses) out.push(`cluster ${n}`);
    }
  }
  return out;
}

/** Whether two snapshots serve the same objects (decoded values are replaced, never mutated, so identity suffices). */
export function sameSnapshot(a: ProxyConfigSnapshot | undefined, b: ProxyConfigSnapshot): boolean {
  if (!a) return false;
  const same = <V>(x: ReadonlyMap<string, V>, y: ReadonlyMap<string, V>): boolean => x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
  return same(a.listeners, b.listeners) && same(a.routes, b.routes) && same(a.clusters, b.clusters) && same(a.endpoints, b.endpoints) && same(a.secrets, b.secrets);
}
