// proxy/upstream: every cluster's live state, kept in step with the xDS snapshot (hitless: clusters and hosts
// that stay keep their counters, ejections and breakers' in-flight accounting; removed clusters stop their
// outlier timers). The engine looks clusters up here and the admin /clusters page renders from here.
import type { Clock } from '../../common/clock.ts';
import type { ProxyConfigSnapshot } from '../config/types.ts';
import { clusterEndpoints } from '../config/types.ts';
import type { Random } from './lb/types.ts';
import { ClusterState, type HostAdminView } from './cluster-state.ts';

export class ClusterStates {
  private states = new Map<string, ClusterState>();

  constructor(private readonly opts: { clock: Clock; random?: Random }) {}

  get(name: string): ClusterState | undefined {
    return this.states.get(name);
  }

  names(): string[] {
    return [...this.states.keys()];
  }

  /** Apply a snapshot: add new clusters, update changed ones in place, close removed ones. */
  apply(s: ProxyConfigSnapshot): void {
    const next = new Map<string, ClusterState>();
    for (const [name, cfg] of s.clusters) {
      const cla = clusterEndpoints(s, cfg);
      const old = this.states.get(name);
      if (!old) {
        next.set(name, new ClusterState(cfg, cla, this.opts));
        continue;
      }
      if (old.config !== cfg && JSON.stringify(old.config) !== JSON.stringify(cfg)) old.updateConfig(cfg);
      old.updateEndpoints(cla);
      next.set(name, old);
    }
    for (const [name, st] of this.states) if (!next.has(name)) st.close();
    this.states = next;
  }

  /** Envoy-style /clusters text for all clusters. */
  adminText(): string {
    return [...this.states.values()].flatMap((c) => c.adminText()).join('\n') + '\n';
  }

  /** /clusters?format=json-like view. */
  adminJson(): Array<{ name: string; hosts: HostAdminView[] }> {
    return [...this.states.values()].map((c) => ({ name: c.name, hosts: c.adminHosts() }));
  }

  /** Every cluster's stats as Envoy names them: "cluster.<name>.<stat>". */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.states.values()) for (const [k, v] of Object.entries(c.stats())) out[`cluster.${c.name}.${k}`] = v;
    return out;
  }

  close(): void {
    for (const st of this.states.values()) st.close();
    this.states.clear();
  }
}
