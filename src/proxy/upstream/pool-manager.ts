// proxy/upstream: the engine's view of clusters — one ClusterState per cluster (hosts, balancer, outlier
// detection, circuit breakers; src/proxy/upstream/cluster-state.ts) plus the per-endpoint connection pools.
// Updates are hitless: cluster state and pools survive config pushes; removed hosts' pools drain.
import type { SocketIO } from '../io/types.ts';
import type { Clock } from '../../common/clock.ts';
import type { ClusterLoadAssignment, ProxyConfigSnapshot } from '../config/types.ts';
import { clusterEndpoints } from '../config/types.ts';
import { ClusterState } from './cluster-state.ts';
import type { Random } from './lb/types.ts';
import { H1Pool, type PoolOptions, type PoolStats } from './pool.ts';
import type { EndpointConfig, UpstreamTlsConfig } from '../config/types.ts';
import { tlsDialIO, tlsForEndpoint } from '../tls/upstream.ts';
import { NO_SECRETS, type SecretSource } from '../tls/context.ts';

export interface UpstreamManagerOptions {
  clock: Clock;
  random: Random;
  io: SocketIO;
  /** SDS secrets for clusters with TLS transport sockets (absent: those clusters cannot connect). */
  secrets?: SecretSource;
}

export class UpstreamManager {
  private clusters = new Map<string, ClusterState>();
  private assignments = new Map<string, ClusterLoadAssignment | undefined>();
  /** Pools by "cluster|address:port"; connection settings come from the cluster. */
  private pools = new Map<string, H1Pool>();
  /** The TLS context each pool was made with (a pool is replaced when its endpoint's TLS choice changes). */
  private poolTls = new Map<string, UpstreamTlsConfig | undefined>();
  /** Endpoint configs by cluster and "address:port" (their metadata picks the transport socket). */
  private endpointIndex = new Map<string, Map<string, EndpointConfig>>();
  /**
   * pool() runs once per request: its answer (pool and TLS choice) only changes with a config update, so it is
   * cached per cluster, port and address until the next update() — no key strings or TLS matching per request.
   */
  private poolCache = new Map<ClusterState, Map<number, Map<string, H1Pool>>>();

  constructor(private readonly opts: UpstreamManagerOptions) {}

  cluster(name: string): ClusterState | undefined { return this.clusters.get(name); }
  all(): IterableIterator<ClusterState> { return this.clusters.values(); }

  update(s: ProxyConfigSnapshot): void {
    this.poolCache.clear();
    const next = new Map<string, ClusterState>();
    const nextCla = new Map<string, ClusterLoadAssignment | undefined>();
    for (const [name, cfg] of s.clusters) {
      const cla = clusterEndpoints(s, cfg);
      let st = this.clusters.get(name);
      if (!st) st = new ClusterState(cfg, cla, { clock: this.opts.clock, random: this.opts.random });
      else {
        if (st.config !== cfg) st.updateConfig(cfg);
        if (this.assignments.get(name) !== cla) st.updateEndpoints(cla);
      }
      next.set(name, st);
      nextCla.set(name, cla);
      if (cfg.tls || cfg.transportSocketMatches.length) {
        const idx = new Map<string, EndpointConfig>();
        for (const l of cla?.localities ?? []) for (const e of l.endpoints) idx.set(e.address + ':' + e.port, e);
        this.endpointIndex.set(name, idx);
      } else this.endpointIndex.delete(name);
    }
    for (const n of [...this.endpointIndex.keys()]) if (!next.has(n)) this.endpointIndex.delete(n);
    for (const [name, st] of this.clusters) if (!next.has(name)) st.close();
    this.clusters = next;
    this.assignments = nextCla;
    // Drain pools whose cluster or host is gone; in-flight requests on them finish first.
    for (const [key, pool] of this.pools) {
      const bar = key.indexOf('|');
      const c = next.get(key.slice(0, bar));
      const id = key.slice(bar + 1);
      if (!c || (c.config.type !== 'ORIGINAL_DST' && !c.hosts.some((h) => h.id === id))) {
        pool.close();
        this.pools.delete(key);
        this.poolTls.delete(key);
      }
    }
  }

  /** The upstream TLS context for one endpoint of a cluster (undefined: plaintext). */
  tlsFor(cluster: ClusterState, address: string, port: number): UpstreamTlsConfig | undefined {
    const c = cluster.config;
    if (!c.tls && c.transportSocketMatches.length === 0) return undefined;
    return tlsForEndpoint(c, this.endpointIndex.get(cluster.name)?.get(address + ':' + port));
  }

  /**
   * How to dial an endpoint: the plain I/O path, or TLS (documented stream API) when its cluster says so.
   * `http2`: the connection will carry HTTP/2 (the default ALPN offer then leads with h2). `streamReads`: the caller
   * reads the socket through its stream API (node:http2), not through io.read.
   */
  dialIO(cluster: ClusterState, address: string, port: number, http2 = cluster.config.http2, streamReads = false): SocketIO {
    const tls = this.tlsFor(cluster, address, port);
    return tls ? this.tlsDial(tls, http2, streamReads) : this.opts.io;
  }

  /** A TLS dialler for `tls` with this engine's secrets (reads into reused buffers on the internal I/O path unless `streamReads`). */
  tlsDial(tls: UpstreamTlsConfig, http2: boolean, streamReads = false): SocketIO {
    return tlsDialIO(tls, this.opts.secrets ?? NO_SECRETS, http2, this.opts.io.mode === 'internal' && !streamReads);
  }

  pool(cluster: ClusterState, address: string, port: number): H1Pool {
    let byPort = this.poolCache.get(cluster);
    if (byPort === undefined) { byPort = new Map(); this.poolCache.set(cluster, byPort); }
    let byAddr = byPort.get(port);
    if (byAddr === undefined) { byAddr = new Map(); byPort.set(port, byAddr); }
    let p = byAddr.get(address);
    if (p === undefined) { p = this.lookupPool(cluster, address, port); byAddr.set(address, p); }
    return p;
  }

  private lookupPool(cluster: ClusterState, address: string, port: number): H1Pool {
    const key = cluster.name + '|' + address + ':' + port;
    let p = this.pools.get(key);
    const tls = this.tlsFor(cluster, address, port);
    if (p !== undefined && this.poolTls.get(key) !== tls) {
      p.close(); // TLS choice changed (DestinationRule, PeerAuthentication, endpoint tlsMode): new connections only
      p = undefined;
    }
    if (p === undefined) {
      const c = cluster.config;
      const o: PoolOptions = {
        clock: this.opts.clock,
        connectTimeoutMs: c.connectTimeoutMs,
        idleTimeoutMs: c.idleTimeoutMs,
        maxRequestsPerConnection: c.maxRequestsPerConnection ?? 0,
        breaker: () => cluster.breakers.forPriority('DEFAULT'),
        io: tls ? this.tlsDial(tls, false) : this.opts.io,
      };
      p = new H1Pool(address, port, o);
      this.pools.set(key, p);
      this.poolTls.set(key, tls);
    }
    return p;
  }

  /** Pool counters for one cluster, keyed by "address:port" (admin /clusters cx_active etc.). */
  poolStats(cluster: string): Map<string, PoolStats> {
    const out = new Map<string, PoolStats>();
    const prefix = cluster + '|';
    for (const [k, p] of this.pools) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), p.stats());
    return out;
  }

  close(): void { for (const p of this.pools.values()) p.close(); }
  destroy(): void {
    for (const p of this.pools.values()) p.destroy();
    this.poolCache.clear();
    this.pools.clear();
    for (const c of this.clusters.values()) c.close();
  }
}
