// xds/translate/security: AuthorizationPolicy CUSTOM with a MeshConfig extensionProviders entry -> Envoy's
// ext_authz HTTP filter, Istio's way: an RBAC filter whose shadow DENY rules (named "istio-ext-authz-ns[..]-..."),
// when one matches, leave "istio_ext_authz_shadow_effective_policy_id" in the RBAC filter's dynamic metadata; the
// ext_authz filter that follows is enabled only by that metadata, so only requests a CUSTOM rule selects are checked.
// envoyExtAuthzGrpc becomes the same filter with a grpc_service. A provider we cannot use (unknown name, unknown
// service, unsupported option, several providers on one workload) is left to
// rbac.ts, which denies what its rules select (Istio's behaviour for a bad provider). Pure.
import { envoyRoot, TypeUrl } from '../../../envoy/protos.ts';
import { parseGoDuration, nsToDuration } from '../../../common/duration.ts';
import type { MeshConfig, Service } from '../../../model/types.ts';
import { outboundCluster } from '../clusters/names.ts';
import type { EnvoyResource } from '../types.ts';
import { actionOf, isDryRun, type AuthzPolicy } from './select.ts';
import { translateRule } from './rule.ts';
import { HTTP_RBAC_FILTER, rbacPolicyName } from './rbac.ts';

export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
/** RBAC shadow stat prefix Istio uses for CUSTOM; the RBAC filter prefixes its metadata keys with it. */
export const EXT_AUTHZ_STAT_PREFIX = 'istio_ext_authz_';
export const EXT_AUTHZ_POLICY_PREFIX = 'istio-ext-authz';
/** Istio's default check timeout when the provider sets none. */
const DEFAULT_TIMEOUT_NS = 600 * 1e9;

type Lookup = (host: string) => Service | undefined;

/** A usable envoyExtAuthzHttp / envoyExtAuthzGrpc provider, resolved against the registry. */
export interface HttpExtAuthzProvider {
  /** envoyExtAuthzHttp or envoyExtAuthzGrpc (then only the fields up to statusOnError apply). */
  kind: 'http' | 'grpc';
  name: string;
  host: string;
  port: number;
  cluster: string;
  timeoutNs: number;
  pathPrefix: string;
  failOpen: boolean;
  statusOnError: number;
  requestHeaders: string[];
  additionalHeaders: Record<string, string>;
  upstreamOnAllow: string[];
  downstreamOnDeny: string[];
  downstreamOnAllow: string[];
  /** includeRequestBodyInCheck */
  body?: { maxRequestBytes: number; allowPartialMessage: boolean; packAsBytes: boolean };
}

export type ExtAuthzResolution = { provider: HttpExtAuthzProvider; problem?: undefined } | { provider?: undefined; problem: string };

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/** Same forms the tracing providers accept: FQDN, "namespace/host", or a short name expanded with the domain suffix. */
function findService(lookup: Lookup, service: string, suffix: string): Service | undefined {
  const host = service.includes('/') ? service.slice(service.indexOf('/') + 1) : service;
  return lookup(host) ?? lookup(`${host}.svc.${suffix}`);
}

