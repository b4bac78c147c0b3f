// proxy/admin: the proxy's admin HTTP server (Envoy's admin API subset istioctl and humans use), provider-based.
//
// GET  /config_dump[?include_eds&resource=<type suffix>]   applied xDS config + last NACK per type
// GET  /clusters[?format=json]                            endpoints with health, weight, locality, outlier state
// GET  /stats[?format=json&filter=re], /stats/prometheus  from the stats provider
// GET  /ready (also /healthz/ready)                       200 LIVE once LDS+CDS were applied (and ready() holds)
// POST /drain_listeners[?inboundonly&graceful], /quitquitquit   call the engine's hooks
// GET  /server_info                                       node, state, uptime
// GET  /listeners[?format=json], /memory; GET|POST /logging[?level=debug]
// It binds 127.0.0.1 by default: the admin API is not for the network.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realClock, type Clock } from '../../common/clock.ts';
import { configDump } from './config-dump.ts';
import { statsJson, statsPrometheus, statsText } from './stats-format.ts';
import type { AdminProviders, ClusterStatus, EndpointStatus, ListenerError, Stat } from './types.ts';
import { clusterEndpoints } from '../config/types.ts';
import { rootLogger } from '../../common/logger.ts';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface AdminServerOptions {
  address?: string;
  /** 0 picks a free port. */
  port: number;
  providers: AdminProviders;
  clock?: Clock;
  /** Wall clock for timestamps in dumps (default Date.now). */
  wallNow?: () => number;
}

type State = 'PRE_INITIALIZING' | 'LIVE' | 'DRAINING';

export class AdminServer {
  private server?: Server;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly startedAt: number;
  private draining = false;
  boundPort = 0;

