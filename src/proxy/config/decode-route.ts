// proxy/config: decodes RouteConfiguration (RDS, or inline in an HCM) into the narrowed RouteConfig.
import { Ctx, type Obj, arr, regexSource, durationMs, headerMatchers, headerMutations, isObj, num, obj, queryParamMatchers, runtimeFraction, str, wrappedBool, wrappedNum } from './decode-common.ts';
import { decodeCorsPolicy, decodePerFilter } from './decode-filters.ts';
import type { ClusterSpecifier, DecodeResult, DirectResponseAction, ForwardAction, HashPolicyConfig, MirrorPolicy, PathMatch, RedirectAction, RetryPolicyConfig, RouteConfig, RouteEntry, RouteMatch, VirtualHostConfig, WeightedClusterEntry } from './types.ts';

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000; // Envoy's RouteAction.timeout default
const DEFAULT_BACKOFF_BASE_MS = 25;

export function decodeRouteConfiguration(raw: Obj, resourceName?: string): DecodeResult<RouteConfig> {
  const name = str(raw.name) ?? '';
  const ctx = new Ctx(`RouteConfiguration ${resourceName ?? name}`);
  const value = routeConfigInto(raw, ctx);
  return ctx.errors.length ? { errors: ctx.errors } : { value };
}

/** Shared with the listener decoder (inline route_config). */
export function routeConfigInto(raw: Obj, ctx: Ctx, field = ''): RouteConfig {
  const p = field ? `${field}.` : '';
  if (raw.vhds !== undefined) ctx.err(`${p}vhds`, 'VHDS is not supported');
  const virtualHosts: VirtualHostConfig[] = [];
  arr(raw.virtual_hosts).forEach((vh, i) => {
    if (isObj(vh)) virtualHosts.push(virtualHost(vh, ctx, `${p}virtual_hosts[${i}]`));
  });
  // Envoy rejects two virtual hosts claiming the same domain.
  const seen = new Map<string, string>();
  virtualHosts.forEach((vh, i) => {
    for (const d of vh.domains) {
      if (seen.has(d)) ctx.err(`${p}virtual_hosts[${i}].domains`, `domain ${JSON.stringify(d)} already used by virtual host ${seen.get(d)}`);
      else seen.set(d, vh.name);
    }
  });
  return {
    name: str(raw.name) ?? '',
    virtualHosts,
    ignorePortInHostMatching: raw.ignore_port_in_host_matching === true,
    perFilter: raw.typed_per_filter_config !== undefined ? decodePerFilter(raw.typed_per_filter_config, ctx, `${p}typed_per_filter_config`) : undefined,
    ...headerMutations(raw, ctx, field),
  };
}

function virtualHost(v: Obj, ctx: Ctx, field: string): VirtualHostConfig {
  const name = str(v.name) ?? '';
  const domains = arr(v.domains).filter((d): d is string => typeof d === 'string').map((d) => d.toLowerCase());
  if (domains.length === 0) ctx.err(`${field}.domains`, `virtual host ${name} has no domains`);
  domains.forEach((d, i) => {
    // Envoy allows one wildcard, only at the start or the end.
    if (d !== '*' && d.includes('*') && !(d.startsWith('*') && !d.slice(1).includes('*')) && !(d.endsWith('*') && !d.slice(0, -1).includes('*'))) {
      ctx.err(`${field}.domains[${i}]`, `invalid wildcard domain ${JSON.stringify(d)}`);
    }
  });
  const routes: RouteEntry[] = [];
  arr(v.routes).forEach((r, i) => {
    const e = isObj(r) ? route(r, ctx, `${field}.routes[${i}]`) : undefined;
    if (e) routes.push(e);
  });
  const perFilter = decodePerFilter(v.typed_per_filter_config, ctx, `${field}.typed_per_filter_config`);
  if (!perFilter.cors && isObj(v.cors)) perFilter.cors = decodeCorsPolicy(v.cors, ctx, `${field}.cors`);
  const tls = str(v.require_tls) ?? 'NONE';
  return {
    name,
    domains,
    routes,
    requireTls: tls === 'ALL' || tls === 'EXTERNAL_ONLY' ? tls : 'NONE',
    retryPolicy: isObj(v.retry_policy) ? retryPolicy(v.retry_policy, ctx, `${field}.retry_policy`) : undefined,
    perFilter,
    includeAttemptCountInRequest: v.include_request_attempt_count === true,
    includeAttemptCountInResponse: v.include_attempt_count_in_response === true,
    ...headerMutations(v, ctx, field),
  };
}

