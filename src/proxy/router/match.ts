// proxy/router: compiles string, header and query-parameter matchers into closures once per route config (hot path: no allocation).
import type { HeaderMatcher, QueryParamMatcher, RouteMatch, StringMatch } from '../config/types.ts';

export type StringPredicate = (v: string) => boolean;

/** RE2's full-match semantics on a JS RegExp: anchored, compiled once. */
export function fullMatchRegex(re: string, ignoreCase = false): RegExp {
  return new RegExp(`^(?:${re})$`, ignoreCase ? 'i' : '');
}

export function compileStringMatch(m: StringMatch): StringPredicate {
  if (m.kind === 'regex') {
    const re = fullMatchRegex(m.value, m.ignoreCase);
    return (v) => re.test(v);
  }
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (v: string): string => v.toLowerCase() : (v: string): string => v;
  switch (m.kind) {
    case 'exact': return (v) => norm(v) === want;
    case 'prefix': return (v) => norm(v).startsWith(want);
    case 'suffix': return (v) => norm(v).endsWith(want);
    case 'contains': return (v) => norm(v).includes(want);
  }
}

export interface HeaderSource { get(name: string): string | undefined }

/**
 * Envoy's header matching, including its rule for absent headers: without treat_missing_header_as_empty an absent
 * header matches only `present_match: false`, or, inverted, only `present_match: true`.
 */
export function compileHeaderMatcher(h: HeaderMatcher): (headers: HeaderSource) => boolean;
export function compileHeaderMatcher<R>(h: HeaderMatcher, read: (r: R, name: string) => string | undefined): (r: R) => boolean;
export function compileHeaderMatcher<R>(h: HeaderMatcher, read?: (r: R, name: string) => string | undefined): (r: R) => boolean {
  const get = read ?? ((r: R, n: string): string | undefined => (r as unknown as HeaderSource).get(n));
  const name = h.name;
  let test: StringPredicate;
  switch (h.match.kind) {
    case 'string': test = compileStringMatch(h.match.string); break;
    case 'present': { const want = h.match.present; test = () => want; break; }
    case 'range': {
      const { start, end } = h.match;
      test = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
      break;
    }
  }
  const isPresent = h.match.kind === 'present';
  const presentWanted = h.match.kind === 'present' && h.match.present;
  const invert = h.invert;
  const missingAsEmpty = h.treatMissingAsEmpty;
  return (r) => {
    let v = get(r, name);
    if (v === undefined) {
      if (!missingAsEmpty) return invert ? isPresent && presentWanted : isPresent && !presentWanted;
      v = '';
    }
    return test(v) !== invert;
  };
}

/** Query string (without '?') to first-value map, percent-decoded; '+' is a space as in forms. */
export function parseQuery(q: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!q) return out;
  for (const part of q.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/** A query-string key or value decoded ('+' is a space); left as is when its %-escapes are malformed. */
export function safeDecode(s: string): string {
  const t = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

export function compileQueryMatcher(q: QueryParamMatcher): (params: Map<string, string>) => boolean {
  const name = q.name;
  if (q.match.kind === 'present') return (p) => p.has(name);
  const test = compileStringMatch(q.match.string);
  return (p) => {
    const v = p.get(name);
    return v !== undefined && test(v);
  };
}

/**
 * A route match's path test: the matched length, or -1. `p` is the path without its query, `full` the path with it
 * (a prefix carrying '?' is matched against that). Shared by the router and jwt_authn's rules.
 */
export function compilePathMatch(match: RouteMatch): (p: string, full: string) => number {
  const m = match.path;
  const cs = match.caseSensitive;
  switch (m.kind) {
    case 'prefix': {
      const want = cs ? m.value : m.value.toLowerCase();
      const len = want.length;
      // A prefix carrying '?' is matched against the path with its query.
      const withQuery = want.includes('?');
      if (cs) return (p, full) => ((withQuery ? full : p).startsWith(want) ? len : -1);
      return (p, full) => ((withQuery ? full : p).slice(0, len).toLowerCase() === want ? len : -1);
    }
    case 'path': {
      const want = cs ? m.value : m.value.toLowerCase();
      return cs ? (p) => (p === want ? p.length : -1) : (p) => (p.toLowerCase() === want ? p.length : -1);
    }
    case 'pathSeparatedPrefix': {
      const want = cs ? m.value : m.value.toLowerCase();
      const len = want.length;
      return (p) => {
        const head = cs ? p.slice(0, len) : p.slice(0, len).toLowerCase();
        if (head !== want) return -1;
        return p.length === len || p[len] === '/' || want.endsWith('/') ? len : -1;
      };
    }
    case 'regex': {
      const re = fullMatchRegex(m.regex);
      return (p) => (re.test(p) ? p.length : -1);
    }
  }
}
