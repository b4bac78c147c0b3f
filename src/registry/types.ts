// registry: the service discovery interface every registry (ServiceEntry, Kubernetes, later etcd) implements.
import type { ValidationIssue } from '../config/types.ts';
import type { Endpoint, Service } from '../model/types.ts';

export interface ServiceRegistry {
  /** Which registry this is, for messages ("ServiceEntry", "Kubernetes", ...). */
  readonly name?: string;
  /** Every service, sorted by (namespace, hostname). The same hostname may appear once per namespace. */
  services(): Service[];
  /** Endpoints of every service with this hostname (any namespace), in a stable order. */
  endpoints(hostname: string): Endpoint[];
  /** Problems found while converting (conflicts, unusable entries); never thrown. */
  issues?(): ValidationIssue[];
}

export function byNamespaceHost(a: Service, b: Service): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0;
}

/** Does `selector` (all its labels) select a workload with `labels`? An empty selector selects everything. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const k in selector) if ((labels ?? {})[k] !== selector[k]) return false;
  return true;
}

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** "istio" unless the workload's label security.istio.io/tlsMode says otherwise. */
export function tlsModeOf(labels: Record<string, string> | undefined, dflt: 'istio' | 'disabled' = 'istio'): 'istio' | 'disabled' {
  const v = labels?.[TLS_MODE_LABEL];
  if (v === 'istio' || v === 'disabled') return v;
  return dflt;
}

/**
 * Items indexed by each of their labels, so selecting by a label selector looks only at items carrying the
 * selector's first label instead of scanning all of them (1,000 selectors x 5,000 workloads stays cheap).
 */
export class LabelIndex<T> {
  private readonly all: T[] = [];
  private readonly byLabel = new Map<string, T[]>();
  constructor(items: Iterable<T>, private readonly labelsOf: (t: T) => Record<string, string> | undefined) {
    for (const it of items) {
      this.all.push(it);
      for (const [k, v] of Object.entries(labelsOf(it) ?? {})) {
        const key = `${k}=${v}`;
        const l = this.byLabel.get(key);
        if (l) l.push(it); else this.byLabel.set(key, [it]);
      }
    }
  }
  /** Items selected by `selector`, in insertion order; an empty selector selects everything. */
  select(selector: Record<string, string> | undefined): T[] {
    const keys = Object.keys(selector ?? {});
    if (keys.length === 0) return this.all.slice();
    const first = keys[0]!;
    const cands = this.byLabel.get(`${first}=${selector![first]}`) ?? [];
    return cands.filter((t) => selects(selector, this.labelsOf(t)));
  }
}