function route(v: Obj, ctx: Ctx, field: string): RouteEntry | undefined {
  const match = routeMatch(obj(v.match), ctx, `${field}.match`);
  let action: RouteEntry['action'] | undefined;
  if (isObj(v.route)) action = forward(v.route, ctx, `${field}.route`);
  else if (isObj(v.redirect)) action = redirect(v.redirect, ctx, `${field}.redirect`);
  else if (isObj(v.direct_response)) action = direct(v.direct_response, ctx, `${field}.direct_response`);
  else if (v.filter_action !== undefined || v.non_forwarding_action !== undefined) ctx.err(field, 'filter_action / non_forwarding_action routes are not supported');
  else ctx.err(field, 'route needs route, redirect or direct_response');
  if (!match || !action) return undefined;
  const perFilter = decodePerFilter(v.typed_per_filter_config, ctx, `${field}.typed_per_filter_config`);
  if (!perFilter.cors && isObj(v.route) && isObj(v.route.cors)) perFilter.cors = decodeCorsPolicy(v.route.cors, ctx, `${field}.route.cors`);
  return {
    name: str(v.name) ?? '',
    match,
    action,
    perFilter,
    operation: str(obj(v.decorator)?.operation),
    ...headerMutations(v, ctx, field),
  };
}

function routeMatch(v: Obj | undefined, ctx: Ctx, field: string): RouteMatch | undefined {
  if (!v) {
    ctx.err(field, 'route needs a match');
    return undefined;
  }
  let path: PathMatch;
  if (typeof v.prefix === 'string') path = { kind: 'prefix', value: v.prefix };
  else if (typeof v.path === 'string') path = { kind: 'path', value: v.path };
  else if (typeof v.path_separated_prefix === 'string') {
    path = { kind: 'pathSeparatedPrefix', value: v.path_separated_prefix };
    if (/[?#]/.test(v.path_separated_prefix) || (v.path_separated_prefix.endsWith('/') && v.path_separated_prefix !== '/')) {
      ctx.err(`${field}.path_separated_prefix`, 'must not contain ? or # nor end with /');
    }
  } else if (isObj(v.safe_regex)) {
    const re = regexSource(str(v.safe_regex.regex) ?? '', ctx, `${field}.safe_regex.regex`);
    if (!re) return undefined;
    path = { kind: 'regex', regex: re.source };
  } else if (v.connect_matcher !== undefined || v.path_match_policy !== undefined) {
    ctx.err(field, 'connect_matcher / path_match_policy are not supported');
    return undefined;
  } else {
    path = { kind: 'prefix', value: '' }; // oneof set to the empty prefix encodes to nothing in some encoders
  }
  if (v.tls_context !== undefined) ctx.err(`${field}.tls_context`, 'tls_context matching is not supported');
  if (arr(v.dynamic_metadata).length) ctx.err(`${field}.dynamic_metadata`, 'dynamic_metadata matching is not supported');
  return {
    path,
    caseSensitive: wrappedBool(v.case_sensitive) ?? true,
    headers: headerMatchers(v.headers, ctx, `${field}.headers`),
    queryParams: queryParamMatchers(v.query_parameters, ctx, `${field}.query_parameters`),
    grpc: v.grpc !== undefined,
    runtimeFraction: runtimeFraction(v.runtime_fraction, ctx, `${field}.runtime_fraction`),
  };
}

function regexSub(v: unknown, ctx: Ctx, field: string): { regex: string; substitution: string } | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const re = regexSource(str(obj(o.pattern)?.regex) ?? '', ctx, `${field}.pattern.regex`);
  if (!re) return undefined;
  return { regex: re.source, substitution: str(o.substitution) ?? '' };
}

