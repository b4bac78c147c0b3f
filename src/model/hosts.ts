// model: host names — short-name resolution to FQDN, wildcard matching and host:port splitting (used by model and translation).
import { isIP } from 'node:net';

/**
 * Resolve a host as written in config (namespace `namespace`) to the name services are registered under,
 * with Istio's short-name rule: only a name WITHOUT a dot is short.
 * - "*", wildcards ("*.foo") and IP addresses are returned unchanged;
 * - "reviews" -> "reviews.NS.svc.SUFFIX" (a short name is in the config's own namespace);
 * - any name with a dot ("reviews.other", "httpbin.org", "a.b.svc.cluster.local") is taken as written:
 *   Istio does not apply DNS search paths, so "reviews.other" names a host literally called that.
 * Trailing dots are dropped and the result is lower-case (DNS names are case-insensitive).
 */
export function fqdn(host: string, namespace: string, domainSuffix = 'cluster.local'): string {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.') && h.length > 1) h = h.slice(0, -1);
  if (h === '' || h.includes('*') || h.includes('.') || isIP(h) !== 0) return h;
  return `${h}.${namespace}.svc.${domainSuffix}`;
}

export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/**
 * Does `pattern` cover `host`? Istio's wildcard rules: "*" covers everything; "*.foo.com" covers
 * "a.foo.com", "a.b.foo.com" and the narrower wildcard "*.b.foo.com", but not "foo.com" itself;
 * anything else must be equal (case-insensitive). A wildcard `host` is only covered by an equal or
 * broader wildcard pattern.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*')) {
    const suffix = p.slice(1); // ".foo.com"
    if (h.startsWith('*')) return h.slice(1).endsWith(suffix);
    return h.length > suffix.length && h.endsWith(suffix);
  }
  return p === h;
}

/** Do two host names (either may be a wildcard) share at least one concrete name? (Istio's Name.Matches) */
export function hostsOverlap(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/**
 * Of `patterns`, the one that covers `host` most specifically: an exact match first, then the
 * longest wildcard. Undefined when none covers it.
 */
export function mostSpecificMatch(patterns: Iterable<string>, host: string): string | undefined {
  let best: string | undefined;
  for (const p of patterns) {
    if (!hostMatches(p, host)) continue;
    if (!isWildcard(p)) return p;
    if (best === undefined || p.length > best.length) best = p;
  }
  return best;
}

/**
 * Split "host:port" (also "[v6]:port", bare "v6", or "host") into host and an optional numeric port.
 * A port that is not a number in 0..65535 leaves the input as the host with no port.
 */
export function splitHostPort(s: string): { host: string; port?: number } {
  const v = s.trim();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end > 0) {
      const host = v.slice(1, end);
      const rest = v.slice(end + 1);
      if (rest.startsWith(':')) {
        const port = parsePort(rest.slice(1));
        if (port !== undefined) return { host, port };
      }
      if (rest === '') return { host };
    }
    return { host: v };
  }
  const colon = v.lastIndexOf(':');
  if (colon < 0) return { host: v };
  if (v.indexOf(':') !== colon) return { host: v }; // bare IPv6 without brackets
  const port = parsePort(v.slice(colon + 1));
  if (port === undefined) return { host: v };
  return { host: v.slice(0, colon), port };
}

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}
