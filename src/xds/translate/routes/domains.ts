// xds/translate/routes: the Host/:authority values a virtual host answers to, as Istio lists them:
// FQDN, the short forms a workload in the proxy's namespace can use, each with and without ":port",
// and the service VIP.
import type { Proxy, Service } from '../../../model/types.ts';

const withPort = (d: string, port: number): string => (d.includes(':') && !d.startsWith('[') && d.split(':').length > 2 ? `[${d}]:${port}` : `${d}:${port}`);

function both(out: string[], d: string, port: number | undefined): void {
  out.push(d);
  if (port !== undefined) out.push(withPort(d, port));
}

/**
 * Short names for a Kubernetes-style host "name.ns.svc.<suffix>" seen from a proxy whose DNS domain is
 * "<proxyNs>.svc.<suffix>": same namespace -> name, name.ns.svc, name.ns; other namespace -> name.ns,
 * name.ns.svc. Hosts outside the proxy's suffix get none (they could collide with other names).
 */
export function altHosts(hostname: string, port: number | undefined, proxyDomain: string): string[] {
  const out: string[] = [];
  const id = proxyDomain.indexOf('.svc.');
  if (id > 0) {
    const suffix = proxyDomain.slice(id); // ".svc.cluster.local"
    if (!hostname.endsWith(suffix)) return out;
    const ih = hostname.indexOf('.svc.');
    const ns = hostname.indexOf('.');
    if (ih <= 0 || ns + 1 > ih) return out;
    const nameNs = hostname.slice(0, ih);
    if (hostname.slice(ns + 1, ih) === proxyDomain.slice(0, id)) {
      both(out, hostname.slice(0, ns), port);
      both(out, `${nameNs}.svc`, port);
      both(out, nameNs, port);
    } else {
      both(out, nameNs, port);
      both(out, `${nameNs}.svc`, port);
    }
    return out;
  }
  // non-Kubernetes proxy domain: strip the shared DNS suffix
  const hp = hostname.split('.').reverse();
  const pp = proxyDomain ? proxyDomain.split('.').reverse() : [];
  let shared = 0;
  while (shared < Math.min(hp.length, pp.length) && hp[shared] === pp[shared]) shared++;
  if (shared === 0) return out;
  const unique = hp.slice(shared).reverse();
  const sharedParts = hp.slice(0, shared).reverse();
  if (unique.length === 0) return out;
  both(out, unique.join('.'), port);
  if (unique.length === 2) both(out, `${unique.join('.')}.${sharedParts[0]}`, port);
  return out;
}

/** Istio's generateVirtualHostDomains for a sidecar: FQDN, alt hosts, VIP — each with and without port. */
export function serviceDomains(svc: Service, port: number, proxy: Proxy): string[] {
  const out: string[] = [];
  both(out, svc.hostname, port);
  if (!svc.hostname.startsWith('*')) out.push(...altHosts(svc.hostname, port, proxy.dnsDomain));
  const vip = svc.addresses.find((a) => a && a !== '0.0.0.0' && !a.includes('/'));
  if (vip) both(out, vip, port);
  return out;
}
