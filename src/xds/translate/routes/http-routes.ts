// xds/translate/routes: VirtualService http[] -> Envoy routes for one proxy and listener port, in
// VirtualService order (one Envoy route per match), delegates expanded, stopping after a catch-all.
import type { ConfigObject } from '../../../config/types.ts';
import type { HTTPRoute, HTTPMatchRequest, VirtualServiceSpec, HTTPRedirect, HTTPDirectResponse, Destination } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';
import { destinationCluster, parseClusterName, type RouteContext } from './context.ts';
import { translateMatch, matchApplies, isCatchAllMatch } from './match.ts';
import { translateHeaders, appendHeaderOps } from './headers.ts';
import {
  translateRetry, routeTimeout, translateFault, translateCors, mirrorFraction, hashPolicyOf, consistentHashFor,
} from './policies.ts';
import { mergeRoute } from './delegate.ts';
import { ZERO_DURATION, type PbDuration } from './duration.ts';

const FAULT_FILTER = 'envoy.filters.http.fault';
const CORS_FILTER = 'envoy.filters.http.cors';

export interface RouteOptions {
  ctx: RouteContext;
  proxy: Proxy;
  /** The port the routes are generated for (sidecar service port, gateway server port). */
  listenPort: number;
  /** "mesh" for sidecars, "ns/name" of each gateway for routers. */
  gateways: ReadonlySet<string>;
  /** Gateway server terminating TLS (redirect scheme default). */
  isTLS?: boolean;
}

const isGrpcProxy = (p: Proxy): boolean => p.generator === 'grpc';

/** Timeout fields: sidecars as Istio (timeout + max_grpc_timeout); proxyless gRPC reads max_stream_duration. */
export function applyTimeout(action: Record<string, unknown>, timeout: PbDuration, proxy: Proxy): void {
  action.timeout = timeout;
  if (isGrpcProxy(proxy)) action.max_stream_duration = { max_stream_duration: timeout };
  else action.max_grpc_timeout = timeout;
}

