// proxy/router: compiles a RouteConfig once into a matcher the engine asks per request (Envoy's route table semantics).
//
// route(req) picks the virtual host by authority, then the first route whose path, headers, query parameters,
// gRPC and runtime-fraction conditions all hold, and returns what to do: forward (cluster picked — weighted clusters
// drawn from the injected random source — path/authority rewritten, timeout, retry policy, hash policy, mirrors that
// fire for this request, header edits ordered most specific first so outer levels win), redirect (with its
// Location), direct response, or none (404, flag NR). Everything that can be computed ahead of a request is.
import type { ForwardAction, HeaderValueOption, PerFilterConfig, RouteConfig, RouteEntry, VirtualHostConfig, WeightedClusterEntry, MirrorPolicy, RedirectAction } from '../config/types.ts';
import { fractionValue } from '../config/types.ts';
import type { HeaderEdits, HttpRouter, RouteDecision, RouteRequest } from '../http/route-types.ts';
import { compileHeaderMatcher, compilePathMatch, compileQueryMatcher, parseQuery } from './match.ts';
import { applyRegexRewrite, compileRegexRewrite, grpcTimeoutMs, redirectLocation, type CompiledRegexRewrite } from './rewrite.ts';
import { VirtualHostIndex } from './vhost.ts';

export interface RouterOptions {
  /** Uniform random in [0, 1): weighted clusters, runtime fractions, mirrors. Default Math.random. */
  random?: () => number;
}

/**
 * A request as the router sees it. `scheme` ('http' | 'https', the downstream connection's) is used for redirects
 * and require_tls; when absent, x-forwarded-proto is used as Envoy does, then 'http'.
 */
export interface RouterRequest extends RouteRequest {
  readonly scheme?: string;
}

type ForwardDecision = Extract<RouteDecision, { kind: 'forward' }>;

interface Edits { request: HeaderEdits; response: HeaderEdits }

interface CompiledTarget {
  cluster: string;
  weight: number;
  edits: Edits;
  perFilter: PerFilterConfig;
}

interface CompiledRoute {
  entry: RouteEntry;
  /** Matched length of the path (without query) or -1. */
  matchPath: (path: string, full: string) => number;
  headers: ((r: RouterRequest) => boolean)[];
  query: ((p: Map<string, string>) => boolean)[];
  grpc: boolean;
  fraction?: number;
  regexRewrite?: CompiledRegexRewrite;
  /** Single-cluster or weighted targets, with their precomputed header edits. */
  targets: CompiledTarget[];
  totalWeight: number;
  clusterHeader?: string;
  mirrors: { policy: MirrorPolicy; fraction: number }[];
  redirectEdits: HeaderEdits;
}

interface CompiledVirtualHost {
  config: VirtualHostConfig;
  routes: CompiledRoute[];
}

const EMPTY_EDITS: HeaderEdits = { add: [], remove: [] };

export class CompiledRouter implements HttpRouter {
  private readonly index: VirtualHostIndex<CompiledVirtualHost>;
  private readonly random: () => number;

  constructor(readonly config: RouteConfig, opts: RouterOptions = {}) {
    this.random = opts.random ?? Math.random;
    const vhosts = config.virtualHosts.map((vh) => compileVirtualHost(config, vh));
    this.index = new VirtualHostIndex(vhosts, config.ignorePortInHostMatching);
  }

  /** The virtual host a request authority selects (for debugging and tests). */
  virtualHost(authority: string): VirtualHostConfig | undefined {
    return this.index.find(authority)?.config;
  }

  route(req: RouterRequest): RouteDecision {
    const vh = this.index.find(req.authority);
    if (!vh) return { kind: 'none' };
    const scheme = schemeOf(req);
    if (scheme !== 'https' && (vh.config.requireTls === 'ALL' || (vh.config.requireTls === 'EXTERNAL_ONLY' && req.headers.get('x-envoy-internal') !== 'true'))) {
      return { kind: 'redirect', status: 301, location: `https://${req.authority.replace(/:80$/, '')}${req.path}`, response: EMPTY_EDITS };
    }
    const r = this.firstRoute(vh, req);
    return r ? this.decide(vh, r, req, this.matched, scheme) : { kind: 'none' };
  }

