// proxy: the connection engine — applies ProxyConfigSnapshots (listeners, routers, clusters) hitlessly and drains.
import type { Clock, TimerHandle } from '../common/clock.ts';
import { realClock } from '../common/clock.ts';
import { settings } from '../common/settings.ts';
import type { Logger } from '../common/logger.ts';
import type { FilterChainConfig, ListenerConfig, ProxyConfigSnapshot, RouteConfig } from './config/types.ts';
import { handlerRoutes } from './config/types.ts';
import { ActiveListener, bindError, type OriginalDstResolver } from './listener/manager.ts';
import { EngineStats, chainRuntime, type EngineContext, type HttpChainRuntime, type RequestRecord } from './listener/runtime.ts';
import type { HttpRouter } from './http/route-types.ts';
import { H2Downstream } from './http/h2-downstream.ts';
import { FaultFilter } from './http/filters/fault.ts';
import { H2UpstreamPool, type H2UpstreamFactory } from './http/h2-upstream.ts';
import { H2ClientPool } from './http/h2/client.ts';
import { NativeH2Server, type H2ServerLike } from './http/h2/server.ts';
import { UpstreamManager } from './upstream/pool-manager.ts';
import type { Random } from './upstream/lb/types.ts';
import type { ClusterState } from './upstream/cluster-state.ts';
import { documentedIO, type SocketIO } from './io/index.ts';
import { LiveSecrets } from './tls/live-secrets.ts';

export interface EngineOptions {
  /** Compiles a RouteConfig into a router (src/proxy/router in production; tests may pass their own). */
  compileRouter: (rc: RouteConfig) => HttpRouter;
  clock?: Clock;
  random?: Random;
  log?: Logger;
  originalDst?: OriginalDstResolver;
  /** Socket I/O path (src/proxy/io); documented APIs when absent. */
  io?: SocketIO;
  onRequestComplete?: (r: RequestRecord) => void;
  /** Report only requests that carry response flags. */
  completeOnlyFlagged?: boolean;
  /** Local mode: wildcard listeners bind here instead (e.g. 127.0.0.1). */
  bindAddress?: string;
  /** Local mode: config port -> port actually bound. */
  portMap?: ReadonlyMap<number, number>;
  /** Secrets for TLS contexts (the certificate agent's + xDS-delivered); default: only what xDS delivers. */
  secrets?: LiveSecrets;
  /** Istio metrics, access logs, peer metadata (src/proxy/telemetry); absent: none. */
  telemetry?: import('./telemetry/types.ts').RequestTelemetry;
  /**
   * HTTP/2 codec, both directions: 'native' (src/proxy/http/h2, the default) or 'node' (node:http2's API; `rig proxy`
   * picks it with RIG_PROXY_H2=node).
   */
  h2?: 'native' | 'node';
}

/** How often idle / stream-idle timeouts are checked; timeouts fire up to this much late. */
const SWEEP_INTERVAL_MS = 1000;

export interface ListenerStatus { name: string; address: string; port: number; draining: boolean; connections: number; error?: string }

export class Engine {
  readonly ctx: EngineContext;
  private readonly listeners = new Map<string, ActiveListener>();
  /** Listeners removed from config but still draining their connections. */
  private readonly retired = new Set<ActiveListener>();
  /** Sockets bound while LDS was applied (bindListeners), for listeners not yet in an applied snapshot (warming). */
  private readonly prebound = new Map<string, ActiveListener>();
  /** Listeners of the applied config whose bind failed at apply time (no LDS-time bind happened for them). */
  private readonly bindErrors = new Map<string, string>();
  /** Snapshot fully applied, its binds done; `settled` latches once the xDS client's snapshot got there. */
  private applied: ProxyConfigSnapshot | undefined;
  private settledOnce = false;
  private runtimes = new Map<string, Map<FilterChainConfig, HttpChainRuntime>>();
  private routerCache = new WeakMap<RouteConfig, HttpRouter>();
  private readonly h2: H2ServerLike;
  private readonly h2up: H2UpstreamFactory;
  private snapshot: ProxyConfigSnapshot | undefined;
  private updating: Promise<void> = Promise.resolve();
  private sweepTimer: TimerHandle | undefined;

  /** What SDS names resolve to; xDS-delivered secrets are updated with every snapshot. */
  readonly secrets: LiveSecrets;