function forward(v: Obj, ctx: Ctx, field: string): ForwardAction | undefined {
  let cluster: ClusterSpecifier;
  if (typeof v.cluster === 'string') {
    if (!v.cluster) ctx.err(`${field}.cluster`, 'must not be empty');
    cluster = { kind: 'cluster', name: v.cluster };
  } else if (typeof v.cluster_header === 'string') {
    cluster = { kind: 'header', header: v.cluster_header.toLowerCase() };
  } else if (isObj(v.weighted_clusters)) {
    const clusters: WeightedClusterEntry[] = [];
    arr(v.weighted_clusters.clusters).forEach((c, i) => {
      if (!isObj(c)) return;
      const f = `${field}.weighted_clusters.clusters[${i}]`;
      const name = str(c.name) ?? '';
      if (!name) ctx.err(`${f}.name`, c.cluster_header ? 'cluster_header in weighted clusters is not supported' : 'must not be empty');
      clusters.push({ name, weight: wrappedNum(c.weight) ?? 0, perFilter: decodePerFilter(c.typed_per_filter_config, ctx, `${f}.typed_per_filter_config`), ...headerMutations(c, ctx, f) });
    });
    const totalWeight = clusters.reduce((s, c) => s + c.weight, 0);
    if (clusters.length === 0) ctx.err(`${field}.weighted_clusters.clusters`, 'must not be empty');
    else if (totalWeight <= 0) ctx.err(`${field}.weighted_clusters`, 'sum of weights must be > 0');
    cluster = { kind: 'weighted', clusters, totalWeight };
  } else {
    ctx.err(field, 'route action needs cluster, cluster_header or weighted_clusters (cluster_specifier_plugin is not supported)');
    return undefined;
  }
  let hostRewrite: ForwardAction['hostRewrite'];
  if (typeof v.host_rewrite_literal === 'string') hostRewrite = { kind: 'literal', value: v.host_rewrite_literal };
  else if (typeof v.host_rewrite_header === 'string') hostRewrite = { kind: 'header', header: v.host_rewrite_header.toLowerCase() };
  else if (wrappedBool(v.auto_host_rewrite)) hostRewrite = { kind: 'auto' };
  else if (v.host_rewrite_path_regex !== undefined) ctx.err(`${field}.host_rewrite_path_regex`, 'not supported');
  if (v.prefix_rewrite !== undefined && v.regex_rewrite !== undefined) ctx.err(field, 'prefix_rewrite and regex_rewrite are mutually exclusive');

  const hashPolicy: HashPolicyConfig[] = [];
  arr(v.hash_policy).forEach((h, i) => {
    if (!isObj(h)) return;
    const f = `${field}.hash_policy[${i}]`;
    const terminal = h.terminal === true;
    if (isObj(h.header)) hashPolicy.push({ terminal, kind: 'header', headerName: (str(h.header.header_name) ?? '').toLowerCase() });
    else if (isObj(h.cookie)) hashPolicy.push({ terminal, kind: 'cookie', name: str(h.cookie.name) ?? '', ttlMs: durationMs(h.cookie.ttl), path: str(h.cookie.path) });
    else if (isObj(h.connection_properties)) {
      if (h.connection_properties.source_ip === true) hashPolicy.push({ terminal, kind: 'sourceIp' });
    } else if (isObj(h.query_parameter)) hashPolicy.push({ terminal, kind: 'queryParameter', name: str(h.query_parameter.name) ?? '' });
    else if (isObj(h.filter_state)) hashPolicy.push({ terminal, kind: 'filterState', key: str(h.filter_state.key) ?? '' });
    else ctx.err(f, 'unsupported hash policy');
  });

  const mirrors: MirrorPolicy[] = [];
  arr(v.request_mirror_policies).forEach((m, i) => {
    if (!isObj(m)) return;
    const f = `${field}.request_mirror_policies[${i}]`;
    if (!m.cluster) {
      ctx.err(`${f}.cluster`, 'mirror needs a cluster (cluster_header is not supported)');
      return;
    }
    mirrors.push({ cluster: String(m.cluster), fraction: runtimeFraction(m.runtime_fraction, ctx, `${f}.runtime_fraction`) ?? { numerator: 100, denominator: 100 }, traceSampled: wrappedBool(m.trace_sampled) });
  });

  const msd = obj(v.max_stream_duration);
  const grpcMax = durationMs(msd?.grpc_timeout_header_max) ?? durationMs(v.max_grpc_timeout);
  return {
    kind: 'route',
    cluster,
    timeoutMs: durationMs(v.timeout) ?? DEFAULT_ROUTE_TIMEOUT_MS,
    idleTimeoutMs: durationMs(v.idle_timeout),
    grpcTimeoutHeaderMaxMs: grpcMax,
    retryPolicy: isObj(v.retry_policy) ? retryPolicy(v.retry_policy, ctx, `${field}.retry_policy`) : undefined,
    prefixRewrite: str(v.prefix_rewrite),
    regexRewrite: regexSub(v.regex_rewrite, ctx, `${field}.regex_rewrite`),
    hostRewrite,
    hashPolicy,
    mirrors,
    upgradeConfigs: arr(v.upgrade_configs).filter(isObj).map((u) => ({ upgradeType: (str(u.upgrade_type) ?? '').toLowerCase(), enabled: wrappedBool(u.enabled) ?? true })),
    maxStreamDurationMs: durationMs(msd?.max_stream_duration),
  };
}

