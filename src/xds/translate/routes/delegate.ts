// xds/translate/routes: delegate VirtualServices — a root http route with `delegate` is replaced by the
// child's routes, each child match merged under the root's matches (Istio's mergeHTTPRoutes semantics:
// a child match must narrow a root match; children that conflict with every root match are dropped).
import type { HTTPMatchRequest, HTTPRoute, StringMatch } from '../../../config/types/networking.ts';

function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex !== undefined || leaf.regex !== undefined) return true; // regexes cannot be compared
  if (root.exact !== undefined) {
    if (leaf.prefix !== undefined) return true;
    return leaf.exact !== root.exact;
  }
  if (root.prefix !== undefined) {
    if (leaf.prefix !== undefined) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact !== undefined) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}

function mapConflict(root: Record<string, StringMatch> | undefined, leaf: Record<string, StringMatch> | undefined): boolean {
  for (const [k, v] of Object.entries(leaf ?? {})) if (stringMatchConflict(root?.[k], v)) return true;
  return false;
}

export function hasConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  if (stringMatchConflict(root.uri, leaf.uri) || stringMatchConflict(root.scheme, leaf.scheme) ||
    stringMatchConflict(root.method, leaf.method) || stringMatchConflict(root.authority, leaf.authority)) return true;
  if (mapConflict(root.headers, leaf.headers) || mapConflict(root.withoutHeaders, leaf.withoutHeaders) ||
    mapConflict(root.queryParams, leaf.queryParams)) return true;
  if (!!root.ignoreUriCase !== !!leaf.ignoreUriCase) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) {
    const rv = root.sourceLabels?.[k];
    if (rv !== undefined && rv !== v) return true;
  }
  if (root.gateways?.length && leaf.gateways?.length) {
    if (!leaf.gateways.every((g) => root.gateways!.includes(g))) return true;
  }
  return false;
}

const joinName = (root?: string, child?: string): string | undefined =>
  !child ? root : root ? `${root}-${child}` : child;

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  const name = joinName(root.name, leaf.name);
  if (name !== undefined) out.name = name;
  out.uri ??= root.uri; out.scheme ??= root.scheme; out.method ??= root.method; out.authority ??= root.authority;
  if (root.headers || leaf.headers) out.headers = { ...root.headers, ...leaf.headers };
  if (root.withoutHeaders || leaf.withoutHeaders) out.withoutHeaders = { ...root.withoutHeaders, ...leaf.withoutHeaders };
  if (root.queryParams || leaf.queryParams) out.queryParams = { ...root.queryParams, ...leaf.queryParams };
  if (!out.port && root.port) out.port = root.port;
  if (root.sourceLabels || leaf.sourceLabels) out.sourceLabels = { ...root.sourceLabels, ...leaf.sourceLabels };
  out.sourceNamespace ??= root.sourceNamespace;
  if (!out.gateways?.length && root.gateways?.length) out.gateways = root.gateways;
  if (root.ignoreUriCase !== undefined && out.ignoreUriCase === undefined) out.ignoreUriCase = root.ignoreUriCase;
  for (const k of Object.keys(out) as (keyof HTTPMatchRequest)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** undefined = conflict (the child route is dropped). */
export function mergeMatches(root: HTTPMatchRequest[] | undefined, leaf: HTTPMatchRequest[] | undefined): HTTPMatchRequest[] | undefined {
  if (!root?.length) return leaf ?? [];
  if (!leaf?.length) return root;
  const out: HTTPMatchRequest[] = [];
  for (const sub of leaf) {
    let found = false;
    for (const r of root) {
      if (hasConflict(r, sub)) continue;
      out.push(mergeMatch(r, sub));
      found = true;
    }
    if (!found) return undefined;
  }
  return out.length ? out : undefined;
}

/** Merge one child route under its root route; the child's own settings win, the root fills the gaps. */
export function mergeRoute(root: HTTPRoute, child: HTTPRoute): HTTPRoute | undefined {
  const match = mergeMatches(root.match, child.match);
  if (match === undefined) return undefined;
  const out: HTTPRoute = { ...child, match };
  if (!match.length) delete out.match;
  const name = joinName(root.name, child.name);
  if (name !== undefined) out.name = name;
  out.rewrite ??= root.rewrite;
  out.timeout ??= root.timeout;
  out.retries ??= root.retries;
  out.fault ??= root.fault;
  out.mirror ??= root.mirror;
  out.mirrors ??= root.mirrors;
  out.mirrorPercent ??= root.mirrorPercent;
  out.mirrorPercentage ??= root.mirrorPercentage;
  out.corsPolicy ??= root.corsPolicy;
  out.headers ??= root.headers;
  for (const k of Object.keys(out) as (keyof HTTPRoute)[]) if (out[k] === undefined) delete out[k];
  return out;
}