  constructor(private readonly opts: AdminServerOptions) {
    this.clock = opts.clock ?? realClock;
    this.wallNow = opts.wallNow ?? Date.now;
    this.startedAt = this.clock.now();
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain', `admin error: ${(e as Error).message}\n`);
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.address ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  state(): State {
    if (this.draining) return 'DRAINING';
    const p = this.opts.providers;
    const ready = (p.xds?.isReady() ?? true) && (p.ready?.() ?? true);
    return ready ? 'LIVE' : 'PRE_INITIALIZING';
  }

  private toWall = (clockMs: number): string => new Date(this.wallNow() - (this.clock.now() - clockMs)).toISOString();

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const q = url.searchParams;
    const p = this.opts.providers;
    const post = req.method === 'POST';
    const filter = (): RegExp | undefined => {
      const f = q.get('filter');
      if (!f) return undefined;
      try {
        return new RegExp(f);
      } catch {
        return /$^/;
      }
    };
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/plain', ['/config_dump', '/clusters', '/listeners', '/stats', '/stats/prometheus', '/ready', '/server_info', '/memory', '/logging', '/drain_listeners (POST)', '/quitquitquit (POST)'].join('\n') + '\n');
      case '/listeners': {
        // Envoy lists each listener's name and address; ours come from the served xDS snapshot.
        const ls = [...(p.xds?.snapshot()?.listeners.values() ?? [])].map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } }, bind_to_port: l.bindToPort }));
        if (q.get('format') === 'json') return json(res, 200, { listener_statuses: ls });
        return send(res, 200, 'text/plain', ls.map((l) => `${l.name}::${l.local_address.socket_address.address}:${l.local_address.socket_address.port_value}`).join('\n') + (ls.length ? '\n' : ''));
      }
      case '/memory': {
        const m = process.memoryUsage();
        return json(res, 200, { allocated: String(m.heapUsed), heap_size: String(m.heapTotal), resident: String(m.rss), external: String(m.external), array_buffers: String(m.arrayBuffers) });
      }
      case '/logging': {
        const level = q.get('level');
        if (level !== null) {
          if (!post) return send(res, 405, 'text/plain', 'This endpoint requires POST\n');
          if (!LEVELS.has(level)) return send(res, 400, 'text/plain', `unknown level ${level}; one of ${[...LEVELS].join(', ')}\n`);
          rootLogger().level = level;
        }
        return send(res, 200, 'text/plain', `active loggers:\n  all: ${rootLogger().level}\n`);
      }
      case '/ready':
      case '/healthz/ready': {
        const st = this.state();
        return send(res, st === 'LIVE' ? 200 : 503, 'text/plain', `${st}\n`);
      }
      case '/server_info':
        return json(res, 200, {
          version: 'rigging/0.1.0',
          state: this.state(),
          uptime_current_epoch: `${Math.floor((this.clock.now() - this.startedAt) / 1000)}s`,
          node: p.bootstrap?.().node,
          xds_connected: p.xds?.isConnected?.(),
          ...p.serverInfo?.(),
        });
      case '/config_dump':
        return json(res, 200, configDump(p.xds, p.bootstrap?.(), { includeEds: q.has('include_eds'), type: q.get('resource') ?? undefined, toWall: this.toWall, listenerErrors: this.listenerErrors() }));
      case '/clusters': {
        if (p.clustersRendered) {
          if (q.get('format') === 'json') return json(res, 200, p.clustersRendered.json());
          return send(res, 200, 'text/plain', p.clustersRendered.text());
        }
        const clusters = p.clusters?.() ?? this.clustersFromSnapshot();
        if (q.get('format') === 'json') return json(res, 200, clustersJson(clusters));
        return send(res, 200, 'text/plain', clustersText(clusters));
      }
      case '/stats': {
        const stats = this.allStats();
        if (q.get('format') === 'json') return json(res, 200, statsJson(stats, filter()));
        if (q.get('format') === 'prometheus') return send(res, 200, 'text/plain; version=0.0.4', statsPrometheus(stats, filter()));
        return send(res, 200, 'text/plain', statsText(stats, filter()));
      }
      case '/stats/prometheus':
        return send(res, 200, 'text/plain; version=0.0.4', statsPrometheus(this.allStats(), filter()));
      case '/drain_listeners':
        if (!post) return send(res, 405, 'text/plain', 'This endpoint requires POST\n');
        if (!q.has('inboundonly')) this.draining = true;
        await p.drainListeners?.({ inboundOnly: q.has('inboundonly'), graceful: q.has('graceful') });
        return send(res, 200, 'text/plain', 'OK\n');
      case '/quitquitquit':
        if (!post) return send(res, 405, 'text/plain', 'This endpoint requires POST\n');
        this.draining = true;
        // Answer first: the hook may stop this very server.
        send(res, 200, 'text/plain', 'OK\n');
        res.once('finish', () => void Promise.resolve(p.quit?.()).catch(() => {}));
        return;
      default:
        return send(res, 404, 'text/plain', `no admin endpoint ${url.pathname}\n`);
    }
  }

  /** Unbindable listeners by name: the dedicated provider, else the engine's listener list inside serverInfo(). */
  private listenerErrors(): Map<string, ListenerError> {
    const p = this.opts.providers;
    const out = new Map<string, ListenerError>();
    if (p.listenerErrors) {
      for (const e of p.listenerErrors()) out.set(e.name, e);
      return out;
    }
    const ls = p.serverInfo?.().listeners;
    if (!Array.isArray(ls)) return out;
    for (const l of ls as unknown[]) {
      const { name, error } = (l ?? {}) as { name?: unknown; error?: unknown };
      if (typeof name === 'string' && typeof error === 'string' && error) out.set(name, { name, error });
    }
    return out;
  }

  private allStats(): Stat[] {
    const p = this.opts.providers;
    return [...(p.xds?.stats?.() ?? []), ...(p.stats?.() ?? [])];
  }

  /** Without a clusters provider: what xDS says (no outlier or load state). */
  private clustersFromSnapshot(): ClusterStatus[] {
    const snap = this.opts.providers.xds?.snapshot();
    if (!snap) return [];
    return [...snap.clusters.values()].map((c) => {
      const cla = clusterEndpoints(snap, c);
      const endpoints: EndpointStatus[] = [];
      for (const l of cla?.localities ?? []) for (const e of l.endpoints) endpoints.push({ address: e.address, port: e.port, health: e.health, weight: e.weight, priority: l.priority, locality: l.locality });
      return { name: c.name, endpoints, circuitBreakers: c.circuitBreakers.map((t) => ({ priority: t.priority, maxConnections: t.maxConnections, maxPendingRequests: t.maxPendingRequests, maxRequests: t.maxRequests, maxRetries: t.maxRetries })) };
    });
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body, null, 2) + '\n');
}

