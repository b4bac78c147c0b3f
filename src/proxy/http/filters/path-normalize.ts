// proxy/http/filters: the HCM's path normalization (normalize_path: RFC 3986 section 6 — percent-decoding of
// unreserved characters and removal of dot segments; merge_slashes), applied before any filter or route sees the
// path, so "/./admin", "/a/../admin" or "/%61dmin" cannot slip past an RBAC rule on "/admin".

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

/** Whether a path (without query) could change under normalization: a cheap test for the common case. */
function mayChange(p: string, merge: boolean): boolean {
  return p.indexOf('%') >= 0 || p.indexOf('/.') >= 0 || (merge && p.indexOf('//') >= 0);
}

/**
 * The request path (with query) normalized as the HCM asks; the same string when nothing changes. The query string
 * is left untouched. A path not starting with '/' (authority / asterisk form) is returned as is.
 */
export function normalizeRequestPath(pathWithQuery: string, opts: { normalizePath: boolean; mergeSlashes: boolean }): string {
  if (pathWithQuery.charCodeAt(0) !== 47 /* '/' */) return pathWithQuery;
  const q = pathWithQuery.indexOf('?');
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q);
  if (!mayChange(path, opts.mergeSlashes)) return pathWithQuery;
  let p = path;
  if (opts.normalizePath) p = removeDotSegments(decodeUnreserved(p));
  if (opts.mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  if (p === path) return pathWithQuery;
  return q < 0 ? p : p + pathWithQuery.slice(q);
}
