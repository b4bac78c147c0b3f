// config/validation: VirtualService helpers shared by route checks — gateway references and host matching.
import type { Issues } from './context.ts';
import { asArr } from './context.ts';
import { fqdnProblem, isDNS1123Label } from './values.ts';

/** The reserved gateway name meaning "every sidecar in the mesh". */
export const MESH_GATEWAY = 'mesh';

/** Gateway references: "namespace/name", a bare name, "mesh", or the legacy "name.namespace" FQDN form. */
export function checkGatewayNames(v: unknown, path: string, issues: Issues): void {
  asArr(v).forEach((g, i) => {
    if (typeof g !== 'string') return;
    const gp = `${path}[${i}]`;
    const parts = g.split('/');
    if (parts.length === 1) {
      if (g.includes('.')) {
        const [name, ns] = g.split('.');
        issues.warn(gp, `using legacy gatewayName format "${g}"; prefer the <namespace>/<name> format: "${ns}/${name}"`);
      }
      const prob = fqdnProblem(g);
      if (prob) issues.error(gp, prob);
      return;
    }
    const [ns, name] = [parts[0]!, parts.slice(1).join('/')];
    if (ns === '' || name === '') issues.error(gp, 'config namespace and gateway name cannot be empty');
    else {
      if (!isDNS1123Label(ns)) issues.error(gp, `invalid value for namespace: "${ns}"`);
      if (!isDNS1123Label(name)) issues.error(gp, `invalid value for gateway name: "${name}"`);
    }
  });
}

/** Does wildcard-aware host `a` overlap `b` (either matches the other)? */
export function hostsOverlap(a: string, b: string): boolean {
  const wa = a.startsWith('*');
  const wb = b.startsWith('*');
  if (!wa && !wb) return a === b;
  if (wa && wb) {
    const sa = a.slice(1);
    const sb = b.slice(1);
    return sa.length >= sb.length ? sa.endsWith(sb) : sb.endsWith(sa);
  }
  const [w, h] = wa ? [a, b] : [b, a];
  return h.endsWith(w.slice(1));
}

/** Is `sub` a subset of `sup` (every name `sub` matches is matched by `sup`)? */
export function hostSubsetOf(sub: string, sup: string): boolean {
  if (sup === '*') return true;
  if (sup.startsWith('*')) {
    const suffix = sup.slice(1);
    return sub.startsWith('*') ? sub.slice(1).endsWith(suffix) : sub.endsWith(suffix);
  }
  return !sub.startsWith('*') && sub === sup;
}