/** Envoy's health_flags: "healthy" or the '/'-joined reasons an endpoint takes no traffic. */
export function healthFlags(e: EndpointStatus): string {
  const f: string[] = [];
  if (e.outlier?.ejected) f.push('/failed_outlier_check');
  if (e.health === 'UNHEALTHY' || e.health === 'TIMEOUT') f.push('/failed_eds_health');
  if (e.health === 'DRAINING') f.push('/eds_status_draining');
  if (e.health === 'DEGRADED') f.push('/degraded_eds_health');
  return f.length ? f.join('') : 'healthy';
}

export function clustersText(clusters: ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    for (const t of c.circuitBreakers ?? []) {
      const p = `${c.name}::${t.priority.toLowerCase()}_priority`;
      lines.push(`${p}::max_connections::${t.maxConnections}`, `${p}::max_pending_requests::${t.maxPendingRequests}`, `${p}::max_requests::${t.maxRequests}`, `${p}::max_retries::${t.maxRetries}`);
    }
    for (const [k, v] of Object.entries(c.stats ?? {})) lines.push(`${c.name}::${k}::${v}`);
    for (const e of c.endpoints) {
      const h = `${c.name}::${e.address}:${e.port}`;
      lines.push(
        `${h}::cx_active::${e.activeConnections ?? 0}`,
        `${h}::rq_active::${e.activeRequests ?? 0}`,
        `${h}::rq_total::${e.totalRequests ?? 0}`,
        `${h}::rq_error::${e.errors ?? 0}`,
        `${h}::health_flags::${healthFlags(e)}`,
        `${h}::weight::${e.weight}`,
        `${h}::region::${e.locality?.region ?? ''}`,
        `${h}::zone::${e.locality?.zone ?? ''}`,
        `${h}::sub_zone::${e.locality?.subZone ?? ''}`,
        `${h}::priority::${e.priority ?? 0}`,
        `${h}::success_rate::${e.outlier?.successRate ?? -1}`,
      );
      if (e.outlier?.ejected) lines.push(`${h}::ejected_until::${e.outlier.ejectedUntilMs ?? ''}`, `${h}::ejections::${e.outlier.ejectionCount ?? 0}`);
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

export function clustersJson(clusters: ClusterStatus[]): Record<string, unknown> {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      circuit_breakers: c.circuitBreakers,
      stats: c.stats,
      host_statuses: c.endpoints.map((e) => ({
        address: { socket_address: { address: e.address, port_value: e.port } },
        health_status: { eds_health_status: e.health, failed_outlier_check: e.outlier?.ejected ?? false },
        health_flags: healthFlags(e),
        weight: e.weight,
        priority: e.priority ?? 0,
        locality: e.locality ? { region: e.locality.region, zone: e.locality.zone, sub_zone: e.locality.subZone } : undefined,
        outlier: e.outlier,
        stats: { rq_active: e.activeRequests ?? 0, cx_active: e.activeConnections ?? 0, rq_total: e.totalRequests ?? 0, rq_error: e.errors ?? 0 },
      })),
    })),
  };
}
