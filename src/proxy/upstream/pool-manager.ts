// proxy/upstream: the engine's view of clusters — hosts from CDS/EDS, the cluster's balancer, and per-host pools.
// Updates are hitless: pools are keyed by host id and survive config pushes; removed hosts' pools drain.
import type { Clock } from '../../common/clock.ts';
import type { ClusterConfig, ClusterLoadAssignment, ProxyConfigSnapshot } from '../config/types.ts';
import { clusterEndpoints } from '../config/types.ts';
import { ClusterLoadBalancer } from './lb/cluster-lb.ts';
import { makeHost, type Host, type PickContext, type Random } from './lb/types.ts';
import { H1Pool, type PoolOptions } from './pool.ts';
import type { Socket } from 'node:net';

export interface UpstreamManagerOptions {
  clock: Clock;
  random: Random;
  dial?: (host: string, port: number) => Socket;
}

export class ClusterEntry {
  hosts: Host[] = [];
  readonly lb: ClusterLoadBalancer;
  constructor(public config: ClusterConfig, random: Random) {
    this.lb = new ClusterLoadBalancer({
      policy: config.lbPolicy === 'CLUSTER_PROVIDED' ? 'ROUND_ROBIN' : config.lbPolicy,
      leastRequest: config.leastRequest,
      ringHash: config.ringHash ? { minimumRingSize: config.ringHash.minimumRingSize, maximumRingSize: config.ringHash.maximumRingSize } : undefined,
      maglev: config.maglev,
      healthyPanicThreshold: config.commonLbConfig.healthyPanicThresholdPercent,
      localityWeighted: config.commonLbConfig.localityWeighted,
    }, random);
  }

  setEndpoints(cla: ClusterLoadAssignment | undefined, previous: Map<string, Host>): void {
    const hosts: Host[] = [];
    for (const loc of cla?.localities ?? []) {
      const locality = `${loc.locality.region}/${loc.locality.zone}/${loc.locality.subZone}`;
      for (const e of loc.endpoints) {
        const h = makeHost({ address: e.address, port: e.port, weight: e.weight, priority: loc.priority, locality, localityWeight: loc.weight, health: e.health });
        // Keep live counters (active requests, ejection) of hosts that stay.
        const old = previous.get(h.id);
        if (old) { h.activeRequests = old.activeRequests; h.ejected = old.ejected; }
        hosts.push(h);
      }
    }
    this.hosts = hosts;
    this.lb.update(hosts);
  }

  pick(ctx: PickContext): Host | undefined { return this.lb.pick(ctx); }
}

export class UpstreamManager {
  private clusters = new Map<string, ClusterEntry>();
  /** Pools by "cluster|address:port"; connection settings come from the cluster. */
  private pools = new Map<string, H1Pool>();

  constructor(private readonly opts: UpstreamManagerOptions) {}

  cluster(name: string): ClusterEntry | undefined { return this.clusters.get(name); }
  clusterNames(): string[] { return [...this.clusters.keys()]; }

  update(s: ProxyConfigSnapshot): void {
    const next = new Map<string, ClusterEntry>();
    for (const [name, cfg] of s.clusters) {
      const old = this.clusters.get(name);
      const prevHosts = new Map<string, Host>((old?.hosts ?? []).map((h) => [h.id, h]));
      const entry = old && sameLb(old.config, cfg) ? old : new ClusterEntry(cfg, this.opts.random);
      entry.config = cfg;
      entry.setEndpoints(clusterEndpoints(s, cfg), prevHosts);
      next.set(name, entry);
    }
    this.clusters = next;
    // Drain pools whose cluster or host is gone; in-flight requests on them finish first.
    for (const [key, pool] of this.pools) {
      const bar = key.indexOf('|');
      const c = next.get(key.slice(0, bar));
      const id = key.slice(bar + 1);
      if (!c || (c.config.type !== 'ORIGINAL_DST' && !c.hosts.some((h) => h.id === id))) {
        pool.close();
        this.pools.delete(key);
      }
    }
  }

  pool(cluster: ClusterEntry, address: string, port: number): H1Pool {
    const key = cluster.config.name + '|' + address + ':' + port;
    let p = this.pools.get(key);
    if (p === undefined) {
      const c = cluster.config;
      const o: PoolOptions = {
        clock: this.opts.clock,
        connectTimeoutMs: c.connectTimeoutMs,
        idleTimeoutMs: c.idleTimeoutMs,
        maxRequestsPerConnection: c.maxRequestsPerConnection ?? 0,
        dial: this.opts.dial,
      };
      p = new H1Pool(address, port, o);
      this.pools.set(key, p);
    }
    return p;
  }

  poolStats(): Record<string, ReturnType<H1Pool['stats']>> {
    const out: Record<string, ReturnType<H1Pool['stats']>> = {};
    for (const [k, p] of this.pools) out[k] = p.stats();
    return out;
  }

  close(): void { for (const p of this.pools.values()) p.close(); }
  destroy(): void { for (const p of this.pools.values()) p.destroy(); this.pools.clear(); }
}

function sameLb(a: ClusterConfig, b: ClusterConfig): boolean {
  return a.lbPolicy === b.lbPolicy && JSON.stringify([a.ringHash, a.maglev, a.leastRequest, a.commonLbConfig]) === JSON.stringify([b.ringHash, b.maglev, b.leastRequest, b.commonLbConfig]);
}