  /** Which virtual host and route (index) a request selects, without deciding anything (debugging, tests). */
  match(req: RouterRequest): { virtualHost: VirtualHostConfig; routeIndex: number } | { virtualHost?: VirtualHostConfig; routeIndex: -1 } {
    const vh = this.index.find(req.authority);
    if (!vh) return { routeIndex: -1 };
    const r = this.firstRoute(vh, req);
    return { virtualHost: vh.config, routeIndex: r ? vh.routes.indexOf(r) : -1 };
  }

  /** The matched path length of the last firstRoute() hit (a field, not a result object per request). */
  private matched = 0;

  private firstRoute(vh: CompiledVirtualHost, req: RouterRequest): CompiledRoute | undefined {
    const q = req.path.indexOf('?');
    const path = q < 0 ? req.path : req.path.slice(0, q);
    let params: Map<string, string> | undefined;
    for (const r of vh.routes) {
      const len = r.matchPath(path, req.path);
      if (len < 0) continue;
      if (r.grpc && !(req.headers.get('content-type') ?? '').startsWith('application/grpc')) continue;
      let ok = true;
      for (const h of r.headers) if (!h(req)) { ok = false; break; }
      if (!ok) continue;
      if (r.query.length) {
        params ??= parseQuery(req.path.slice(path.length + 1));
        for (const q of r.query) if (!q(params)) { ok = false; break; }
        if (!ok) continue;
      }
      if (r.fraction !== undefined && !(this.random() < r.fraction)) continue;
      this.matched = len;
      return r;
    }
    return undefined;
  }

  private decide(vh: CompiledVirtualHost, r: CompiledRoute, req: RouterRequest, matched: number, scheme: string): RouteDecision {
    const a = r.entry.action;
    if (a.kind === 'direct') return { kind: 'direct', status: a.status, body: a.body, response: r.redirectEdits, routeName: r.entry.name };
    if (a.kind === 'redirect') {
      const location = redirectLocation(a, r.regexRewrite, { scheme, authority: req.authority, path: req.path, matchedPrefixLength: prefixLike(r.entry) ? matched : -1 });
      return { kind: 'redirect', status: a.responseCode, location, response: r.redirectEdits, routeName: r.entry.name };
    }
    // Forward.
    let target: CompiledTarget;
    let cluster: string;
    if (r.clusterHeader !== undefined) {
      target = r.targets[0]!;
      cluster = req.headers.get(r.clusterHeader) ?? ''; // '' -> the engine answers 503 NC (cluster not found)
    } else if (r.targets.length === 1) {
      target = r.targets[0]!;
      cluster = target.cluster;
    } else {
      target = pickWeighted(r.targets, r.totalWeight, this.random());
      cluster = target.cluster;
    }
    let path = req.path;
    if (a.prefixRewrite !== undefined && prefixLike(r.entry)) path = a.prefixRewrite + req.path.slice(matched);
    else if (r.regexRewrite) path = applyRegexRewrite(req.path, r.regexRewrite);
    let authority = req.authority;
    const hr = a.hostRewrite;
    if (hr?.kind === 'literal') authority = hr.value;
    else if (hr?.kind === 'header') authority = req.headers.get(hr.header) || authority;
    let timeoutMs = a.timeoutMs;
    if (a.grpcTimeoutHeaderMaxMs !== undefined) {
      const g = grpcTimeoutMs(req.headers.get('grpc-timeout'));
      if (g !== undefined) timeoutMs = a.grpcTimeoutHeaderMaxMs > 0 ? Math.min(g, a.grpcTimeoutHeaderMaxMs) : g;
    }
    let mirrors: MirrorPolicy[] = NO_MIRRORS;
    if (r.mirrors.length) mirrors = r.mirrors.filter((m) => m.fraction >= 1 || this.random() < m.fraction).map((m) => m.policy);
    const d: ForwardDecision = {
      kind: 'forward',
      cluster,
      path,
      authority,
      timeoutMs,
      retryPolicy: a.retryPolicy ?? vh.config.retryPolicy,
      hashPolicy: a.hashPolicy,
      mirrors,
      request: target.edits.request,
      response: target.edits.response,
      upgradeConfigs: a.upgradeConfigs,
      routeName: r.entry.name,
      route: r.entry,
      virtualHost: vh.config,
      perFilter: target.perFilter,
    };
    return d;
  }
}

/** Shared by every decision without mirrors (read-only: nothing adds to a decision's mirrors). */
const NO_MIRRORS: MirrorPolicy[] = [];

export function compileRouter(config: RouteConfig, opts?: RouterOptions): CompiledRouter {
  return new CompiledRouter(config, opts);
}

