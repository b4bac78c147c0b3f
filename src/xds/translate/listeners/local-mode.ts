// xds/translate/listeners: local mode (no iptables; every proxy on one machine). Node metadata asks for
// explicit listeners instead of transparent capture: RIG_HTTP_PROXY_PORT (an HTTP_PROXY-style egress port),
// RIG_INBOUND_PORTS {"<endpointPort>": appPort} and RIG_TCP_PORTS {"<host>:<port>": localPort}.
// Istio metadata values are strings, so JSON objects may arrive encoded; both forms are accepted.
import type { Proxy } from '../../../model/types.ts';

export interface LocalMode {
  httpProxyPort?: number;
  inboundPorts?: Map<number, number>;
  tcpPorts?: { host: string; port: number; localPort: number }[];
}

function validPort(n: unknown): number | undefined {
  const v = typeof n === 'string' ? Number(n) : n;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65535 ? v : undefined;
}

function objectOf(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch { return undefined; }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

const cache = new WeakMap<Proxy, LocalMode | null>();

/** The proxy's local-mode settings, or undefined when it runs in Istio's normal (captured) shape. Bad entries are skipped. */
export function localMode(proxy: Proxy): LocalMode | undefined {
  const hit = cache.get(proxy);
  if (hit !== undefined) return hit ?? undefined;
  const md = proxy.metadata ?? {};
  const out: LocalMode = {};
  const hp = validPort(md.RIG_HTTP_PROXY_PORT);
  if (hp) out.httpProxyPort = hp;
  const inb = objectOf(md.RIG_INBOUND_PORTS);
  if (inb) {
    out.inboundPorts = new Map();
    for (const [k, v] of Object.entries(inb)) {
      const ep = validPort(k);
      const app = validPort(v);
      if (ep && app) out.inboundPorts.set(ep, app);
    }
  }
  const tcp = objectOf(md.RIG_TCP_PORTS);
  if (tcp) {
    out.tcpPorts = [];
    for (const [k, v] of Object.entries(tcp)) {
      const i = k.lastIndexOf(':');
      const port = validPort(k.slice(i + 1));
      const local = validPort(v);
      if (i > 0 && port && local) out.tcpPorts.push({ host: k.slice(0, i), port, localPort: local });
    }
    out.tcpPorts.sort((a, b) => a.localPort - b.localPort);
  }
  const result = out.httpProxyPort || out.inboundPorts || out.tcpPorts ? out : undefined;
  cache.set(proxy, result ?? null);
  return result;
}