  constructor(private readonly opts: EngineOptions) {
    const clock = opts.clock ?? realClock;
    this.secrets = opts.secrets ?? new LiveSecrets();
    const h2Codec = opts.h2 ?? (settings.proxyH2 === 'node' ? 'node' : 'native');
    // node:http2 reads its socket itself; the native codec reads through io.read like HTTP/1.1
    const h2Tls = (c: ClusterState, a: string, p: number): SocketIO | undefined => (this.ctx.upstreams.tlsFor(c, a, p) ? this.ctx.upstreams.dialIO(c, a, p, true, h2Codec === 'node') : undefined);
    this.h2up = h2Codec === 'node' ? new H2UpstreamPool(clock, h2Tls) : new H2ClientPool(clock, () => this.ctx.io, h2Tls);
    this.ctx = {
      clock,
      random: opts.random ?? Math.random,
      upstreams: new UpstreamManager({ clock, random: opts.random ?? Math.random, io: opts.io ?? documentedIO, secrets: this.secrets }),
      secrets: this.secrets,
      io: opts.io ?? documentedIO,
      stats: new EngineStats(),
      faults: new FaultFilter(opts.random ?? Math.random),
      draining: false,
      onRequestComplete: opts.onRequestComplete,
      completeOnlyFlagged: opts.completeOnlyFlagged,
      h2Upstream: this.h2up,
      telemetry: opts.telemetry,
    };
    this.h2 = h2Codec === 'node' ? new H2Downstream(this.ctx) : new NativeH2Server(this.ctx);
  }

  get stats(): EngineStats { return this.ctx.stats; }
  get currentSnapshot(): ProxyConfigSnapshot | undefined { return this.snapshot; }

  /** Apply a snapshot. New requests use it; in-flight requests and upstream connections are untouched. */
  apply(s: ProxyConfigSnapshot): Promise<void> {
    this.updating = this.updating.then(() => this.applyNow(s), () => this.applyNow(s));
    return this.updating;
  }

  private async applyNow(s: ProxyConfigSnapshot): Promise<void> {
    if (this.ctx.draining) return;
    this.snapshot = s;
    this.secrets.setXdsSecrets(s.secrets);
    this.ctx.upstreams.update(s);
    const runtimes = new Map<string, Map<FilterChainConfig, HttpChainRuntime>>();
    for (const [name, l] of s.listeners) runtimes.set(name, this.compileChains(s, l));
    this.runtimes = runtimes;

    const binds: Promise<void>[] = [];
    for (const [name, cfg] of s.listeners) {
      const cur = this.listeners.get(name);
      if (cur && sameSocket(cur.config, cfg)) {
        cur.config = cfg; // same socket, new chains: hitless
        continue;
      }
      if (cur) this.retire(cur);
      this.bindErrors.delete(name);
      const pre = this.prebound.get(name);
      if (pre) this.prebound.delete(name);
      if (pre && sameSocket(pre.config, cfg)) { pre.config = cfg; this.listeners.set(name, pre); pre.activate(); continue; } // bound during LDS
      pre?.destroy();
      const al = this.newListener(cfg);
      this.listeners.set(name, al);
      binds.push(al.bind().catch((e: NodeJS.ErrnoException) => {
        const msg = bindError(al.bindTarget(), e);
        this.opts.log?.error({ listener: name, err: msg }, 'cannot bind listener');
        if (this.listeners.get(name) === al) { this.listeners.delete(name); this.bindErrors.set(name, msg); }
      }));
    }
    for (const [name, al] of this.listeners) if (!s.listeners.has(name)) { this.listeners.delete(name); this.retire(al); }
    for (const name of this.bindErrors.keys()) if (!s.listeners.has(name)) this.bindErrors.delete(name);
    await Promise.all(binds);
    this.applied = s;
    this.scheduleSweep();
  }

  private newListener(cfg: ListenerConfig): ActiveListener {
    return new ActiveListener(cfg, {
      ctx: this.ctx, h2: this.h2,
      httpRuntime: (l, chain) => this.runtimes.get(l)?.get(chain) ?? this.runtimeFor(l, chain),
      byDestination: (a, p) => this.byDestination(a, p),
      originalDst: this.opts.originalDst, log: this.opts.log,
      bindAddress: this.opts.bindAddress, portMap: this.opts.portMap,
    });
  }