/** Header matchers may name HTTP/2 pseudo-headers (Istio matches method and authority that way). */
function readHeader(r: RouterRequest, name: string): string | undefined {
  if (name.charCodeAt(0) !== 58 /* ':' */) return r.headers.get(name);
  switch (name) {
    case ':method': return r.method;
    case ':authority': return r.authority;
    case ':path': return r.path;
    case ':scheme': return schemeOf(r);
    default: return r.headers.get(name);
  }
}

function schemeOf(r: RouterRequest): string {
  return (r.scheme ?? r.headers.get('x-forwarded-proto') ?? 'http').toLowerCase();
}

function prefixLike(e: RouteEntry): boolean {
  return e.match.path.kind !== 'regex';
}

function pickWeighted(targets: CompiledTarget[], total: number, r: number): CompiledTarget {
  // Envoy: a value in [0, total) lands in the first cluster whose running sum exceeds it.
  const v = Math.floor(r * total);
  let sum = 0;
  for (const t of targets) {
    sum += t.weight;
    if (v < sum) return t;
  }
  return targets[targets.length - 1]!;
}

function compileVirtualHost(rc: RouteConfig, vh: VirtualHostConfig): CompiledVirtualHost {
  const routes = vh.routes.map((r) => compileRoute(rc, vh, r));
  return { config: vh, routes };
}

/** Header edits most specific first; applied in order with outer levels last, outer levels win on overwrite (Envoy's default). */
function edits(levels: { requestHeadersToAdd: HeaderValueOption[]; requestHeadersToRemove: string[]; responseHeadersToAdd: HeaderValueOption[]; responseHeadersToRemove: string[] }[]): Edits {
  return {
    request: { add: levels.flatMap((l) => l.requestHeadersToAdd), remove: levels.flatMap((l) => l.requestHeadersToRemove) },
    response: { add: levels.flatMap((l) => l.responseHeadersToAdd), remove: levels.flatMap((l) => l.responseHeadersToRemove) },
  };
}

/** Most specific per-filter config wins per filter; disabled filters accumulate. */
function mergePerFilter(...levels: (PerFilterConfig | undefined)[]): PerFilterConfig {
  const out: PerFilterConfig = { disabledFilters: [] };
  for (const l of levels) {
    if (!l) continue;
    out.fault ??= l.fault;
    out.cors ??= l.cors;
    for (const d of l.disabledFilters) if (!out.disabledFilters.includes(d)) out.disabledFilters.push(d);
  }
  return out;
}

function compileRoute(rc: RouteConfig, vh: VirtualHostConfig, e: RouteEntry): CompiledRoute {
  const a = e.action;
  const out: CompiledRoute = {
    entry: e,
    matchPath: compilePathMatch(e.match),
    headers: e.match.headers.map((h) => compileHeaderMatcher(h, readHeader)),
    query: e.match.queryParams.map(compileQueryMatcher),
    grpc: e.match.grpc,
    fraction: e.match.runtimeFraction ? fractionValue(e.match.runtimeFraction) : undefined,
    targets: [],
    totalWeight: 0,
    mirrors: [],
    redirectEdits: edits([e, vh, rc]).response,
  };
  if (a.kind === 'redirect') out.regexRewrite = compileRegexRewrite((a as RedirectAction).regexRewrite);
  if (a.kind !== 'route') return out;
  const fa = a as ForwardAction;
  out.regexRewrite = compileRegexRewrite(fa.regexRewrite);
  out.mirrors = fa.mirrors.map((m) => ({ policy: m, fraction: fractionValue(m.fraction) }));
  const base = (name: string, weight: number, wc?: WeightedClusterEntry): CompiledTarget => ({
    cluster: name,
    weight,
    edits: edits(wc ? [wc, e, vh, rc] : [e, vh, rc]),
    perFilter: mergePerFilter(wc?.perFilter, e.perFilter, vh.perFilter, rc.perFilter),
  });
  if (fa.cluster.kind === 'weighted') {
    out.targets = fa.cluster.clusters.filter((c) => c.weight > 0).map((c) => base(c.name, c.weight, c));
    out.totalWeight = out.targets.reduce((s, t) => s + t.weight, 0);
  } else if (fa.cluster.kind === 'header') {
    out.clusterHeader = fa.cluster.header;
    out.targets = [base('', 1)];
  } else {
    out.targets = [base(fa.cluster.name, 1)];
  }
  return out;
}