/** The provider named `name` as an HTTP ext_authz service, or why it cannot be used. */
export function resolveExtAuthzProvider(mesh: MeshConfig, name: string, lookup: Lookup, suffix = 'cluster.local'): ExtAuthzResolution {
  const list = Array.isArray(mesh.extensionProviders) ? mesh.extensionProviders : [];
  const p = list.find((x) => isObj(x) && x.name === name) as Record<string, unknown> | undefined;
  if (!name) return { problem: 'CUSTOM action without provider.name' };
  if (!p) return { problem: `provider ${name} is not defined in meshConfig.extensionProviders` };
  const grpc = isObj(p.envoyExtAuthzGrpc);
  const h = grpc ? p.envoyExtAuthzGrpc : p.envoyExtAuthzHttp;
  if (!isObj(h)) return { problem: `provider ${name} is not an ext_authz provider (envoyExtAuthzHttp / envoyExtAuthzGrpc)` };
  // Rigging's proxy cannot honour these yet: the provider is unusable rather than half applied
  if (isObj(h.includeRequestBodyInCheck)) return { problem: `provider ${name}: includeRequestBodyInCheck is not supported yet` };
  const service = typeof h.service === 'string' ? h.service : '';
  const port = typeof h.port === 'number' ? h.port : Number(h.port);
  if (!service || !Number.isInteger(port) || port <= 0 || port > 65535) return { problem: `provider ${name} needs envoyExtAuthzHttp.service and a port in 1-65535` };
  const svc = findService(lookup, service, suffix);
  if (!svc) return { problem: `provider ${name}: could not find service ${service} in the registry` };
  let timeoutNs = DEFAULT_TIMEOUT_NS;
  if (h.timeout !== undefined) {
    const t = parseGoDuration(h.timeout);
    if (t === undefined || t <= 0) return { problem: `provider ${name}: invalid timeout ${String(h.timeout)}` };
    timeoutNs = t;
  }
  let statusOnError = 403;
  if (h.statusOnError !== undefined && h.statusOnError !== '') {
    const code = Number(h.statusOnError);
    if (!Number.isInteger(code) || !statusName(code)) return { problem: `provider ${name}: invalid statusOnError ${String(h.statusOnError)}` };
    statusOnError = code;
  }
  const requestHeaders = strList(h.includeRequestHeadersInCheck);
  const additional = isObj(h.includeAdditionalHeadersInCheck) ? h.includeAdditionalHeadersInCheck : {};
  const out: HttpExtAuthzProvider = {
    kind: grpc ? 'grpc' : 'http', name, host: svc.hostname, port, cluster: outboundCluster(svc.hostname, port), timeoutNs,
    pathPrefix: typeof h.pathPrefix === 'string' ? h.pathPrefix : '',
    failOpen: h.failOpen === true, statusOnError,
    // the deprecated includeHeadersInCheck counts only when the new field is not set (Istio)
    requestHeaders: requestHeaders.length ? requestHeaders : strList(h.includeHeadersInCheck),
    additionalHeaders: Object.fromEntries(Object.entries(additional).filter(([, v]) => typeof v === 'string')) as Record<string, string>,
    upstreamOnAllow: strList(h.headersToUpstreamOnAllow),
    downstreamOnDeny: strList(h.headersToDownstreamOnDeny),
    downstreamOnAllow: strList(h.headersToDownstreamOnAllow),
  };
  const b = h.includeRequestBodyInCheck;
  if (isObj(b)) {
    out.body = { maxRequestBytes: typeof b.maxRequestBytes === 'number' ? b.maxRequestBytes : 0, allowPartialMessage: b.allowPartialMessage === true, packAsBytes: b.packAsBytes === true };
  }
  return { provider: out };
}

/** Envoy's StatusCode enum name for an HTTP status (the filter's status_on_error takes the enum). */
function statusName(code: number): string | undefined {
  const e = envoyRoot().lookupEnum('envoy.type.v3.StatusCode');
  return e.valuesById[code];
}

/** Header names -> Envoy ListStringMatcher: "x-*" is a prefix, "*-x" a suffix, else exact; all case-insensitive. */
function headerList(names: readonly string[]): EnvoyResource | undefined {
  if (!names.length) return undefined;
  return {
    patterns: names.map((n) => {
      if (n.endsWith('*')) return { prefix: n.slice(0, -1), ignore_case: true };
      if (n.startsWith('*')) return { suffix: n.slice(1), ignore_case: true };
      return { exact: n, ignore_case: true };
    }),
  };
}

/** The ext_authz filter's typed_config for a resolved provider. */
export function extAuthzConfig(p: HttpExtAuthzProvider): EnvoyResource {
  if (p.kind === 'grpc') {
    return {
      '@type': TypeUrl.ExtAuthz,
      grpc_service: { envoy_grpc: { cluster_name: p.cluster, authority: p.host }, timeout: nsToDuration(p.timeoutNs) },
      status_on_error: { code: statusName(p.statusOnError) },
      failure_mode_allow: p.failOpen,
      transport_api_version: 'V3',
      filter_enabled_metadata: filterEnabledMetadata(),
    };
  }
  const service: EnvoyResource = {
    server_uri: { uri: `http://${p.host}`, cluster: p.cluster, timeout: nsToDuration(p.timeoutNs) },
    path_prefix: p.pathPrefix,
  };
  const allowed = headerList(p.requestHeaders);
  const add = Object.keys(p.additionalHeaders).sort().map((k) => ({ key: k, value: p.additionalHeaders[k]! }));
  if (allowed || add.length) service.authorization_request = { ...(allowed ? { allowed_headers: allowed } : {}), ...(add.length ? { headers_to_add: add } : {}) };
  if (p.upstreamOnAllow.length || p.downstreamOnDeny.length || p.downstreamOnAllow.length) {
    const r: EnvoyResource = {};
    const up = headerList(p.upstreamOnAllow); if (up) r.allowed_upstream_headers = up;
    const deny = headerList(p.downstreamOnDeny); if (deny) r.allowed_client_headers = deny;
    const ok = headerList(p.downstreamOnAllow); if (ok) r.allowed_client_headers_on_success = ok;
    service.authorization_response = r;
  }
  const cfg: EnvoyResource = {
    '@type': TypeUrl.ExtAuthz,
    http_service: service,
    status_on_error: { code: statusName(p.statusOnError) },
    failure_mode_allow: p.failOpen,
    transport_api_version: 'V3',
    filter_enabled_metadata: filterEnabledMetadata(),
  };
  if (p.body) cfg.with_request_body = { max_request_bytes: p.body.maxRequestBytes, allow_partial_message: p.body.allowPartialMessage, pack_as_bytes: p.body.packAsBytes };
  return cfg;
}