  /**
   * Bind the sockets of new or changed listeners while LDS is applied, before it is ACKed (Envoy binds on its main
   * thread then): resolves to "cannot bind '<address>:<port>': <reason>" per listener that failed. A bound socket waits
   * here until a snapshot with its listener is applied (warming); no retry: the next LDS push binds again.
   * (The xDS client's ListenerSockets.)
   */
  async bindListeners(cfgs: ListenerConfig[]): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    await Promise.all(cfgs.map(async (cfg) => {
      if (!cfg.bindToPort || this.ctx.draining) return;
      const cur = this.listeners.get(cfg.name);
      if (cur?.server?.listening && sameSocket(cur.config, cfg)) return; // keeps its socket
      const pre = this.prebound.get(cfg.name);
      if (pre && sameSocket(pre.config, cfg)) { pre.config = cfg; return; }
      if (pre) { this.prebound.delete(cfg.name); pre.destroy(); }
      const al = this.newListener(cfg);
      al.active = false;
      this.prebound.set(cfg.name, al);
      try {
        await al.bind();
      } catch (e) {
        if (this.prebound.get(cfg.name) === al) this.prebound.delete(cfg.name);
        failed.set(cfg.name, bindError(al.bindTarget(), e as NodeJS.ErrnoException));
      }
    }));
    return failed;
  }

  /** LDS now holds only these listeners: close the sockets bound for any other (the xDS client's ListenerSockets). */
  retainListeners(names: ReadonlySet<string>): void {
    for (const [name, al] of this.prebound) if (!names.has(name)) { this.prebound.delete(name); al.destroy(); }
  }

  /**
   * /ready: true once the xDS client's current snapshot has been applied with every listener bound or rejected, and
   * from then on (Envoy's readiness does not drop on later pushes).
   */
  settled(current: ProxyConfigSnapshot | undefined): boolean {
    if (!this.settledOnce && current !== undefined && this.applied === current) this.settledOnce = true;
    return this.settledOnce;
  }

  /** One timer per engine checks HTTP connections' idle / stream-idle timeouts (none per request). */
  private scheduleSweep(): void {
    if (this.sweepTimer !== undefined || this.ctx.draining) return;
    this.sweepTimer = this.ctx.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      const now = this.ctx.clock.now();
      for (const l of [...this.listeners.values(), ...this.retired]) for (const c of [...l.h1]) c.checkTimeouts(now);
      this.scheduleSweep();
    }, SWEEP_INTERVAL_MS);
  }

  /** A connection accepted under an older config keeps its chain object: find the runtime by chain name. */
  private runtimeFor(listener: string, chain: FilterChainConfig): HttpChainRuntime | undefined {
    const m = this.runtimes.get(listener);
    if (m) for (const [c, rt] of m) if (c.name === chain.name) return rt;
    if (!this.snapshot || chain.handler.kind !== 'http') return undefined;
    const rc = handlerRoutes(this.snapshot, chain.handler);
    return rc ? chainRuntime(chain.handler, this.router(rc)) : undefined;
  }

  private compileChains(s: ProxyConfigSnapshot, l: ListenerConfig): Map<FilterChainConfig, HttpChainRuntime> {
    const m = new Map<FilterChainConfig, HttpChainRuntime>();
    const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
    for (const c of chains) {
      if (c.handler.kind !== 'http') continue;
      const rc = handlerRoutes(s, c.handler);
      if (!rc) continue;
      m.set(c, chainRuntime(c.handler, this.router(rc)));
    }
    return m;
  }

  private router(rc: RouteConfig): HttpRouter {
    let r = this.routerCache.get(rc);
    if (!r) { r = this.opts.compileRouter(rc); this.routerCache.set(rc, r); }
    return r;
  }

  private byDestination(address: string, port: number): ActiveListener | undefined {
    let wildcard: ActiveListener | undefined;
    for (const l of this.listeners.values()) {
      if (l.config.port !== port || l.config.bindToPort) continue;
      if (l.config.address === address) return l;
      if (l.config.address === '0.0.0.0' || l.config.address === '::') wildcard = l;
    }
    return wildcard;
  }

  private retire(l: ActiveListener): void {
    l.drain();
    if (l.connections.size === 0) return;
    this.retired.add(l);
    for (const s of l.connections) s.once('close', () => { if (l.connections.size === 0) this.retired.delete(l); });
  }

  /** Bound port of a listener (useful when the config asked for port 0). */
  portOf(name: string): number | undefined { return this.listeners.get(name)?.boundPort; }

  listenerStatus(): ListenerStatus[] {
    const out: ListenerStatus[] = [];
    for (const l of [...this.listeners.values(), ...this.retired]) {
      out.push({ name: l.config.name, address: l.config.address, port: l.boundPort, draining: l.draining, connections: l.connections.size });
    }
    for (const [name, error] of this.bindErrors) {
      const c = this.snapshot?.listeners.get(name);
      out.push({ name, address: c?.address ?? '', port: c?.port ?? 0, draining: false, connections: 0, error });
    }
    return out;
  }

  /** Active downstream connections across all listeners (including retired ones). */
  get activeConnections(): number {
    let n = 0;
    for (const l of this.listeners.values()) n += l.connections.size;
    for (const l of this.retired) n += l.connections.size;
    return n + this.h2.sessions.size;
  }

  /**
   * Graceful drain (SIGTERM, /drain_listeners): stop accepting, let in-flight requests finish, close
   * keep-alive connections as they go idle; after `drainMs` close whatever is left.
   */
  async drain(drainMs: number): Promise<void> {
    this.ctx.draining = true;
    for (const l of this.listeners.values()) l.drain();
    for (const l of this.prebound.values()) l.drain();
    this.h2.drain();
    const clock = this.ctx.clock;
    const deadline = clock.now() + drainMs;
    for (let i = 0; i < 100_000 && this.activeConnections > 0 && clock.now() < deadline; i++) {
      await new Promise<void>((r) => clock.setTimeout(r, Math.min(50, Math.max(1, deadline - clock.now()))));
    }
    this.close();
  }

  /** Close everything now. */
  close(): void {
    this.ctx.draining = true;
    this.ctx.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const l of this.listeners.values()) l.destroy();
    for (const l of this.retired) l.destroy();
    for (const l of this.prebound.values()) l.destroy();
    this.prebound.clear();
    this.listeners.clear();
    this.retired.clear();
    this.h2.destroy();
    this.h2up.close();
    this.ctx.upstreams.destroy();
  }
}

function sameSocket(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address === b.address && a.port === b.port && a.bindToPort === b.bindToPort;
}
