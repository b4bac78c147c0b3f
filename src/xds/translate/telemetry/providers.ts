// xds/translate/telemetry: tracing providers — MeshConfig extensionProviders (zipkin) and the legacy
// enableTracing + defaultConfig.tracing.zipkin.address — resolved to the outbound cluster that collects spans.
import type { MeshConfig, Service } from '../../../model/types.ts';
import { outboundCluster } from '../clusters/names.ts';

/** A tracing provider resolved against the registry: where spans go and how they are encoded. */
export interface ZipkinProvider {
  kind: 'zipkin';
  /** The extensionProviders name ('' for the legacy mesh-wide address). */
  name: string;
  /** Collector service host (FQDN) and port: the collector cluster is outbound|port||host. */
  host: string;
  port: number;
  cluster: string;
  /** Cap on the http.url tag (Envoy's max_path_tag_length); 0 = Envoy's default (256). */
  maxTagLength: number;
  /** Istio's enable64bitTraceId: false (default) = 128-bit trace ids. */
  traceId128: boolean;
  /** Collector path; Istio's default is Zipkin v2's /api/v2/spans. */
  path: string;
}

/** Why a named provider cannot be used (the caller then treats it as no provider, as Istio does). */
export interface ProviderProblem { name: string; message: string }

export type ProviderResult = { provider: ZipkinProvider; problem?: undefined } | { provider?: undefined; problem: ProviderProblem };

const DEFAULT_PATH = '/api/v2/spans';

type Lookup = (host: string) => Service | undefined;

/** A plain object (not null, not an array): the shape check every telemetry reader makes on user YAML. */
export function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The service a provider names: an FQDN, Istio's "namespace/host" form, or a short "name.namespace" which
 * is expanded with the mesh's domain suffix (the legacy address "zipkin.istio-system:9411" uses that form).
 */
function findService(lookup: Lookup, service: string, domainSuffix: string): Service | undefined {
  const host = service.includes('/') ? service.slice(service.indexOf('/') + 1) : service;
  return lookup(host) ?? lookup(`${host}.svc.${domainSuffix}`);
}

/** The provider named `name` in MeshConfig.extensionProviders; only zipkin is implemented here. */
export function resolveProvider(mesh: MeshConfig, name: string, lookup: Lookup, domainSuffix: string): ProviderResult {
  const list = Array.isArray(mesh.extensionProviders) ? mesh.extensionProviders : [];
  const p = list.find((x) => isObj(x) && x.name === name) as Record<string, unknown> | undefined;
  if (!p) return { problem: { name, message: `tracing provider ${name} is not defined in meshConfig.extensionProviders` } };
  const z = p.zipkin;
  if (!isObj(z)) {
    const kind = Object.keys(p).find((k) => k !== 'name') ?? 'unknown';
    return { problem: { name, message: `tracing provider ${name} is of type ${kind}; only zipkin is supported` } };
  }
  const service = typeof z.service === 'string' ? z.service : '';
  const port = typeof z.port === 'number' ? z.port : Number(z.port);
  if (!service || !Number.isInteger(port) || port <= 0 || port > 65535) {
    return { problem: { name, message: `tracing provider ${name} needs zipkin.service and zipkin.port` } };
  }
  const svc = findService(lookup, service, domainSuffix);
  if (!svc) return { problem: { name, message: `tracing provider ${name}: could not find service ${service}` } };
  const maxTagLength = typeof z.maxTagLength === 'number' && z.maxTagLength > 0 ? Math.floor(z.maxTagLength) : 0;
  const path = typeof z.path === 'string' && z.path.startsWith('/') ? z.path : DEFAULT_PATH;
  return {
    provider: {
      kind: 'zipkin', name, host: svc.hostname, port, cluster: outboundCluster(svc.hostname, port),
      maxTagLength, traceId128: z.enable64bitTraceId !== true, path,
    },
  };
}

/**
 * The old way: enableTracing with defaultConfig.tracing.zipkin.address "host:port". Istio put a static
 * "zipkin" cluster in the bootstrap; we have no bootstrap from the control plane, so the address must name
 * a service in the registry (its outbound cluster collects). Undefined when not set or not found.
 */
export function legacyProvider(mesh: MeshConfig, lookup: Lookup, domainSuffix: string): ZipkinProvider | undefined {
  const r = legacyProviderResult(mesh, lookup, domainSuffix);
  return typeof r === 'string' ? undefined : r;
}

/** Why the legacy zipkin.address cannot be used (a message), or the provider; undefined when not configured. */
export function legacyProviderResult(mesh: MeshConfig, lookup: Lookup, domainSuffix: string): ZipkinProvider | string | undefined {
  const addr = mesh.defaultConfig?.tracing?.zipkin?.address;
  if (!mesh.enableTracing || typeof addr !== 'string' || !addr) return undefined;
  const colon = addr.lastIndexOf(':');
  const port = colon > 0 ? Number(addr.slice(colon + 1)) : NaN;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return `zipkin address ${addr} is not host:port`;
  const svc = findService(lookup, addr.slice(0, colon), domainSuffix);
  if (!svc) return `zipkin address ${addr}: could not find service ${addr.slice(0, colon)}`;
  const mtl = mesh.defaultConfig.tracing?.maxPathTagLength;
  return {
    kind: 'zipkin', name: '', host: svc.hostname, port, cluster: outboundCluster(svc.hostname, port),
    maxTagLength: typeof mtl === 'number' && mtl > 0 ? Math.floor(mtl) : 0, traceId128: true, path: DEFAULT_PATH,
  };
}
