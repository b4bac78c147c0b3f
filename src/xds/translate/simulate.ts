// xds/translate: simulator — walks one request through generated xDS resources the way Envoy would
// (listener -> filter chain -> HCM -> route config -> virtual host -> first matching route) and reports
// where it lands. Used by tests and debugging ("where does this request go?"), like Istio's pilot simulation.
import type { GeneratedConfig } from './types.ts';
import { TypeUrl } from '../../envoy/protos.ts';

export interface SimRequest {
  listener?: string; // force a listener by name
  port: number; // destination port
  address?: string; // destination address (default: any)
  host: string; // Host / :authority
  path: string; // with optional ?query
  method?: string;
  scheme?: string;
  headers?: Record<string, string>;
  sni?: string;
}

export interface SimEndpoint { address: string; port: number; healthy: boolean; weight?: number; locality?: Record<string, unknown>; priority: number }

export interface SimResult {
  listener?: string;
  filterChain?: string;
  tcp?: boolean;
  routeConfig?: string;
  virtualHost?: string;
  route?: string; // the route's name ("" when unnamed)
  /** "namespace/name" of the VirtualService the route came from (Istio's route metadata), when known. */
  virtualService?: string;
  routeIndex?: number;
  cluster?: string;
  weightedClusters?: { name: string; weight: number }[];
  redirect?: Record<string, unknown>;
  directResponse?: { status: number; body?: string };
  fault?: Record<string, unknown>;
  cors?: Record<string, unknown>;
  timeoutMs?: number;
  retry?: { numRetries: number; retryOn: string; retriableStatusCodes: number[]; perTryTimeoutMs?: number };
  rewrite?: { path?: string; host?: string };
  mirrors?: { cluster: string; percent: number }[];
  hashPolicy?: Record<string, unknown>[];
  requestHeadersToAdd?: { key: string; value: string; append: string }[];
  requireTls?: string;
  endpoints?: SimEndpoint[];
  /** Endpoints of each weighted cluster, by cluster name. */
  weightedEndpoints?: Record<string, SimEndpoint[] | undefined>;
  /** Why the walk stopped, when it did not reach a route. */
  error?: string;
}

type Obj = Record<string, any>;

const durMs = (d: Obj | undefined): number | undefined => (d ? Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6 : undefined);

function socketOf(l: Obj): { address?: string; port?: number } {
  const sa = l.address?.socket_address;
  return { address: sa?.address, port: sa?.port_value };
}

const ANY = new Set(['0.0.0.0', '::', '', undefined]);

function pickListener(cfg: GeneratedConfig, req: SimRequest): Obj | undefined {
  const ls = cfg.listeners as Obj[];
  if (req.listener) return ls.find((l) => l.name === req.listener);
  const byPort = ls.filter((l) => socketOf(l).port === req.port && !l.api_listener);
  const exact = byPort.find((l) => req.address !== undefined && socketOf(l).address === req.address);
  if (exact) return exact;
  const wild = byPort.find((l) => ANY.has(socketOf(l).address));
  if (wild) return wild;
  if (byPort.length === 1 && req.address === undefined) return byPort[0];
  // captured traffic: the virtual outbound listener hands the connection to its original destination
  const virt = ls.find((l) => l.use_original_dst?.value === true || l.use_original_dst === true || l.name === 'virtualOutbound');
  return virt;
}

