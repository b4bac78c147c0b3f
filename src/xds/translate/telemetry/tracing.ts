// xds/translate/telemetry: the Telemetry API's tracing for one proxy — Istio's scoping (root namespace, then the
// proxy's namespace, then a selector in it), the CLIENT/SERVER specs, and the HCM `tracing` block each emits.
import type { ConfigObject } from '../../../config/types.ts';
import type { TelemetrySpec, Tracing, TracingCustomTag } from '../../../config/types/telemetry.ts';
import type { MeshConfig, Proxy, PushSnapshot, Service } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { isObj, legacyProvider, resolveProvider, type ProviderProblem, type ZipkinProvider } from './providers.ts';

/** What one side (CLIENT = outbound/gateway, SERVER = inbound) of a workload does with traces. */
export interface TracingSpec {
  provider?: ZipkinProvider;
  /** disableSpanReporting: trace headers still flow and sampling still decides, but nothing is reported. */
  disableSpanReporting: boolean;
  /** Telemetry randomSamplingPercentage; absent: MeshConfig defaultConfig.tracing.sampling. */
  sampling?: number;
  customTags?: Record<string, TracingCustomTag>;
  enableIstioTags: boolean;
}

/** undefined = no Telemetry tracing and no default provider: the legacy MeshConfig path applies. */
export interface TracingPlan { client: TracingSpec; server: TracingSpec; problems: ProviderProblem[] }

type Lookup = (host: string) => Service | undefined;

function hasSelector(spec: TelemetrySpec): boolean {
  const ml = isObj(spec.selector) ? spec.selector.matchLabels : undefined;
  return isObj(ml) && Object.keys(ml).length > 0;
}
function hasTargetRef(spec: TelemetrySpec): boolean {
  return isObj(spec.targetRef) || (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0);
}
function selects(spec: TelemetrySpec, labels: Record<string, string>): boolean {
  const ml = (spec.selector?.matchLabels ?? {}) as Record<string, string>;
  return Object.entries(ml).every(([k, v]) => labels[k] === v);
}

/**
 * The Telemetry objects in force for the proxy, most general first: the root namespace's mesh-wide one, the
 * proxy's namespace-wide one, then the first whose selector matches the proxy. Each level takes the first
 * object (snapshot order: namespace, name); targetRef policies are for waypoints/gateways and are skipped.
 */
export function applicableTelemetries(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>): ConfigObject<TelemetrySpec>[] {
  const all = (s.telemetries as ConfigObject<TelemetrySpec>[]).filter((t) => t && t.metadata && isObj(t.spec) && !hasTargetRef(t.spec));
  const root = s.mesh.rootNamespace || 'istio-system';
  const out: ConfigObject<TelemetrySpec>[] = [];
  const meshWide = all.find((t) => t.metadata.namespace === root && !hasSelector(t.spec));
  if (meshWide) out.push(meshWide);
  if (proxy.namespace !== root) {
    const nsWide = all.find((t) => t.metadata.namespace === proxy.namespace && !hasSelector(t.spec));
    if (nsWide) out.push(nsWide);
  }
  const wl = all.find((t) => t.metadata.namespace === proxy.namespace && hasSelector(t.spec) && selects(t.spec, proxy.labels));
  if (wl) out.push(wl);
  return out;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (isObj(v) && typeof v.value === 'boolean') return v.value; // BoolValue written as {value}
  return undefined;
}
function number(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (isObj(v) && typeof v.value === 'number') return v.value;
  return undefined;
}

/**
 * Istio's merge: start from MeshConfig.defaultProviders.tracing[0], then apply each tracing entry in scope order;
 * an entry's match.mode picks which side(s) it changes; providers[0], disableSpanReporting, randomSamplingPercentage
 * override, customTags replace the whole map. A side without a provider does not trace.
 */
export function tracingPlan(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>, lookup: Lookup): TracingPlan | undefined {
  const entries: Tracing[] = [];
  for (const t of applicableTelemetries(s, proxy)) for (const e of Array.isArray(t.spec.tracing) ? t.spec.tracing : []) if (isObj(e)) entries.push(e);
  const defaults = s.mesh.defaultProviders?.tracing ?? [];
  if (entries.length === 0 && defaults.length === 0) return undefined;
  const suffix = s.domainSuffix ?? 'cluster.local';
  const problems: ProviderProblem[] = [];
  const fetch = (name: string): ZipkinProvider | undefined => {
    const r = resolveProvider(s.mesh, name, lookup, suffix);
    if (r.problem && !problems.some((p) => p.name === name)) problems.push(r.problem);
    return r.provider;
  };
  const fresh = (): TracingSpec => ({ disableSpanReporting: false, enableIstioTags: true });
  const client = fresh();
  const server = fresh();
  if (defaults.length) client.provider = server.provider = fetch(defaults[0]!);
  for (const e of entries) {
    const mode = e.match?.mode;
    const sides = mode === 'CLIENT' ? [client] : mode === 'SERVER' ? [server] : [client, server];
    const names = (Array.isArray(e.providers) ? e.providers : []).map((p) => (isObj(p) && typeof p.name === 'string' ? p.name : '')).filter(Boolean);
    if (names.length) { const p = fetch(names[0]!); for (const x of sides) x.provider = p; }
    const dsr = bool(e.disableSpanReporting);
    if (dsr !== undefined) for (const x of sides) x.disableSpanReporting = dsr;
    if (isObj(e.customTags)) for (const x of sides) x.customTags = e.customTags;
    const rsp = number(e.randomSamplingPercentage);
    if (rsp !== undefined) for (const x of sides) x.sampling = Math.min(100, Math.max(0, rsp));
    const eit = bool(e.enableIstioTags);
    if (eit !== undefined) for (const x of sides) x.enableIstioTags = eit;
  }
  return { client, server, problems };
}

