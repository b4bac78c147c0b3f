// model: mesh-wide settings (Istio's MeshConfig) from the `istio` ConfigMap's data.mesh, over Istio's defaults.
import { parse as parseYaml } from 'yaml';
import type { ConfigObject, ValidationIssue } from '../config/types.ts';
import { ErrorCodes, errorMessage } from '../common/errors.ts';
import type { MeshConfig } from './types.ts';

/** Istio's MeshConfig defaults for the fields Rigging honours. */
function defaultMeshConfig(): MeshConfig {
  return {
    trustDomain: 'cluster.local',
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    enableTracing: true,
    defaultConfig: { tracing: { sampling: 1 } }, // percent of requests traced, Istio's default 1%
    rootNamespace: 'istio-system',
    connectTimeout: '10s',
    accessLogFile: '', // off
    accessLogEncoding: 'TEXT',
    protocolDetectionTimeout: '0s', // Istio disables the sniffing timeout by default
    ingressService: 'istio-ingressgateway',
    ingressSelector: 'ingressgateway',
    defaultHttpRetryPolicy: { attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes' },
    extensionProviders: [],
  };
}

/**
 * The mesh config in force: the ConfigMap named `istio` (in the root namespace `istio-system`
 * when several namespaces have one, else the first by namespace) with `data.mesh` as YAML, merged
 * over the defaults. Unparseable or ill-typed fields are ignored (validation reports them).
 */
export function meshConfigFrom(objects: readonly ConfigObject[]): MeshConfig {
  return meshConfigWithIssues(objects).mesh;
}

export function meshConfigWithIssues(objects: readonly ConfigObject[]): { mesh: MeshConfig; issues: ValidationIssue[] } {
  const maps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'istio');
  if (maps.length === 0) return { mesh: defaultMeshConfig(), issues: [] };
  const cm = maps.find((o) => o.metadata.namespace === 'istio-system')
    ?? [...maps].sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace))[0]!;
  const data = (cm.extra?.data ?? {}) as Record<string, unknown>;
  const text = typeof data.mesh === 'string' ? data.mesh : '';
  return parseMeshConfig(text, cm.source?.file);
}