function ipInCidr(ip: string, cidr: { address_prefix: string; prefix_len?: { value: number } | number }): boolean {
  const len = typeof cidr.prefix_len === 'number' ? cidr.prefix_len : cidr.prefix_len?.value ?? 32;
  const toNum = (a: string): number | undefined => {
    const p = a.split('.').map(Number);
    if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return undefined;
    return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
  };
  const a = toNum(ip); const b = toNum(cidr.address_prefix);
  if (a === undefined || b === undefined) return ip === cidr.address_prefix;
  if (len === 0) return true;
  const mask = len >= 32 ? 0xffffffff : ((0xffffffff << (32 - len)) >>> 0);
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Envoy's filter chain selection, simplified: every given criterion must match; more specific wins. */
function pickFilterChain(l: Obj, req: SimRequest): Obj | undefined {
  let best: { fc: Obj; score: number } | undefined;
  for (const fc of (l.filter_chains ?? []) as Obj[]) {
    const m = fc.filter_chain_match ?? {};
    let score = 0;
    if (m.destination_port !== undefined) {
      const p = typeof m.destination_port === 'number' ? m.destination_port : m.destination_port.value;
      if (p !== req.port) continue;
      score += 1000;
    }
    if (m.prefix_ranges?.length) {
      if (!req.address || !m.prefix_ranges.some((c: Obj) => ipInCidr(req.address!, c as any))) continue;
      score += 100;
    }
    if (m.server_names?.length) {
      if (!req.sni || !m.server_names.some((n: string) => n === req.sni || (n.startsWith('*') && req.sni!.endsWith(n.slice(1))))) continue;
      score += 10;
    }
    if (m.transport_protocol) {
      if (m.transport_protocol !== (req.sni ? 'tls' : 'raw_buffer')) continue;
      score += 1;
    }
    if (m.application_protocols?.length) {
      if (req.sni) continue; // plaintext HTTP detection is not modelled for TLS
      if (!m.application_protocols.some((p: string) => p.startsWith('http'))) continue;
    }
    if (!best || score > best.score) best = { fc, score };
  }
  return best?.fc ?? l.default_filter_chain;
}

// ---------------- virtual host and route matching (Envoy semantics)

/** Envoy: exact domain, then longest suffix wildcard ("*.foo"), then longest prefix wildcard ("foo.*"), then "*". */
export function pickVirtualHost(vhosts: Obj[], hostIn: string, ignorePort = false): Obj | undefined {
  let host = hostIn.toLowerCase();
  if (ignorePort) host = host.replace(/:\d+$/, '');
  let suffixBest: { vh: Obj; len: number } | undefined;
  let prefixBest: { vh: Obj; len: number } | undefined;
  let star: Obj | undefined;
  for (const vh of vhosts) {
    for (const dRaw of (vh.domains ?? []) as string[]) {
      const d = dRaw.toLowerCase();
      if (d === '*') { star ??= vh; continue; }
      if (d === host) return vh;
      if (d.startsWith('*')) {
        const suf = d.slice(1);
        if (host.length > suf.length && host.endsWith(suf) && (!suffixBest || suf.length > suffixBest.len)) suffixBest = { vh, len: suf.length };
      } else if (d.endsWith('*')) {
        const pre = d.slice(0, -1);
        if (host.length > pre.length && host.startsWith(pre) && (!prefixBest || pre.length > prefixBest.len)) prefixBest = { vh, len: pre.length };
      }
    }
  }
  return suffixBest?.vh ?? prefixBest?.vh ?? star;
}

function fullRegex(re: string, flags = ''): RegExp {
  return new RegExp(`^(?:${re})$`, flags);
}

function stringMatches(m: Obj, value: string): boolean {
  const ci = m.ignore_case === true;
  const v = ci ? value.toLowerCase() : value;
  const c = (s: string): string => (ci ? s.toLowerCase() : s);
  if (m.exact !== undefined) return v === c(m.exact);
  if (m.prefix !== undefined) return v.startsWith(c(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(c(m.suffix));
  if (m.contains !== undefined) return v.includes(c(m.contains));
  if (m.safe_regex) return fullRegex(m.safe_regex.regex).test(value);
  return true; // empty matcher matches any value
}

function headerValue(req: SimRequest, name: string): string | undefined {
  switch (name.toLowerCase()) {
    case ':method': return req.method ?? 'GET';
    case ':authority': case 'host': return req.host;
    case ':path': return req.path;
    case ':scheme': return req.scheme ?? 'http';
  }
  const hs = req.headers ?? {};
  for (const [k, v] of Object.entries(hs)) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}

function headerMatches(h: Obj, req: SimRequest): boolean {
  let v = headerValue(req, h.name);
  let r: boolean;
  if (v === undefined && h.treat_missing_header_as_empty) v = '';
  if (h.present_match !== undefined) r = (v !== undefined) === !!h.present_match;
  else if (v === undefined) r = false;
  else if (h.string_match) r = stringMatches(h.string_match, v);
  else if (h.exact_match !== undefined) r = v === h.exact_match;
  else if (h.prefix_match !== undefined) r = v.startsWith(h.prefix_match);
  else if (h.suffix_match !== undefined) r = v.endsWith(h.suffix_match);
  else if (h.safe_regex_match) r = fullRegex(h.safe_regex_match.regex).test(v);
  else r = true;
  return h.invert_match ? !r : r;
}

function parseQuery(q: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of q.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    if (!out.has(k)) out.set(k, i < 0 ? '' : decodeURIComponent(part.slice(i + 1)));
  }
  return out;
}

/** Envoy RouteMatch against a request (path without query; query parameters; headers). */
export function routeMatches(m: Obj, req: SimRequest): boolean {
  const qi = req.path.indexOf('?');
  const path = qi < 0 ? req.path : req.path.slice(0, qi);
  const query = parseQuery(qi < 0 ? '' : req.path.slice(qi + 1));
  const cs = m.case_sensitive === undefined ? true : (typeof m.case_sensitive === 'object' ? m.case_sensitive.value !== false : m.case_sensitive !== false);
  const norm = (s: string): string => (cs ? s : s.toLowerCase());
  if (m.prefix !== undefined) { if (!norm(path).startsWith(norm(m.prefix))) return false; }
  else if (m.path !== undefined) { if (norm(path) !== norm(m.path)) return false; }
  else if (m.safe_regex) { if (!fullRegex(m.safe_regex.regex).test(path)) return false; }
  else if (m.path_separated_prefix !== undefined) {
    const p = norm(m.path_separated_prefix);
    const x = norm(path);
    if (!(x === p || x.startsWith(p + '/'))) return false;
  } else return false;
  for (const h of (m.headers ?? []) as Obj[]) if (!headerMatches(h, req)) return false;
  for (const q of (m.query_parameters ?? []) as Obj[]) {
    const v = query.get(q.name);
    if (q.present_match) { if (v === undefined) return false; continue; }
    if (v === undefined) return false;
    if (q.string_match && !stringMatches(q.string_match, v)) return false;
  }
  return true;
}

function endpointsFor(cfg: GeneratedConfig, cluster: string): SimEndpoint[] | undefined {
  const c = (cfg.clusters as Obj[]).find((x) => x.name === cluster);
  const cla = ((cfg.endpoints as Obj[]).find((x) => x.cluster_name === cluster)) ?? c?.load_assignment;
  if (!cla) return undefined;
  const out: SimEndpoint[] = [];
  for (const loc of (cla.endpoints ?? []) as Obj[]) {
    for (const e of (loc.lb_endpoints ?? []) as Obj[]) {
      const sa = e.endpoint?.address?.socket_address ?? {};
      const hs = e.health_status;
      out.push({
        address: sa.address, port: sa.port_value,
        healthy: hs === undefined || hs === 'HEALTHY' || hs === 'UNKNOWN',
        weight: e.load_balancing_weight?.value ?? e.load_balancing_weight,
        locality: loc.locality, priority: loc.priority ?? 0,
      });
    }
  }
  return out;
}

function vsOf(r: Obj): string | undefined {
  const f = r.metadata?.filter_metadata?.istio;
  const path: unknown = f?.fields?.config?.stringValue ?? f?.fields?.config?.string_value ?? f?.config;
  const m = typeof path === 'string' ? /\/namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(path) : null;
  return m ? `${m[1]}/${m[2]}` : undefined;
}

function applyRoute(res: SimResult, r: Obj, req: SimRequest, cfg: GeneratedConfig): void {
  res.route = r.name ?? '';
  const vs = vsOf(r);
  if (vs) res.virtualService = vs;
  const pf = r.typed_per_filter_config ?? {};
  for (const v of Object.values(pf) as Obj[]) {
    if (v['@type'] === TypeUrl.Fault) res.fault = v;
    if (v['@type'] === TypeUrl.CorsPolicy) res.cors = v;
  }
  const hdrs = (r.request_headers_to_add ?? []) as Obj[];
  if (hdrs.length) res.requestHeadersToAdd = hdrs.map((h) => ({ key: h.header.key, value: h.header.value, append: h.append_action ?? 'APPEND_IF_EXISTS_OR_ADD' }));
  if (r.redirect) { res.redirect = r.redirect; return; }
  if (r.direct_response) {
    res.directResponse = { status: r.direct_response.status, body: r.direct_response.body?.inline_string };
    return;
  }
  const a = r.route as Obj | undefined;
  if (!a) { res.error = `route ${r.name ?? ''} has no action`; return; }
  if (a.cluster) res.cluster = a.cluster;
  if (a.weighted_clusters) {
    res.weightedClusters = (a.weighted_clusters.clusters as Obj[]).map((c) => ({ name: c.name, weight: c.weight?.value ?? c.weight ?? 0 }));
  }
  res.timeoutMs = durMs(a.timeout) ?? 15000; // Envoy's default route timeout when unset
  if (a.retry_policy) {
    const rp = a.retry_policy;
    res.retry = {
      numRetries: rp.num_retries?.value ?? rp.num_retries ?? 1,
      retryOn: rp.retry_on ?? '',
      retriableStatusCodes: rp.retriable_status_codes ?? [],
      perTryTimeoutMs: durMs(rp.per_try_timeout),
    };
  }
  const qi = req.path.indexOf('?');
  const path = qi < 0 ? req.path : req.path.slice(0, qi);
  const rest = qi < 0 ? '' : req.path.slice(qi);
  const rw: { path?: string; host?: string } = {};
  if (a.prefix_rewrite !== undefined) {
    const m = r.match as Obj;
    const matched = m.prefix ?? m.path ?? m.path_separated_prefix ?? '';
    rw.path = a.prefix_rewrite + path.slice(matched.length) + rest;
  } else if (a.regex_rewrite) {
    rw.path = path.replace(new RegExp(a.regex_rewrite.pattern.regex, 'g'), a.regex_rewrite.substitution.replace(/\\(\d)/g, '$$$1')) + rest;
  }
  if (a.host_rewrite_literal) rw.host = a.host_rewrite_literal;
  if (rw.path !== undefined || rw.host !== undefined) res.rewrite = rw;
  if (a.request_mirror_policies?.length) {
    res.mirrors = (a.request_mirror_policies as Obj[]).map((m) => {
      const f = m.runtime_fraction?.default_value;
      const den = f?.denominator === 'MILLION' ? 1e6 : f?.denominator === 'TEN_THOUSAND' ? 1e4 : 100;
      return { cluster: m.cluster, percent: f ? ((f.numerator ?? 0) / den) * 100 : 100 };
    });
  }
  if (a.hash_policy?.length) res.hashPolicy = a.hash_policy;
  if (res.cluster) res.endpoints = endpointsFor(cfg, res.cluster);
  if (res.weightedClusters) res.weightedEndpoints = Object.fromEntries(res.weightedClusters.map((w) => [w.name, endpointsFor(cfg, w.name)]));
}

function hcmOf(filters: Obj[]): Obj | undefined {
  return filters.map((f) => f.typed_config).find((tc) => tc?.['@type'] === TypeUrl.HttpConnectionManager);
}

/** Walk `req` through `config`. Never throws: a dead end is reported in `error`. */
export function simulate(config: GeneratedConfig, req: SimRequest): SimResult {
  const res: SimResult = {};
  const l = pickListener(config, req);
  if (!l) return { error: `no listener for port ${req.port}` };
  res.listener = l.name;
  let hcm: Obj | undefined;
  if (l.api_listener) {
    hcm = l.api_listener.api_listener;
  } else {
    let target = l;
    // the virtual outbound listener forwards to the listener owning the original destination port
    if ((l.use_original_dst?.value ?? l.use_original_dst) && !req.listener) {
      const inner = (config.listeners as Obj[]).find((x) => x !== l && socketOf(x).port === req.port &&
        (ANY.has(socketOf(x).address) || socketOf(x).address === req.address));
      if (inner) { target = inner; res.listener = inner.name; }
    }
    const fc = pickFilterChain(target, req);
    if (!fc) return { ...res, error: `no filter chain of ${target.name} matches port ${req.port}` };
    res.filterChain = fc.name ?? '';
    const filters = (fc.filters ?? []) as Obj[];
    hcm = hcmOf(filters);
    if (!hcm) {
      const tcp = filters.map((f) => f.typed_config).find((tc) => tc?.['@type'] === TypeUrl.TcpProxy);
      if (!tcp) return { ...res, error: `filter chain ${fc.name ?? ''} has neither an HTTP connection manager nor tcp_proxy` };
      res.tcp = true;
      if (tcp.cluster) { res.cluster = tcp.cluster; res.endpoints = endpointsFor(config, tcp.cluster); }
      if (tcp.weighted_clusters) res.weightedClusters = (tcp.weighted_clusters.clusters as Obj[]).map((c) => ({ name: c.name, weight: c.weight ?? 0 }));
      return res;
    }
  }
  if (!hcm) return { ...res, error: `listener ${l.name} has no HTTP connection manager` };
  let rc: Obj | undefined;
  if (hcm.rds) {
    res.routeConfig = hcm.rds.route_config_name;
    rc = (config.routes as Obj[]).find((r) => r.name === hcm!.rds.route_config_name);
    if (!rc) return { ...res, error: `route config ${hcm.rds.route_config_name} not found` };
  } else {
    rc = hcm.route_config;
    res.routeConfig = rc?.name ?? '';
  }
  if (!rc) return { ...res, error: 'HTTP connection manager has no route config' };
  const vh = pickVirtualHost((rc.virtual_hosts ?? []) as Obj[], req.host, rc.ignore_port_in_host_matching === true);
  if (!vh) return { ...res, error: `no virtual host of ${res.routeConfig} matches ${req.host}` };
  res.virtualHost = vh.name;
  if (vh.require_tls && vh.require_tls !== 'NONE' && (req.scheme ?? (req.sni ? 'https' : 'http')) !== 'https') {
    // Envoy answers a plaintext request to such a virtual host with a redirect to https, before routing
    res.requireTls = vh.require_tls;
    res.redirect = { scheme_redirect: 'https', response_code: 'MOVED_PERMANENTLY' };
    return res;
  }
  const routes = (vh.routes ?? []) as Obj[];
  const idx = routes.findIndex((r) => routeMatches(r.match ?? {}, req));
  if (idx < 0) return { ...res, error: `no route of virtual host ${vh.name} matches ${req.method ?? 'GET'} ${req.path}` };
  res.routeIndex = idx;
  applyRoute(res, routes[idx]!, req, config);
  return res;
}