export function retryPolicy(v: Obj, ctx: Ctx, field: string): RetryPolicyConfig {
  const retryOn = (str(v.retry_on) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bo = obj(v.retry_back_off);
  let backoff = { baseIntervalMs: DEFAULT_BACKOFF_BASE_MS, maxIntervalMs: DEFAULT_BACKOFF_BASE_MS * 10 };
  if (bo) {
    const base = durationMs(bo.base_interval) ?? 0;
    if (base <= 0) ctx.err(`${field}.retry_back_off.base_interval`, 'must be > 0');
    const max = durationMs(bo.max_interval) ?? base * 10;
    if (max < base) ctx.err(`${field}.retry_back_off.max_interval`, 'must be >= base_interval');
    backoff = { baseIntervalMs: base, maxIntervalMs: max };
  }
  const statusCodes = arr(v.retriable_status_codes).map((c) => num(c) ?? 0);
  return {
    retryOn,
    numRetries: wrappedNum(v.num_retries) ?? 1,
    perTryTimeoutMs: durationMs(v.per_try_timeout) ?? 0,
    perTryIdleTimeoutMs: durationMs(v.per_try_idle_timeout) ?? 0,
    retriableStatusCodes: statusCodes,
    retriableHeaders: headerMatchers(v.retriable_headers, ctx, `${field}.retriable_headers`),
    retriableRequestHeaders: headerMatchers(v.retriable_request_headers, ctx, `${field}.retriable_request_headers`),
    backoff,
    retryHostPredicates: arr(v.retry_host_predicate).filter(isObj).map((p) => str(p.name) ?? ''),
    hostSelectionRetryMaxAttempts: num(v.host_selection_retry_max_attempts) ?? 1,
  };
}

const REDIRECT_CODES: Record<string, RedirectAction['responseCode']> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

function redirect(v: Obj, ctx: Ctx, field: string): RedirectAction {
  const codeName = str(v.response_code) ?? 'MOVED_PERMANENTLY';
  const responseCode = REDIRECT_CODES[codeName];
  if (!responseCode) ctx.err(`${field}.response_code`, `unknown redirect response code ${codeName}`);
  const port = num(v.port_redirect);
  return {
    kind: 'redirect',
    scheme: str(v.scheme_redirect)?.toLowerCase(),
    host: str(v.host_redirect),
    port: port ? port : undefined,
    path: str(v.path_redirect),
    prefixRewrite: str(v.prefix_rewrite),
    regexRewrite: regexSub(v.regex_rewrite, ctx, `${field}.regex_rewrite`),
    responseCode: responseCode ?? 301,
    stripQuery: v.strip_query === true,
    httpsRedirect: v.https_redirect === true,
  };
}

function direct(v: Obj, ctx: Ctx, field: string): DirectResponseAction {
  const status = num(v.status) ?? 0;
  if (status < 200 || status >= 600) ctx.err(`${field}.status`, `must be in [200, 600), got ${status}`);
  const b = obj(v.body);
  let body: string | undefined;
  if (b) {
    if (typeof b.inline_string === 'string') body = b.inline_string;
    else if (typeof b.inline_bytes === 'string') body = Buffer.from(b.inline_bytes, 'base64').toString('utf8');
    else if (b.filename !== undefined) ctx.err(`${field}.body.filename`, 'file bodies are not supported');
    else body = '';
  }
  return { kind: 'direct', status, body };
}

