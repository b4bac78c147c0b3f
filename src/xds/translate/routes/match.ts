// xds/translate/routes: VirtualService HTTPMatchRequest -> Envoy RouteMatch, and the per-proxy filters
// (port, sourceLabels, sourceNamespace, gateways) that Istio applies at generation time, not in Envoy.
import type { HTTPMatchRequest, StringMatch } from '../../../config/types/networking.ts';
import type { Proxy } from '../../../model/types.ts';
import type { EnvoyResource } from '../types.ts';

/** Istio's StringMatch -> Envoy StringMatcher (exact / prefix / safe_regex). */
export function envoyStringMatch(m: StringMatch): Record<string, unknown> | undefined {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

/** An empty StringMatch, or regex "*", means "present" (Istio's canBeConvertedToPresentMatch). */
function isPresentMatch(m: StringMatch | undefined): boolean {
  if (!m) return true;
  if (m.regex === '*') return true;
  return m.exact === undefined && m.prefix === undefined && m.regex === undefined;
}

export function headerMatcher(name: string, m: StringMatch | undefined): Record<string, unknown> {
  if (isPresentMatch(m)) return { name, present_match: true };
  return { name, string_match: envoyStringMatch(m!) };
}

function queryMatcher(name: string, m: StringMatch | undefined): Record<string, unknown> {
  if (isPresentMatch(m)) return { name, present_match: true };
  return { name, string_match: envoyStringMatch(m!) };
}

/** Translate one match (undefined = match everything) into an Envoy RouteMatch. */
export function translateMatch(m: HTTPMatchRequest | undefined): EnvoyResource {
  const out: EnvoyResource = { prefix: '/' };
  if (!m) return out;
  const headers: Record<string, unknown>[] = [];
  for (const [name, sm] of Object.entries(m.headers ?? {})) headers.push(headerMatcher(name, sm));
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    const h = headerMatcher(name, sm);
    h.invert_match = true;
    // a missing header counts as "" so that "without x: exact y" matches requests lacking x
    if (!isPresentMatch(sm)) h.treat_missing_header_as_empty = true;
    headers.push(h);
  }
  // stable order, as Istio sorts by name before adding pseudo-headers
  headers.sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0));
  if (m.uri) {
    delete out.prefix;
    if (m.uri.exact !== undefined) out.path = m.uri.exact;
    else if (m.uri.prefix !== undefined) out.prefix = m.uri.prefix;
    else if (m.uri.regex !== undefined) out.safe_regex = { regex: m.uri.regex };
    else out.prefix = '/';
  }
  out.case_sensitive = { value: !m.ignoreUriCase };
  if (m.method) headers.push(headerMatcher(':method', m.method));
  if (m.authority) headers.push(headerMatcher(':authority', m.authority));
  if (m.scheme) headers.push(headerMatcher(':scheme', m.scheme));
  if (headers.length) out.headers = headers;
  const qp = Object.entries(m.queryParams ?? {}).map(([n, sm]) => queryMatcher(n, sm));
  if (qp.length) out.query_parameters = qp;
  return out;
}

/** Istio's IsCatchAllRoute: prefix "/" (or regex ".*") with no header or query conditions. */
export function isCatchAllMatch(match: EnvoyResource): boolean {
  const catchAllPath = match.prefix === '/' || match.path_separated_prefix === '/' ||
    (match.safe_regex as { regex?: string } | undefined)?.regex === '.*';
  return catchAllPath && !(match.headers as unknown[] | undefined)?.length && !(match.query_parameters as unknown[] | undefined)?.length;
}

/**
 * Does this match apply to routes generated for `proxy` on `listenPort` through `gateways`?
 * Istio: a match with `port` only applies on that port; `gateways` in the match override the
 * VirtualService's; otherwise sourceLabels must be a subset of the proxy's labels and
 * sourceNamespace must equal the proxy's namespace.
 */
export function matchApplies(
  m: HTTPMatchRequest | undefined, proxy: Proxy, listenPort: number | undefined, gateways: ReadonlySet<string>, vsNamespace: string,
): boolean {
  if (!m) return true;
  if (m.port && listenPort !== undefined && m.port !== listenPort) return false;
  if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => gateways.has(gatewayKey(g, vsNamespace)));
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) if (proxy.labels[k] !== v) return false;
  return !m.sourceNamespace || m.sourceNamespace === proxy.namespace;
}

/** A gateway reference as written in a VirtualService ("mesh", "name", "ns/name") -> "mesh" or "ns/name". */
export function gatewayKey(ref: string, vsNamespace: string): string {
  if (ref === 'mesh' || ref.includes('/')) return ref;
  return `${vsNamespace}/${ref}`;
}