/** Enable ext_authz only where the CUSTOM shadow rules matched (the RBAC filter's metadata names the policy). */
function filterEnabledMetadata(): EnvoyResource {
  return {
    filter: HTTP_RBAC_FILTER,
    path: [{ key: `${EXT_AUTHZ_STAT_PREFIX}shadow_effective_policy_id` }],
    value: { string_match: { prefix: EXT_AUTHZ_POLICY_PREFIX } },
  };
}

/** The enforced CUSTOM policies applying to a proxy, and the one provider they may use (Istio allows one per workload). */
export interface CustomPlan {
  /** Usable: the filters to put first (RBAC shadow + ext_authz). */
  filters: EnvoyResource[];
  /** Provider names whose CUSTOM rules must be denied instead (unusable provider). */
  bad: Set<string>;
}

export function providerOf(p: AuthzPolicy): string {
  const n = (p.spec as { provider?: { name?: unknown } }).provider?.name;
  return typeof n === 'string' ? n : '';
}

/** Plan the HTTP CUSTOM filters; providers that cannot be used are returned in `bad` for rbac.ts to deny. */
export function planCustom(policies: readonly AuthzPolicy[], mesh: MeshConfig, lookup: Lookup, suffix?: string): CustomPlan {
  const custom = policies.filter((p) => actionOf(p) === 'CUSTOM' && !isDryRun(p));
  const names = [...new Set(custom.map(providerOf))].sort();
  if (names.length === 0) return { filters: [], bad: new Set() };
  if (names.length > 1) return { filters: [], bad: new Set(names) };
  const name = names[0]!;
  const r = resolveExtAuthzProvider(mesh, name, lookup, suffix);
  if (!r.provider) return { filters: [], bad: new Set(names) };
  const rules: Record<string, EnvoyResource> = {};
  for (const p of custom) {
    (Array.isArray(p.spec.rules) ? p.spec.rules : []).forEach((rule, i) => {
      const t = translateRule(rule, { namespace: p.metadata.namespace, tcp: false, onHttpOnly: 'drop-field' });
      if (t.policy) rules[`${EXT_AUTHZ_POLICY_PREFIX}-${rbacPolicyName(p, i)}`] = t.policy;
    });
  }
  if (Object.keys(rules).length === 0) return { filters: [], bad: new Set() };
  return {
    bad: new Set(),
    filters: [
      { name: HTTP_RBAC_FILTER, typed_config: { '@type': TypeUrl.HttpRbac, shadow_rules: { action: 'DENY', policies: rules }, shadow_rules_stat_prefix: EXT_AUTHZ_STAT_PREFIX } },
      { name: EXT_AUTHZ_FILTER, typed_config: extAuthzConfig(r.provider) },
    ],
  };
}

/** Why each CUSTOM policy's provider cannot be used, for the issues report (empty when all are usable). */
export function customProblems(policies: readonly AuthzPolicy[], mesh: MeshConfig | undefined, lookup: Lookup | undefined, suffix?: string): Map<AuthzPolicy, string> {
  const out = new Map<AuthzPolicy, string>();
  for (const p of policies) {
    if (actionOf(p) !== 'CUSTOM') continue;
    if (!mesh || !lookup) { out.set(p, `provider ${providerOf(p) || '(none)'} was not checked here (no mesh config / registry given); it is used when meshConfig.extensionProviders defines it as envoyExtAuthzHttp on a known service`); continue; }
    const r = resolveExtAuthzProvider(mesh, providerOf(p), lookup, suffix);
    if (r.problem) out.set(p, r.problem);
  }
  return out;
}
