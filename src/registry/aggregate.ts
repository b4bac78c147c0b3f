// registry: merge several registries into one view; on a hostname declared twice in one namespace the earlier registry wins.
import type { ValidationIssue } from '../config/types.ts';
import { ErrorCodes } from '../common/errors.ts';
import type { Endpoint, Service } from '../model/types.ts';
import { byNamespaceHost, type ServiceRegistry } from './types.ts';

/**
 * Registries are consulted in the order given; pass Kubernetes first, as Istio does: a ServiceEntry
 * naming the same host in the same namespace as a Kubernetes Service is ignored (with a warning), and
 * only the winner's endpoints are served. The same host in different namespaces is kept per namespace.
 */
export class AggregateRegistry implements ServiceRegistry {
  readonly name = 'Aggregate';
  private readonly svcs: Service[] = [];
  private readonly owner = new Map<string, ServiceRegistry[]>(); // hostname -> registries whose endpoints count
  private readonly problems: ValidationIssue[] = [];
  private readonly epCache = new Map<string, Endpoint[]>();

  constructor(registries: readonly ServiceRegistry[]) {
    const seen = new Map<string, { reg: ServiceRegistry; svc: Service }>();
    for (const reg of registries) {
      this.problems.push(...(reg.issues?.() ?? []));
      for (const svc of reg.services()) {
        const key = `${svc.namespace}/${svc.hostname}`;
        const first = seen.get(key);
        if (first) {
          if (first.reg !== reg) {
            this.problems.push({
              severity: 'warning', code: ErrorCodes.REGISTRY_CONFLICT, kind: svc.origin.kind, name: `${svc.origin.namespace}/${svc.origin.name}`, path: 'spec.hosts',
              message: `host ${svc.hostname} in namespace ${svc.namespace} is already provided by ${first.svc.origin.kind} ${first.svc.origin.name} (${first.reg.name ?? 'registry'}); ${first.svc.origin.kind} wins`,
            });
          }
          continue;
        }
        seen.set(key, { reg, svc });
        this.svcs.push(svc);
        const owners = this.owner.get(svc.hostname) ?? [];
        if (!owners.includes(reg)) owners.push(reg);
        this.owner.set(svc.hostname, owners);
      }
    }
    this.svcs.sort(byNamespaceHost);
  }

  services(): Service[] { return this.svcs.slice(); }

  /**
   * Endpoints from the registries that won this hostname in at least one namespace. (Endpoints carry no
   * namespace, so a registry that won the host in one namespace and lost it in another serves all of its own.)
   */
  endpoints(hostname: string): Endpoint[] {
    const cached = this.epCache.get(hostname);
    if (cached) return cached.slice();
    const out: Endpoint[] = [];
    for (const reg of this.owner.get(hostname) ?? []) out.push(...reg.endpoints(hostname));
    this.epCache.set(hostname, out);
    return out.slice();
  }

  issues(): ValidationIssue[] { return this.problems.slice(); }
}
