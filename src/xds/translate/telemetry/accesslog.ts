// xds/translate/telemetry: the Telemetry API's accessLogging for one proxy — providers (the built-in `envoy`,
// MeshConfig envoyFileAccessLog, defaultProviders.accessLogging), Istio's scoping and merge (root namespace ->
// namespace -> selector; the most specific level naming providers picks them, later entries win per provider and
// side), CLIENT/SERVER, and the Envoy file loggers each side gets with filter.expression translated to a native
// AccessLogFilter (accesslog-cel.ts). Pure.
import type { ConfigObject, ValidationIssue } from '../../../config/types.ts';
import type { AccessLogging, TelemetrySpec } from '../../../config/types/telemetry.ts';
import { ErrorCodes } from '../../../common/errors.ts';
import type { MeshConfig, Proxy, PushSnapshot } from '../../../model/types.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { applicableTelemetries } from './tracing.ts';
import { isObj } from './providers.ts';
import { celToAccessLogFilter } from './accesslog-cel.ts';

// Istio's default text format for the `envoy` provider and for envoyFileAccessLog without a logFormat.
const ISTIO_TEXT_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
  + '%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" '
  + '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
  + '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% '
  + '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

// Istio's default JSON labels (accessLogEncoding JSON with no accessLogFormat).
const ISTIO_JSON_LABELS: Record<string, string> = {
  start_time: '%START_TIME%', method: '%REQ(:METHOD)%', path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%', response_flags: '%RESPONSE_FLAGS%', response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%', upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%', bytes_sent: '%BYTES_SENT%', duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%', x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%', request_id: '%REQ(X-REQUEST-ID)%', authority: '%REQ(:AUTHORITY)%', upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%', upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%', downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%', requested_server_name: '%REQUESTED_SERVER_NAME%', route_name: '%ROUTE_NAME%',
};

/** A usable access log provider: where lines go and their format (text, or JSON labels). */
export interface FileLogProvider { name: string; path: string; text?: string; labels?: Record<string, string> }

/** One provider enabled on one side, with its (translated) filter. */
export interface LogSpec { provider: FileLogProvider; filter?: EnvoyResource }

/** undefined = no Telemetry accessLogging and no default provider: hcm.ts's MeshConfig accessLogFile applies. */
export interface AccessLogPlan { client: LogSpec[]; server: LogSpec[] }

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (isObj(v) && typeof v.value === 'boolean') return v.value;
  return undefined;
}

export type ProviderLookup = { provider: FileLogProvider; problem?: undefined } | { provider?: undefined; problem: string };

/** The built-in `envoy` provider: stdout with MeshConfig's accessLogFormat / accessLogEncoding (Istio's defaults). */
function builtinEnvoy(mesh: MeshConfig): FileLogProvider {
  const fmt = mesh.accessLogFormat ?? '';
  if (mesh.accessLogEncoding === 'JSON') {
    let labels = ISTIO_JSON_LABELS;
    if (fmt) { try { const j = JSON.parse(fmt); if (isObj(j)) labels = Object.fromEntries(Object.entries(j).map(([k, v]) => [k, String(v)])); } catch { /* keep defaults */ } }
    return { name: 'envoy', path: '/dev/stdout', labels };
  }
  return { name: 'envoy', path: '/dev/stdout', text: fmt ? (fmt.endsWith('\n') ? fmt : `${fmt}\n`) : ISTIO_TEXT_FORMAT };
}