/** Istio's fallback sampling: defaultConfig.tracing.sampling when set (0 counts as unset; > 100 means 1 %), else 1 %. */
function meshSampling(mesh: MeshConfig): number {
  const v = mesh.defaultConfig?.tracing?.sampling;
  if (typeof v !== 'number' || !Number.isFinite(v) || v === 0) return 1;
  return v > 100 || v < 0 ? 1 : v;
}

/** Istio's service tags on every span: canonical service/revision, mesh, namespace, cluster (literal values). */
function istioTags(proxy: Proxy): EnvoyResource[] {
  const l = proxy.labels;
  const svc = l['service.istio.io/canonical-name'] || l['app.kubernetes.io/name'] || l.app || proxy.workloadName || 'unknown';
  const rev = l['service.istio.io/canonical-revision'] || l['app.kubernetes.io/version'] || l.version || 'latest';
  const meshId = typeof proxy.metadata.MESH_ID === 'string' && proxy.metadata.MESH_ID ? proxy.metadata.MESH_ID : 'unknown';
  const lit = (tag: string, value: string) => ({ tag, literal: { value } });
  return [
    lit('istio.canonical_revision', rev), lit('istio.canonical_service', svc), lit('istio.cluster_id', proxy.clusterId || 'unknown'),
    lit('istio.mesh_id', meshId), lit('istio.namespace', proxy.namespace || 'default'),
  ];
}

/** Telemetry customTags as Envoy CustomTags; formatter tags have no Envoy equivalent here and are skipped. */
function customTags(tags: Record<string, TracingCustomTag> | undefined): EnvoyResource[] {
  const out: EnvoyResource[] = [];
  for (const [tag, t] of Object.entries(tags ?? {})) {
    if (!tag || !isObj(t)) continue;
    if (isObj(t.literal) && typeof t.literal.value === 'string' && t.literal.value) out.push({ tag, literal: { value: t.literal.value } });
    else if (isObj(t.header) && typeof t.header.name === 'string' && t.header.name) {
      out.push({ tag, request_header: { name: t.header.name, ...(t.header.defaultValue ? { default_value: String(t.header.defaultValue) } : {}) } });
    } else if (isObj(t.environment) && typeof t.environment.name === 'string' && t.environment.name) {
      out.push({ tag, environment: { name: t.environment.name, ...(t.environment.defaultValue ? { default_value: String(t.environment.defaultValue) } : {}) } });
    }
  }
  return out;
}

/** The ZipkinConfig Istio emits for a zipkin provider. */
function zipkinTracer(p: ZipkinProvider): EnvoyResource {
  return {
    name: 'envoy.tracers.zipkin',
    typed_config: {
      '@type': TypeUrl.ZipkinConfig, collector_cluster: p.cluster, collector_endpoint: p.path,
      trace_id_128bit: p.traceId128, shared_span_context: { value: false }, collector_endpoint_version: 'HTTP_JSON',
      collector_hostname: p.host,
    },
  };
}

/**
 * The HCM tracing block for one side, or undefined (no tracing: headers pass through untouched). A provider
 * with disableSpanReporting keeps sampling and propagation but reports nothing (Istio's documented meaning).
 */
export function hcmTracing(spec: TracingSpec, mesh: MeshConfig, proxy: Proxy): EnvoyResource | undefined {
  if (!spec.provider) return undefined;
  const t: Record<string, unknown> = {
    client_sampling: { value: 100 }, random_sampling: { value: spec.sampling ?? meshSampling(mesh) }, overall_sampling: { value: 100 },
  };
  const tags = [...(spec.enableIstioTags ? istioTags(proxy) : []), ...customTags(spec.customTags)];
  // later tags win over earlier ones of the same name (a Telemetry may override an istio.* tag)
  const byTag = new Map<string, EnvoyResource>();
  for (const x of tags) byTag.set(String(x.tag), x);
  if (byTag.size) t.custom_tags = [...byTag.keys()].sort().map((k) => byTag.get(k)!);
  if (!spec.disableSpanReporting) t.provider = zipkinTracer(spec.provider);
  const mtl = spec.provider.maxTagLength || mesh.defaultConfig?.tracing?.maxPathTagLength || 0;
  if (mtl > 0) t.max_path_tag_length = { value: mtl };
  return t;
}

/** Legacy: no Telemetry and no default provider. A zipkin.address naming a registry service gets a provider. */
export function legacyHcmTracing(mesh: MeshConfig, proxy: Proxy, lookup: Lookup, domainSuffix: string): EnvoyResource | undefined | 'unchanged' {
  if (!mesh.enableTracing) return undefined;
  const p = legacyProvider(mesh, lookup, domainSuffix);
  if (!p) return 'unchanged';
  return hcmTracing({ provider: p, disableSpanReporting: false, enableIstioTags: true }, mesh, proxy);
}
