// model: copies of VirtualServices/DestinationRules with short host names resolved to FQDNs (config is never mutated).
import type { ConfigObject } from '../config/types.ts';
import type { Destination, VirtualServiceSpec } from '../config/types/networking.ts';

export type HostResolver = (host: string, namespace: string) => string;

function dest(d: Destination | undefined, ns: string, resolve: HostResolver): Destination | undefined {
  if (!d || typeof d.host !== 'string') return d;
  return { ...d, host: resolve(d.host, ns) };
}

/**
 * A deep-enough copy of a VirtualService: hosts and every destination host (route, mirror, mirrors) resolved
 * in the VirtualService's namespace, and delegate.namespace defaulted to it. Untouched parts are shared.
 */
export function resolveVirtualService(vs: ConfigObject<VirtualServiceSpec>, resolve: HostResolver): ConfigObject<VirtualServiceSpec> {
  const ns = vs.metadata.namespace;
  const spec = vs.spec ?? {};
  const out: VirtualServiceSpec = { ...spec };
  if (spec.hosts) out.hosts = spec.hosts.map((h) => resolve(h, ns));
  if (spec.http) {
    out.http = spec.http.map((r) => {
      const c = { ...r };
      if (r.route) c.route = r.route.map((d) => ({ ...d, destination: dest(d.destination, ns, resolve)! }));
      if (r.mirror) c.mirror = dest(r.mirror, ns, resolve);
      if (r.mirrors) c.mirrors = r.mirrors.map((m) => ({ ...m, destination: dest(m.destination, ns, resolve)! }));
      if (r.delegate) c.delegate = { ...r.delegate, namespace: r.delegate.namespace || ns };
      return c;
    });
  }
  if (spec.tcp) out.tcp = spec.tcp.map((r) => ({ ...r, ...(r.route ? { route: r.route.map((d) => ({ ...d, destination: dest(d.destination, ns, resolve)! })) } : {}) }));
  if (spec.tls) out.tls = spec.tls.map((r) => ({ ...r, ...(r.route ? { route: r.route.map((d) => ({ ...d, destination: dest(d.destination, ns, resolve)! })) } : {}) }));
  return { ...vs, metadata: { ...vs.metadata }, spec: out };
}

/** "mesh" stays; "name" means the gateway in the config's own namespace; "ns/name" stays. */
export function normalizeGatewayName(gw: string, ns: string): string {
  if (gw === 'mesh' || gw.includes('/')) return gw;
  return `${ns}/${gw}`;
}