/** The access log provider named `name`: an extensionProviders envoyFileAccessLog entry, or the built-in `envoy`. */
export function resolveLogProvider(mesh: MeshConfig, name: string): ProviderLookup {
  const list = Array.isArray(mesh.extensionProviders) ? mesh.extensionProviders : [];
  const p = list.find((x) => isObj(x) && x.name === name) as Record<string, unknown> | undefined;
  if (!p) {
    if (name === 'envoy') return { provider: builtinEnvoy(mesh) };
    return { problem: `access log provider ${name} is not defined in meshConfig.extensionProviders` };
  }
  const f = p.envoyFileAccessLog;
  if (!isObj(f)) {
    const kind = Object.keys(p).find((k) => k !== 'name') ?? 'unknown';
    return { problem: `access log provider ${name} is of type ${kind}; only envoyFileAccessLog is supported` };
  }
  const path = typeof f.path === 'string' && f.path ? f.path : '/dev/stdout';
  const lf = isObj(f.logFormat) ? f.logFormat : {};
  if (isObj(lf.labels)) {
    const labels = Object.fromEntries(Object.entries(lf.labels).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    return { provider: { name, path, labels: Object.keys(labels).length ? labels : ISTIO_JSON_LABELS } };
  }
  const text = typeof lf.text === 'string' && lf.text ? (lf.text.endsWith('\n') ? lf.text : `${lf.text}\n`) : ISTIO_TEXT_FORMAT;
  return { provider: { name, path, text } };
}

function explicitNames(e: AccessLogging): string[] {
  return (Array.isArray(e.providers) ? e.providers : []).map((p) => (isObj(p) && typeof p.name === 'string' ? p.name : '')).filter(Boolean);
}
function expressionOf(e: AccessLogging): string | undefined {
  return isObj(e.filter) && typeof e.filter.expression === 'string' && e.filter.expression.trim() ? e.filter.expression : undefined;
}
function matches(e: AccessLogging, mode: 'CLIENT' | 'SERVER'): boolean {
  const m = e.match?.mode;
  return m === undefined || m === 'CLIENT_AND_SERVER' || m === mode;
}

/** The accessLogging entries of each Telemetry in scope (root namespace, namespace, workload), skipping empty ones. */
function levelsFor(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>): AccessLogging[][] {
  return applicableTelemetries(s, proxy)
    .map((t) => (Array.isArray(t.spec.accessLogging) ? t.spec.accessLogging : []).filter(isObj) as AccessLogging[])
    .filter((l) => l.length > 0);
}

type Item = { disabled: boolean; expression?: string };

/**
 * Istio's merge for one side. No accessLogging in scope: the default providers, unfiltered. Otherwise the providers
 * in play are those the most specific level names for this side (a level naming none keeps the parent's set; the
 * root starts from defaultProviders); then every entry for this side, in scope order, sets each of its providers (an
 * entry naming none inherits the previous entry's list) to disabled or to the filter last given for that provider.
 * Deviation, following the documented meaning of `filter`: an entry that names no providers filters the ones it inherits.
 */
function mergeSide(levels: AccessLogging[][], defaults: readonly string[], mode: 'CLIENT' | 'SERVER'): Map<string, Item> {
  const out = new Map<string, Item>();
  if (levels.length === 0) { for (const n of defaults) out.set(n, { disabled: false }); return out; }
  let inScope = new Set(defaults);
  const filters = new Map<string, string | undefined>();
  for (const level of levels) {
    const names = new Set<string>();
    for (const e of level) {
      if (!matches(e, mode)) continue;
      for (const n of explicitNames(e)) { names.add(n); filters.set(n, expressionOf(e)); }
    }
    if (names.size) inScope = names;
  }
  let parent: readonly string[] = defaults;
  for (const level of levels) {
    for (const e of level) {
      const own = explicitNames(e);
      const names = own.length ? own : parent;
      parent = names;
      if (!matches(e, mode)) continue;
      for (const n of names) {
        if (!inScope.has(n)) continue; // a more specific level chose other providers
        if (bool(e.disabled) === true) { out.set(n, { disabled: true }); continue; }
        out.set(n, { disabled: false, expression: own.length ? filters.get(n) : (expressionOf(e) ?? filters.get(n)) });
      }
    }
  }
  return out;
}

/** undefined when no Telemetry accessLogging and no default provider apply (the MeshConfig accessLogFile path). */
export function accessLogPlan(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>): AccessLogPlan | undefined {
  const levels = levelsFor(s, proxy);
  const defaults = s.mesh.defaultProviders?.accessLogging ?? [];
  if (levels.length === 0 && defaults.length === 0) return undefined;
  const build = (m: Map<string, Item>): LogSpec[] => {
    const out: LogSpec[] = [];
    for (const [n, item] of [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (item.disabled) continue;
      const r = resolveLogProvider(s.mesh, n);
      if (!r.provider) continue; // reported by accessLogIssues
      const f = item.expression ? celToAccessLogFilter(item.expression) : undefined;
      out.push({ provider: r.provider, ...(f?.filter ? { filter: f.filter } : {}) });
    }
    return out;
  };
  return { client: build(mergeSide(levels, defaults, 'CLIENT')), server: build(mergeSide(levels, defaults, 'SERVER')) };
}

/** The Envoy access_log entries for one side (HTTP or TCP: TCP formats drop nothing; HTTP-only operators print "-"). */
export function accessLogEntries(specs: readonly LogSpec[]): EnvoyResource[] {
  return specs.map(({ provider: p, filter }) => {
    const log_format = p.labels
      ? { json_format: { fields: Object.fromEntries(Object.entries(p.labels).map(([k, v]) => [k, { stringValue: v }])) } }
      : { text_format_source: { inline_string: p.text ?? ISTIO_TEXT_FORMAT } };
    return {
      name: 'envoy.access_loggers.file',
      ...(filter ? { filter } : {}),
      typed_config: { '@type': TypeUrl.FileAccessLog, path: p.path, log_format },
    };
  });
}

/**
 * MeshConfig accessLogFile, used where no Telemetry accessLogging and no default provider apply: the built-in `envoy`
 * provider's format (accessLogFormat / accessLogEncoding, else Istio's default text or JSON) written to that file. Istio
 * has one default format for both paths, and for HTTP and TCP alike (HTTP-only operators print "-" on TCP).
 * None when the file is empty.
 */
export function meshAccessLog(mesh: MeshConfig): EnvoyResource[] | undefined {
  if (!mesh.accessLogFile) return undefined;
  return accessLogEntries([{ provider: { ...builtinEnvoy(mesh), path: mesh.accessLogFile } }]);
}

/** Why access logging is not doing what a Telemetry object / MeshConfig asked, naming the object and field. */
export function accessLogIssues(s: Pick<PushSnapshot, 'telemetries' | 'mesh'>): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const issue = (kind: string, name: string, path: string, message: string) =>
    out.push({ severity: 'warning', code: ErrorCodes.XDS_ACCESSLOG, kind, name, path, message });
  for (const t of s.telemetries as ConfigObject<TelemetrySpec>[]) {
    if (!t?.metadata || !isObj(t.spec) || !Array.isArray(t.spec.accessLogging)) continue;
    const name = `${t.metadata.namespace}/${t.metadata.name}`;
    t.spec.accessLogging.forEach((e, i) => {
      if (!isObj(e)) return;
      (Array.isArray(e.providers) ? e.providers : []).forEach((p, j) => {
        const n = isObj(p) && typeof p.name === 'string' ? p.name : '';
        const r = n ? resolveLogProvider(s.mesh, n) : undefined;
        if (r?.problem) issue('Telemetry', name, `spec.accessLogging[${i}].providers[${j}].name`, `${r.problem}: nothing is logged for it`);
      });
      const expr = isObj(e.filter) && typeof e.filter.expression === 'string' ? e.filter.expression : '';
      if (expr.trim()) {
        const f = celToAccessLogFilter(expr);
        if (f.error) issue('Telemetry', name, `spec.accessLogging[${i}].filter.expression`, `${f.error}: requests are logged without this filter`);
      }
    });
  }
  (s.mesh.defaultProviders?.accessLogging ?? []).forEach((n, j) => {
    const r = resolveLogProvider(s.mesh, n);
    if (r.problem) issue('ConfigMap', 'istio', `data.mesh.defaultProviders.accessLogging[${j}]`, `${r.problem}: nothing is logged for it`);
  });
  return out;
}
