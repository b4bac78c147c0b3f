// proxy/http/filters: the HCM's path normalization (normalize_path: RFC 3986 section 6 — percent-decoding of
// unreserved characters, '\' read as '/', removal of dot segments; merge_slashes; path_with_escaped_slashes_action
// for %2F / %5C), applied before any filter or route sees the path, so "/./admin", "/a/../admin", "//admin" or
// "/%61dmin" cannot slip past an RBAC rule on "/admin". A fragment is never part of what is matched or forwarded.
import type { HeaderEdits } from '../route-types.ts';

/** Envoy's HttpConnectionManager.PathWithEscapedSlashesAction (IMPLEMENTATION_SPECIFIC_DEFAULT reads as KEEP_UNCHANGED). */
export type EscapedSlashesAction = 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface PathNormalizeOptions {
  normalizePath: boolean;
  mergeSlashes: boolean;
  pathWithEscapedSlashesAction?: EscapedSlashesAction;
}

/** What to do with a request: go on with `path` (maybe unchanged), answer 400, or redirect (307) the client to `path`. */
export type PathNormalizeResult =
  | { action: 'continue'; path: string }
  | { action: 'reject' }
  | { action: 'redirect'; path: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decode %XX only where it encodes an unreserved character (what RFC 3986 6.2.2.2 allows); others stay as sent. */
function decodeUnreserved(p: string): string {
  if (p.indexOf('%') < 0) return p;
  return p.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : m;
  });
}

/** RFC 3986 5.2.4 remove_dot_segments, for an absolute path. */
function removeDotSegments(p: string): string {
  const out: string[] = [];
  const segs = p.split('/');
  // segs[0] is '' (the path starts with '/').
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '.') { if (last) out.push(''); continue; }
    if (s === '..') { out.pop(); if (last) out.push(''); continue; }
    out.push(s);
  }
  return '/' + out.join('/');
}

const ESCAPED_SLASH = /%(2f|5c)/i;

/** %2F -> '/', %5C -> '\' (Envoy's unescape of escaped slashes; the later normalization turns '\' into '/'). */
function unescapeSlashes(p: string): string {
  return p.replace(/%(2f|5c)/gi, (_m, h: string) => (h === '2f' || h === '2F' ? '/' : '\\'));
}

/** Whether p[0, end) (the path without query) could change: a cheap test for the common case, no allocation. */
function mayChange(p: string, end: number, o: PathNormalizeOptions): boolean {
  if (o.normalizePath && (has(p, '%', end) || has(p, '/.', end) || has(p, '\\', end))) return true;
  if (o.mergeSlashes && has(p, '//', end)) return true;
  return o.pathWithEscapedSlashesAction !== undefined && o.pathWithEscapedSlashesAction !== 'KEEP_UNCHANGED' && has(p, '%', end);
}

/**
 * The common case (every request of a normalizing HCM): no fragment and nothing that could change, decided
 * without allocating a result.
 */
function unchanged(pathWithQuery: string, o: PathNormalizeOptions): boolean {
  if (pathWithQuery.indexOf('#') >= 0) return false;
  const q = pathWithQuery.indexOf('?');
  return !mayChange(pathWithQuery, q < 0 ? pathWithQuery.length : q, o);
}

function has(p: string, s: string, end: number): boolean {
  const i = p.indexOf(s);
  return i >= 0 && i < end;
}

/**
 * Normalize a request path (with query) as the HCM asks, in Envoy's order: drop the fragment, handle escaped slashes
 * (reject / unescape), normalize_path, merge_slashes. The query string is left untouched. A path not starting with
 * '/' (authority / asterisk form) is returned as is.
 */
export function normalizePathAction(pathWithQuery: string, o: PathNormalizeOptions): PathNormalizeResult {
  if (pathWithQuery.charCodeAt(0) !== 47 /* '/' */) return { action: 'continue', path: pathWithQuery };
  const hash = pathWithQuery.indexOf('#');
  const full = hash < 0 ? pathWithQuery : pathWithQuery.slice(0, hash);
  const q = full.indexOf('?');
  const path = q < 0 ? full : full.slice(0, q);
  if (!mayChange(path, path.length, o)) return { action: 'continue', path: full };
  let p = path;
  let redirect = false;
  const esc = o.pathWithEscapedSlashesAction ?? 'KEEP_UNCHANGED';
  if (esc !== 'KEEP_UNCHANGED' && ESCAPED_SLASH.test(p)) {
    if (esc === 'REJECT_REQUEST') return { action: 'reject' };
    p = unescapeSlashes(p);
    redirect = esc === 'UNESCAPE_AND_REDIRECT';
  }
  if (o.normalizePath) p = removeDotSegments(decodeUnreserved(p).replace(/\\/g, '/'));
  if (o.mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  const out = p === path ? full : (q < 0 ? p : p + full.slice(q));
  return redirect ? { action: 'redirect', path: out } : { action: 'continue', path: out };
}

/**
 * The normalized path (with query); the same string when nothing changes. For REJECT_REQUEST / UNESCAPE_AND_REDIRECT
 * callers should use normalizeExchangePath (which answers the client); here those fall back to unescaping, so the
 * path that filters check is always the path that is forwarded.
 */
export function normalizeRequestPath(pathWithQuery: string, o: PathNormalizeOptions): string {
  if (unchanged(pathWithQuery, o)) return pathWithQuery;
  const r = normalizePathAction(pathWithQuery, o);
  if (r.action !== 'reject') return r.path;
  const fwd = normalizePathAction(pathWithQuery, { ...o, pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' });
  return fwd.action === 'reject' ? pathWithQuery : fwd.path;
}

/** What normalizeExchangePath needs from an exchange (a subset of authz's AuthzExchange). */
export interface PathExchange {
  readonly req: { path: string };
  localReply(status: number, body: string, edits: HeaderEdits, extra?: string[]): void;
}

const NO_EDITS: HeaderEdits = { add: [], remove: [] };

/**
 * Normalize the exchange's request path in place. Returns false when the request was answered: 400 for an escaped
 * slash under REJECT_REQUEST, 307 to the unescaped path under UNESCAPE_AND_REDIRECT (Envoy's behaviours).
 */
export function normalizeExchangePath(ex: PathExchange, o: PathNormalizeOptions): boolean {
  if (unchanged(ex.req.path, o)) return true;
  const r = normalizePathAction(ex.req.path, o);
  if (r.action === 'continue') { ex.req.path = r.path; return true; }
  if (r.action === 'reject') { ex.localReply(400, 'Bad Request', NO_EDITS); return false; }
  ex.localReply(307, '', { add: [{ key: 'location', value: r.path, action: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }], remove: [] });
  return false;
}

/** Whether the handler asks for any path rewriting (so the exchange must run normalization at all). */
export function normalizesPath(o: PathNormalizeOptions): boolean {
  return o.normalizePath || o.mergeSlashes || (o.pathWithEscapedSlashesAction !== undefined && o.pathWithEscapedSlashesAction !== 'KEEP_UNCHANGED');
}
