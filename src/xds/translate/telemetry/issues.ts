// xds/translate/telemetry: why tracing or access logging is not doing what the config says, as ValidationIssues naming
// the Telemetry object / MeshConfig field (for logs and /debug/configz `telemetryIssues`). Tracing: a provider name not in extensionProviders, a provider
// that is not zipkin, a collector service not in the registry, extra providers (only the first is used), a legacy
// zipkin.address that resolves to nothing (such sides trace nothing, as in Istio); access logging: accesslog.ts's
// accessLogIssues (CEL filters not translated, providers not emitted). Pure.
import type { ConfigObject, ValidationIssue } from '../../../config/types.ts';
import type { TelemetrySpec } from '../../../config/types/telemetry.ts';
import { ErrorCodes } from '../../../common/errors.ts';
import type { PushSnapshot, Service } from '../../../model/types.ts';
import { isObj, legacyProviderResult, resolveProvider } from './providers.ts';
import { accessLogIssues } from './accesslog.ts';

type Lookup = (host: string) => Service | undefined;

/** Every unusable tracing provider reference and every access-log issue in the Telemetry objects and the mesh config. */
export function telemetryIssues(s: Pick<PushSnapshot, 'telemetries' | 'mesh' | 'domainSuffix'>, lookup: Lookup): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const suffix = s.domainSuffix ?? 'cluster.local';
  const issue = (kind: string, name: string, path: string, message: string) =>
    out.push({ severity: 'warning', code: ErrorCodes.XDS_TRACING_PROVIDER, kind, name, path, message });
  const check = (kind: string, name: string, path: string, provider: string) => {
    const r = resolveProvider(s.mesh, provider, lookup, suffix);
    if (r.problem) issue(kind, name, path, `${r.problem.message}: no spans are reported`);
  };
  for (const t of s.telemetries as ConfigObject<TelemetrySpec>[]) {
    if (!t?.metadata || !isObj(t.spec) || !Array.isArray(t.spec.tracing)) continue;
    const name = `${t.metadata.namespace}/${t.metadata.name}`;
    t.spec.tracing.forEach((e, i) => {
      if (!isObj(e) || !Array.isArray(e.providers)) return;
      e.providers.forEach((p, j) => {
        const n = isObj(p) && typeof p.name === 'string' ? p.name : '';
        if (!n) return;
        if (j === 0) check('Telemetry', name, `spec.tracing[${i}].providers[0].name`, n);
        else issue('Telemetry', name, `spec.tracing[${i}].providers[${j}]`, `only the first tracing provider is used; ${n} is ignored`);
      });
    });
  }
  const defaults = s.mesh.defaultProviders?.tracing ?? [];
  if (defaults[0]) check('ConfigMap', 'istio', 'data.mesh.defaultProviders.tracing[0]', defaults[0]);
  defaults.slice(1).forEach((n, j) => issue('ConfigMap', 'istio', `data.mesh.defaultProviders.tracing[${j + 1}]`, `only the first tracing provider is used; ${n} is ignored`));
  // the legacy address matters only where no default provider takes over (proxies without Telemetry tracing)
  if (!defaults.length) {
    const legacy = legacyProviderResult(s.mesh, lookup, suffix);
    if (typeof legacy === 'string') issue('ConfigMap', 'istio', 'data.mesh.defaultConfig.tracing.zipkin.address', `${legacy}: proxies without a Telemetry tracing provider report no spans`);
  }
  // access logging's: one list for the control plane's log and /debug/configz
  out.push(...accessLogIssues(s));
  return out;
}
