// proxy/router: virtual host selection by the request's authority, as Envoy does it: exact domain, then the longest
// suffix wildcard ("*.example.com"), then the longest prefix wildcard ("example.*"), then "*". Domains and hosts are
// compared lower-cased and with their port, unless the route config ignores ports.
import type { VirtualHostConfig } from '../config/types.ts';

export class VirtualHostIndex<V extends { config: VirtualHostConfig }> {
  private readonly exact = new Map<string, V>();
  /** [suffix without '*', vhost], longest first. */
  private readonly suffixes: [string, V][] = [];
  private readonly prefixes: [string, V][] = [];
  private readonly fallback?: V;

  constructor(vhosts: V[], private readonly ignorePort: boolean) {
    let fallback: V | undefined;
    for (const v of vhosts) {
      for (const d of v.config.domains) {
        if (d === '*') fallback ??= v;
        else if (d.startsWith('*')) this.suffixes.push([d.slice(1), v]);
        else if (d.endsWith('*')) this.prefixes.push([d.slice(0, -1), v]);
        else if (!this.exact.has(d)) this.exact.set(d, v);
      }
    }
    // Stable sort: among equal lengths, the first declared wins.
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    this.fallback = fallback;
  }

  /** The last lookup: consecutive requests nearly always name the same authority (a compare beats hash + Map). */
  private lastAuthority: string | undefined;
  private lastFound: V | undefined;

  find(authority: string): V | undefined {
    if (authority === this.lastAuthority) return this.lastFound;
    const v = this.lookup(authority);
    this.lastAuthority = authority;
    this.lastFound = v;
    return v;
  }

  private lookup(authority: string): V | undefined {
    let host = authority.toLowerCase();
    if (this.ignorePort) host = stripPort(host);
    const e = this.exact.get(host);
    if (e) return e;
    // A wildcard stands for at least one character.
    for (const [s, v] of this.suffixes) if (host.length > s.length && host.endsWith(s)) return v;
    for (const [p, v] of this.prefixes) if (host.length > p.length && host.startsWith(p)) return v;
    return this.fallback;
  }
}

/** "host:port" -> "host"; IPv6 "[::1]:80" -> "[::1]". */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const c = host.lastIndexOf(':');
  return c < 0 || host.indexOf(':') !== c ? host : host.slice(0, c);
}

/** The port in an authority, if any. */
export function portOf(host: string): number | undefined {
  const h = host.startsWith('[') ? host.slice(host.indexOf(']') + 1) : host;
  const c = h.lastIndexOf(':');
  if (c < 0 || h.indexOf(':') !== c) return undefined;
  const p = Number(h.slice(c + 1));
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : undefined;
}
