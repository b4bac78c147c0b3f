// proxy/listener: filter chain selection — Envoy's order (destination port, destination IP, server name,
// transport protocol, application protocol, source IP, source port); at each step the most specific match wins.
import { isIP } from 'node:net';
import type { CidrRange, FilterChainConfig, ListenerConfig } from '../config/types.ts';

export interface ChainQuery {
  destinationPort: number;
  destinationAddress: string;
  /** SNI, if the connection is TLS and it was read. */
  serverName?: string;
  /** 'tls' or 'raw_buffer'. */
  transportProtocol: string;
  applicationProtocols: string[];
  sourceAddress: string;
  sourcePort: number;
}

function ipv4ToInt(a: string): number {
  const p = a.split('.').map(Number);
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

/** Length of the longest matching prefix, -1 if none match. IPv6 prefixes match only exact /128 or ::/0. */
function cidrScore(ranges: readonly CidrRange[], addr: string): number {
  let best = -1;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  // The connection's address is parsed once, not once per range.
  const a4 = isIP(a) === 4 ? ipv4ToInt(a) : -1;
  for (const r of ranges) {
    if (a4 !== -1 && isIP(r.addressPrefix) === 4) {
      const bits = r.prefixLen;
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if (((a4 & mask) >>> 0) === ((ipv4ToInt(r.addressPrefix) & mask) >>> 0)) best = Math.max(best, bits);
    } else if (r.prefixLen === 0 || r.addressPrefix === a) best = Math.max(best, r.prefixLen);
  }
  return best;
}

function serverNameScore(names: readonly string[], sni: string | undefined): number {
  if (names.length === 0) return 0;
  if (!sni) return -1;
  const s = sni.toLowerCase();
  let best = -1;
  for (const n of names) {
    if (n === s) return 1000;
    if (n.startsWith('*.') && s.endsWith(n.slice(1))) best = Math.max(best, n.length);
  }
  return best;
}

/** Keep only the chains with the best score (>=0); a chain with no constraint at this step scores 0. */
function narrow(chains: FilterChainConfig[], score: (c: FilterChainConfig) => number): FilterChainConfig[] {
  let best = -1;
  let out: FilterChainConfig[] = [];
  for (const c of chains) {
    const s = score(c);
    if (s < 0) continue;
    if (s > best) { best = s; out = [c]; } else if (s === best) out.push(c);
  }
  return out;
}

export function selectFilterChain(l: ListenerConfig, q: ChainQuery): FilterChainConfig | undefined {
  let cs = l.filterChains.slice();
  cs = narrow(cs, (c) => c.match.destinationPort === undefined ? 0 : c.match.destinationPort === q.destinationPort ? 1 : -1);
  cs = narrow(cs, (c) => c.match.prefixRanges.length === 0 ? 0 : cidrScore(c.match.prefixRanges, q.destinationAddress) + 1 || -1);
  cs = narrow(cs, (c) => serverNameScore(c.match.serverNames, q.serverName));
  cs = narrow(cs, (c) => c.match.transportProtocol === undefined || c.match.transportProtocol === '' ? 0 : c.match.transportProtocol === q.transportProtocol ? 1 : -1);
  cs = narrow(cs, (c) => c.match.applicationProtocols.length === 0 ? 0 : c.match.applicationProtocols.some((p) => q.applicationProtocols.includes(p)) ? 1 : -1);
  cs = narrow(cs, (c) => c.match.sourcePrefixRanges.length === 0 ? 0 : cidrScore(c.match.sourcePrefixRanges, q.sourceAddress) + 1 || -1);
  cs = narrow(cs, (c) => c.match.sourcePorts.length === 0 ? 0 : c.match.sourcePorts.includes(q.sourcePort) ? 1 : -1);
  return cs[0] ?? l.defaultFilterChain;
}