function routeOperation(route: EnvoyResource, vsName: string, port: number): string {
  const m = route.match as Record<string, unknown>;
  let path = '/*';
  if (typeof m.prefix === 'string') path = `${m.prefix}*`;
  else if (typeof m.path === 'string') path = m.path;
  else if (m.safe_regex) path = String((m.safe_regex as { regex: string }).regex);
  const cluster = (route.route as { cluster?: string } | undefined)?.cluster;
  const parsed = cluster ? parseClusterName(cluster) : undefined;
  if (parsed) return `${parsed.host}:${parsed.port}${path}`;
  return `${vsName}:${port}${path}`;
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

/** HTTPRedirect -> RedirectAction; undefined for a response code Envoy cannot send (the route is skipped). */
function translateRedirect(r: HTTPRedirect, listenPort: number, isTLS: boolean): Record<string, unknown> | undefined {
  const code = REDIRECT_CODES[r.redirectCode ?? 301];
  if (!code) return undefined;
  const out: Record<string, unknown> = { response_code: code };
  if (r.authority) out.host_redirect = r.authority;
  if (r.uri) out.path_redirect = r.uri;
  if (r.scheme) out.scheme_redirect = r.scheme;
  let port: number | undefined;
  if (r.port) port = r.port;
  else if (r.derivePort === 'FROM_REQUEST_PORT') port = listenPort; // routes are per port, so the request port is known
  if (port !== undefined) {
    const scheme = r.scheme || (isTLS ? 'https' : 'http');
    // never spell out a scheme's default port
    if (!((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https'))) out.port_redirect = port;
  }
  return out;
}

function translateDirectResponse(d: HTTPDirectResponse): Record<string, unknown> {
  const out: Record<string, unknown> = { status: d.status };
  if (d.body?.string !== undefined) out.body = { inline_string: d.body.string };
  else if (d.body?.bytes !== undefined) out.body = { inline_bytes: d.body.bytes };
  return out;
}

function mirrorPolicy(o: RouteOptions, dest: Destination, ns: string, fraction: Record<string, unknown>): Record<string, unknown> {
  const { cluster } = destinationCluster(o.ctx, dest, ns, o.listenPort);
  return { cluster, runtime_fraction: fraction, trace_sampled: { value: false } };
}

/** Route action for forwarding (cluster / weighted clusters and every per-route policy). */
function routeAction(o: RouteOptions, in_: HTTPRoute, ns: string, out: EnvoyResource, authorityFromHeaders: string | undefined): Record<string, unknown> {
  const action: Record<string, unknown> = {};
  const mesh = o.ctx.snapshot.mesh;
  // Istio documents that timeouts and retries are not enabled when a client-side fault is configured
  const fault = !!translateFault(in_.fault);
  applyTimeout(action, fault ? ZERO_DURATION : routeTimeout(in_.timeout, mesh), o.proxy);

  let hostRewrite = authorityFromHeaders;
  if (in_.rewrite) {
    if (in_.rewrite.uriRegexRewrite?.match !== undefined) {
      action.regex_rewrite = { pattern: { regex: in_.rewrite.uriRegexRewrite.match }, substitution: in_.rewrite.uriRegexRewrite.rewrite ?? '' };
    } else if (in_.rewrite.uri) {
      // prefix_rewrite replaces the matched prefix; for an exact (path) match that is the whole path
      action.prefix_rewrite = in_.rewrite.uri;
    }
    if (in_.rewrite.authority) hostRewrite = in_.rewrite.authority;
  }
  if (hostRewrite) action.host_rewrite_literal = hostRewrite;

  const mirrors: Record<string, unknown>[] = [];
  if (in_.mirror) {
    const f = mirrorFraction(in_.mirrorPercentage, in_.mirrorPercent);
    if (f) mirrors.push(mirrorPolicy(o, in_.mirror, ns, f));
  }
  for (const m of in_.mirrors ?? []) {
    const f = mirrorFraction(m.percentage);
    if (f && m.destination) mirrors.push(mirrorPolicy(o, m.destination, ns, f));
  }
  if (mirrors.length) action.request_mirror_policies = mirrors;

  const dests = in_.route ?? [];
  const hashPolicies: Record<string, unknown>[] = [];
  let consistentHash = false;
  const hashFor = (d: Destination, host: string): Record<string, unknown> | undefined =>
    hashPolicyOf(consistentHashFor(o.ctx.destinationRuleFor(o.proxy, host)?.spec, d, d.port?.number));
  if (dests.length === 1) {
    const d = dests[0]!;
    const { cluster, host } = destinationCluster(o.ctx, d.destination, ns, o.listenPort);
    action.cluster = cluster;
    if (d.headers) {
      const ops = translateHeaders(d.headers);
      appendHeaderOps(out, ops);
      if (ops.authority && action.host_rewrite_literal === undefined) action.host_rewrite_literal = ops.authority;
    }
    const hp = hashFor(d.destination, host);
    if (hp) { hashPolicies.push(hp); consistentHash = true; }
  } else {
    const weighted: Record<string, unknown>[] = [];
    // weight 0 destinations get no traffic; if every weight is unset, share equally
    const allUnset = dests.every((d) => !d.weight);
    for (const d of dests) {
      if (!d.weight && !allUnset) continue;
      const { cluster, host } = destinationCluster(o.ctx, d.destination, ns, o.listenPort);
      const cw: Record<string, unknown> = { name: cluster, weight: { value: allUnset ? 1 : d.weight } };
      if (d.headers) {
        const ops = translateHeaders(d.headers);
        if (ops.request_headers_to_add) cw.request_headers_to_add = ops.request_headers_to_add;
        if (ops.request_headers_to_remove) cw.request_headers_to_remove = ops.request_headers_to_remove;
        if (ops.response_headers_to_add) cw.response_headers_to_add = ops.response_headers_to_add;
        if (ops.response_headers_to_remove) cw.response_headers_to_remove = ops.response_headers_to_remove;
        if (ops.authority) cw.host_rewrite_literal = ops.authority;
      }
      weighted.push(cw);
      const hp = hashFor(d.destination, host);
      if (hp) hashPolicies.push(hp);
    }
    if (weighted.length === 1) action.cluster = weighted[0]!.name;
    else action.weighted_clusters = { clusters: weighted };
  }
  if (hashPolicies.length) action.hash_policy = hashPolicies;
  if (!fault) {
    const retry = translateRetry(in_.retries, mesh, consistentHash);
    if (retry) action.retry_policy = retry;
  }
  return action;
}

/**
 * Istio's route metadata naming the VirtualService a route came from (istioctl shows it; so does the
 * simulator). google.protobuf.Struct is spelled as protobufjs encodes it ({fields: {k: {stringValue}}}).
 */
function configMetadata(vs: ConfigObject<VirtualServiceSpec>): Record<string, unknown> {
  const path = `/apis/networking.istio.io/v1/namespaces/${vs.metadata.namespace}/virtual-service/${vs.metadata.name}`;
  return { filter_metadata: { istio: { fields: { config: { stringValue: path } } } } };
}

/** One Envoy route for one (http route, match) pair; undefined when the match does not apply to this proxy/port. */
export function translateRoute(o: RouteOptions, vs: ConfigObject<VirtualServiceSpec>, in_: HTTPRoute, match: HTTPMatchRequest | undefined, ns: string): EnvoyResource | undefined {
  if (!matchApplies(match, o.proxy, o.listenPort, o.gateways, vs.metadata.namespace)) return undefined;
  let name = in_.name ?? '';
  if (match?.name) name = `${name}.${match.name}`;
  const out: EnvoyResource = {};
  if (name) out.name = name;
  out.match = translateMatch(match);
  if (match?.statPrefix) out.stat_prefix = match.statPrefix;
  out.metadata = configMetadata(vs);
  const ops = translateHeaders(in_.headers);
  appendHeaderOps(out, ops);
  if (in_.redirect) {
    const r = translateRedirect(in_.redirect, o.listenPort, !!o.isTLS);
    if (!r) return undefined;
    out.redirect = r;
  } else if (in_.directResponse) {
    out.direct_response = translateDirectResponse(in_.directResponse);
  } else {
    // a route with no destination (invalid config) would be rejected by Envoy: leave it out
    if (!in_.route?.length) return undefined;
    out.route = routeAction(o, in_, ns, out, ops.authority);
  }
  out.decorator = { operation: routeOperation(out, vs.metadata.name, o.listenPort) };
  const perFilter: Record<string, unknown> = {};
  const fault = translateFault(in_.fault);
  if (fault) perFilter[FAULT_FILTER] = fault;
  // proxyless gRPC clients have no CORS filter and reject per-route config for filters they lack
  const cors = isGrpcProxy(o.proxy) ? undefined : translateCors(in_.corsPolicy);
  if (cors) perFilter[CORS_FILTER] = cors;
  if (Object.keys(perFilter).length) out.typed_per_filter_config = perFilter;
  return out;
}

/** Expand delegates: each root route with `delegate` becomes the child's routes merged under it. */
export function expandDelegates(ctx: RouteContext, vs: ConfigObject<VirtualServiceSpec>): { route: HTTPRoute; namespace: string }[] {
  const out: { route: HTTPRoute; namespace: string }[] = [];
  for (const r of vs.spec.http ?? []) {
    if (!r.delegate) { out.push({ route: r, namespace: vs.metadata.namespace }); continue; }
    const ns = r.delegate.namespace ?? vs.metadata.namespace;
    const child = r.delegate.name ? ctx.delegate(r.delegate.name, ns) : undefined;
    if (!child) continue; // a missing delegate drops the root route, as Istio does
    for (const cr of child.spec.http ?? []) {
      if (cr.delegate) continue; // only one level of delegation is supported (as Istio)
      const merged = mergeRoute(r, cr);
      if (merged) out.push({ route: merged, namespace: child.metadata.namespace });
    }
  }
  return out;
}

/** Every Envoy route of a VirtualService for this proxy and port; stops after the first catch-all. */
export function buildVirtualServiceRoutes(o: RouteOptions, vs: ConfigObject<VirtualServiceSpec>): EnvoyResource[] {
  const out: EnvoyResource[] = [];
  for (const { route, namespace } of expandDelegates(o.ctx, vs)) {
    let catchAll = false;
    if (!route.match?.length) {
      const r = translateRoute(o, vs, route, undefined, namespace);
      if (r) out.push(r);
      catchAll = true;
    } else {
      for (const m of route.match) {
        const r = translateRoute(o, vs, route, m, namespace);
        if (!r) continue;
        out.push(r);
        if (isCatchAllMatch(r.match as EnvoyResource)) { catchAll = true; break; }
      }
    }
    if (catchAll) break;
  }
  return out;
}