/** Parse MeshConfig YAML text over the defaults; problems are returned as warnings and the field keeps its default. */
export function parseMeshConfig(text: string, file?: string): { mesh: MeshConfig; issues: ValidationIssue[] } {
  const mesh = defaultMeshConfig();
  const issues: ValidationIssue[] = [];
  const warn = (path: string, message: string) => issues.push({
    severity: 'warning', code: ErrorCodes.CONFIG_INVALID, kind: 'ConfigMap', name: 'istio', path: `data.mesh.${path}`, message,
    ...(file ? { file } : {}),
  });
  if (text.trim() === '') return { mesh, issues };
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    warn('', `cannot parse mesh config: ${errorMessage(e)}`);
    return { mesh, issues };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { mesh, issues };
  const m = raw as Record<string, unknown>;
  const s = (k: string): string | undefined => {
    if (m[k] === undefined || m[k] === null) return undefined;
    if (typeof m[k] === 'string') return m[k] as string;
    warn(k, 'must be a string'); return undefined;
  };
  const v = s('trustDomain'); if (v) mesh.trustDomain = v;
  const rn = s('rootNamespace'); if (rn) mesh.rootNamespace = rn;
  const ct = s('connectTimeout'); if (ct) mesh.connectTimeout = ct;
  const dt = s('defaultTimeout'); if (dt !== undefined) mesh.defaultTimeout = dt;
  const pd = s('protocolDetectionTimeout'); if (pd !== undefined) mesh.protocolDetectionTimeout = pd;
  const alf = s('accessLogFile'); if (alf !== undefined) mesh.accessLogFile = alf;
  const alfmt = s('accessLogFormat'); if (alfmt !== undefined) mesh.accessLogFormat = alfmt;
  const ale = s('accessLogEncoding');
  if (ale === 'TEXT' || ale === 'JSON') mesh.accessLogEncoding = ale; else if (ale !== undefined) warn('accessLogEncoding', 'must be TEXT or JSON');
  const isvc = s('ingressService'); if (isvc !== undefined) mesh.ingressService = isvc;
  const isel = s('ingressSelector'); if (isel !== undefined) mesh.ingressSelector = isel;
  if (m.enableTracing !== undefined) {
    if (typeof m.enableTracing === 'boolean') mesh.enableTracing = m.enableTracing; else warn('enableTracing', 'must be a boolean');
  }
  const otp = m.outboundTrafficPolicy as { mode?: unknown } | undefined;
  if (otp && typeof otp === 'object') {
    if (otp.mode === 'ALLOW_ANY' || otp.mode === 'REGISTRY_ONLY') mesh.outboundTrafficPolicy = { mode: otp.mode };
    else if (otp.mode !== undefined) warn('outboundTrafficPolicy.mode', 'must be ALLOW_ANY or REGISTRY_ONLY');
  }
  const rp = m.defaultHttpRetryPolicy;
  if (rp && typeof rp === 'object' && !Array.isArray(rp)) {
    // Setting the field replaces Istio's default policy as a whole, as in Istio.
    const r = rp as Record<string, unknown>;
    const out: NonNullable<MeshConfig['defaultHttpRetryPolicy']> = {};
    if (typeof r.attempts === 'number') out.attempts = r.attempts;
    if (typeof r.retryOn === 'string') out.retryOn = r.retryOn;
    if (typeof r.perTryTimeout === 'string') out.perTryTimeout = r.perTryTimeout;
    mesh.defaultHttpRetryPolicy = out;
  }
  const dc = m.defaultConfig;
  if (dc && typeof dc === 'object' && !Array.isArray(dc)) {
    const d = dc as Record<string, unknown>;
    const tracing = d.tracing as Record<string, unknown> | undefined;
    if (tracing && typeof tracing === 'object') {
      mesh.defaultConfig.tracing = { ...mesh.defaultConfig.tracing };
      if (typeof tracing.sampling === 'number') mesh.defaultConfig.tracing.sampling = tracing.sampling;
      const zipkin = tracing.zipkin as Record<string, unknown> | undefined;
      if (zipkin && typeof zipkin === 'object' && typeof zipkin.address === 'string') mesh.defaultConfig.tracing.zipkin = { address: zipkin.address };
      if (typeof tracing.maxPathTagLength === 'number') mesh.defaultConfig.tracing.maxPathTagLength = tracing.maxPathTagLength;
    }
    const pm = d.proxyMetadata;
    if (pm && typeof pm === 'object' && !Array.isArray(pm)) {
      mesh.defaultConfig.proxyMetadata = Object.fromEntries(Object.entries(pm).map(([k, x]) => [k, String(x)]));
    }
  }
  if (Array.isArray(m.extensionProviders)) mesh.extensionProviders = m.extensionProviders;
  const dp = m.defaultProviders;
  if (dp && typeof dp === 'object' && !Array.isArray(dp)) {
    const names = (v: unknown) => Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
    const d = dp as Record<string, unknown>;
    mesh.defaultProviders = {};
    for (const k of ['tracing', 'metrics', 'accessLogging'] as const) { const n = names(d[k]); if (n) mesh.defaultProviders[k] = n; }
  }
  // pathNormalization.normalization: DEFAULT and an absent field both mean BASE (Istio's default)
  const pn = m.pathNormalization;
  if (pn !== undefined && pn !== null) {
    const n = typeof pn === 'object' && !Array.isArray(pn) ? (pn as Record<string, unknown>).normalization : undefined;
    if (typeof pn !== 'object' || Array.isArray(pn)) warn('pathNormalization', 'must be an object with a normalization field');
    else if (n === undefined || n === null || n === 'DEFAULT' || n === 'BASE') mesh.pathNormalization = { normalization: 'BASE' };
    else if (n === 'NONE' || n === 'MERGE_SLASHES' || n === 'DECODE_AND_MERGE_SLASHES') mesh.pathNormalization = { normalization: n };
    else warn('pathNormalization.normalization', 'must be DEFAULT, NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES');
  }
  return { mesh, issues };
}
