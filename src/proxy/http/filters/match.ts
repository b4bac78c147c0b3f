// proxy/http/filters: evaluate Envoy string and header matchers (narrowed config types) against a request or
// response. Regexes are RE2 syntax compiled with JS RegExp and must match the whole value, as in Envoy.
import type { HeaderMatcher, StringMatch } from '../../config/types.ts';

export interface HeaderLookup {
  get(name: string): string | undefined;
}

const regexCache = new Map<string, RegExp | null>();

function compile(pattern: string, ignoreCase: boolean): RegExp | null {
  const key = `${ignoreCase ? 'i' : '-'}${pattern}`;
  let re = regexCache.get(key);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${pattern})$`, ignoreCase ? 'i' : '');
    } catch {
      re = null; // an invalid pattern matches nothing (the decoder should have rejected it)
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, re);
  }
  return re;
}

export function matchString(m: StringMatch, value: string): boolean {
  if (m.kind === 'regex') return compile(m.value, m.ignoreCase)?.test(value) ?? false;
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const p = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact': return v === p;
    case 'prefix': return v.startsWith(p);
    case 'suffix': return v.endsWith(p);
    case 'contains': return v.includes(p);
  }
  return false;
}

export function matchHeader(m: HeaderMatcher, headers: HeaderLookup): boolean {
  let value = headers.get(m.name);
  if (value === undefined && m.treatMissingAsEmpty) value = '';
  let ok: boolean;
  if (m.match.kind === 'present') ok = (value !== undefined) === m.match.present;
  else if (value === undefined) return false; // absent headers never match (even inverted), as in Envoy
  else if (m.match.kind === 'range') {
    const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
    ok = Number.isFinite(n) && n >= m.match.start && n < m.match.end;
  } else ok = matchString(m.match.string, value);
  return m.invert ? !ok : ok;
}

/** All matchers must match (empty list: true). */
export function matchAllHeaders(ms: readonly HeaderMatcher[], headers: HeaderLookup): boolean {
  for (const m of ms) if (!matchHeader(m, headers)) return false;
  return true;
}

/** Any matcher matches (empty list: false). */
export function matchAnyHeader(ms: readonly HeaderMatcher[], headers: HeaderLookup): boolean {
  for (const m of ms) if (matchHeader(m, headers)) return true;
  return false;
}

/**
 * Envoy matchers may name pseudo-headers (":method", ":path", ":authority", ":scheme"); HTTP/1.1 requests
 * have none. Wrap a request's header lookup so matchers see them (":authority" falls back to Host).
 */
export function withPseudoHeaders(headers: HeaderLookup, req: { method?: string; path?: string; authority?: string; scheme?: string }): HeaderLookup {
  return {
    get(name: string): string | undefined {
      if (name.charCodeAt(0) !== 58 /* ':' */) return headers.get(name);
      switch (name) {
        case ':method': return req.method ?? headers.get(name);
        case ':path': return req.path ?? headers.get(name);
        case ':authority': return req.authority ?? headers.get(name) ?? headers.get('host');
        case ':scheme': return req.scheme ?? headers.get(name);
        default: return headers.get(name);
      }
    },
  };
}
