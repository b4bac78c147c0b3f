// xds/server (serving): the ADS gRPC server. Holds the current generator, debounces config updates,
// regenerates each connected proxy's snapshot and lets every stream send what changed.
//
// Unknown type URLs: like Istio, the stream is not broken — the request gets an empty response (so
// the client does not wait forever), is counted (rig_xds_unknown_type_total) and logged once per stream.
// A missing or malformed node on the first request ends that stream only, with INVALID_ARGUMENT.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { realClock, type Clock } from '../../common/clock.ts';
import { logger as makeLogger, type Logger } from '../../common/logger.ts';
import { settings } from '../../common/settings.ts';
import { errorMessage, isRigError, RigError, ErrorCodes } from '../../common/errors.ts';
import { parseProxy } from '../../model/proxy.ts';
import type { Proxy } from '../../model/types.ts';
import type { GeneratedConfig } from '../translate/types.ts';
import { TypeUrl, XdsTypes } from '../../envoy/protos.ts';
import { adsService, type DiscoveryRequest, type DeltaDiscoveryRequest, type WireNode } from './ads-service.ts';
import { buildNodeSnapshot, rotateEncodingCache, servedTypes, SnapshotCache, type NodeSnapshot } from './cache.ts';
import { Connection, type ConnectionDeps, type ConnectionStatus } from './connection.ts';
import { SotwConnection } from './sotw.ts';
import { DeltaConnection } from './delta.ts';
import { Debouncer } from './debounce.ts';
import { Metrics, M } from './metrics.ts';

/** What a node's streams asked for by name, for generators that build on demand (proxyless gRPC LDS). */
export interface WatchedNames {
  /** Listener names subscribed explicitly (not by wildcard) on any stream of the node. */
  listeners: readonly string[];
}

export type ProxyGenerator = (proxy: Proxy, watched: WatchedNames) => GeneratedConfig;

export interface XdsServerOptions {
  clock?: Clock;
  /** Quiet period after an update before pushing (ms); default RIG_DEBOUNCE_MS. */
  debounceMs?: number;
  /** Longest an update may wait for quiet (ms); default RIG_DEBOUNCE_MAX_MS. */
  debounceMaxMs?: number;
  logger?: Logger;
  /** Per-stream limit on requests that make the server send: burst, then perSecond. Default 100, 20/s. */
  rateLimit?: { burst: number; perSecond: number };
  /** control_plane.identifier sent in every response. */
  controlPlaneId?: string;
  /** More gRPC services on the same port (istiod serves its CertificateService next to ADS). */
  services?: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
}

export interface PushEvent { version: string; proxies: number; ms: number }

export interface ConfigDump {
  proxyId: string;
  version: string;
  /** By short type name (clusters, endpoints, listeners, routes, secrets): canonical resources. */
  resources: Record<string, unknown[]>;
  problems: string[];
}

interface NodeEntry { proxy: Proxy; conns: Set<Connection> }

export class XdsServer extends EventEmitter {
  readonly metrics = new Metrics();
  private clock: Clock;
  private log: Logger;
  private cache = new SnapshotCache();
  private nodes = new Map<string, NodeEntry>();
  private calls = new Map<Connection, grpc.ServerDuplexStream<unknown, unknown>>();
  private generator?: ProxyGenerator;
  private version = '';
  private pendingUpdate?: { version: string; generate: ProxyGenerator };
  private debouncer: Debouncer;
  private grpcServer?: grpc.Server;
  private connSeq = 0;
  private pushing?: Promise<void>;
  private deps: ConnectionDeps;
  private controlPlaneId: string;
  private extraServices: NonNullable<XdsServerOptions['services']>;

  constructor(opts: XdsServerOptions = {}) {
    super();
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? makeLogger('xds-server');
    this.controlPlaneId = opts.controlPlaneId ?? 'rigging';
    this.extraServices = opts.services ?? [];
    this.debouncer = new Debouncer(this.clock, opts.debounceMs ?? settings.debounceMs, opts.debounceMaxMs ?? settings.debounceMaxMs, () => { void this.applyPending(); });
    this.deps = {
      clock: this.clock, log: this.log, metrics: this.metrics,
      snapshot: (id) => this.cache.get(id),
      onSubscribed: (conn, url, names) => this.onSubscribed(conn, url, names),
      rateLimit: opts.rateLimit ?? { burst: 100, perSecond: 20 },
    };
    this.metrics.set(M.connected[0], M.connected[1], 0);
  }

  /** The config version currently served (set when a debounced update is pushed). */
  get currentVersion(): string { return this.version; }

  /**
   * A new config version. The first one applies at once; later ones are debounced, then every connected
   * proxy is regenerated and each stream sends only what changed in what it subscribed to.
   */
  update(version: string, generate: ProxyGenerator): void {
    this.metrics.inc(M.configVersion[0], M.configVersion[1]);
    this.pendingUpdate = { version, generate };
    if (!this.generator) { this.debouncer.cancel(); void this.applyPending(); return; }
    this.debouncer.trigger();
  }

  /** Push a pending update now instead of waiting for the debounce; resolves when sent. */
  async flush(): Promise<void> {
    this.debouncer.flush();
    while (this.pushing) await this.pushing;
  }

  private async applyPending(): Promise<void> {
    while (this.pushing) await this.pushing;
    const u = this.pendingUpdate;
    if (!u) return;
    this.pendingUpdate = undefined;
    this.generator = u.generate;
    this.version = u.version;
    this.pushing = this.pushAll(u.version);
    try { await this.pushing; } finally { this.pushing = undefined; }
  }

  private async pushAll(version: string): Promise<void> {
    const start = this.clock.now();
    rotateEncodingCache();
    const ids = [...this.nodes.keys()];
    // Yield between small batches so ACKs and new streams are served during a large push.
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const entry = this.nodes.get(id);
      if (!entry) continue;
      if (this.regenerate(id, entry.proxy)) for (const c of entry.conns) c.push();
      if (i % 10 === 9) await new Promise<void>((r) => setImmediate(r));
    }
    const ms = this.clock.now() - start;
    this.metrics.inc(M.fullPushes[0], M.fullPushes[1]);
    this.metrics.set(M.pushSeconds[0], M.pushSeconds[1], ms / 1000);
    this.log.info({ version, proxies: ids.length, ms: Math.round(ms) }, 'pushed config');
    this.emit('push', { version, proxies: ids.length, ms } satisfies PushEvent);
  }

  /** Regenerates one node's snapshot with the current generator. False when generation failed (old snapshot stays). */
  private regenerate(id: string, proxy: Proxy): boolean {
    if (!this.generator) return false;
    let snap: NodeSnapshot;
    try {
      snap = buildNodeSnapshot(this.version, this.generator(proxy, this.watched(id)));
    } catch (e) {
      this.log.error({ proxy: id, version: this.version, err: errorMessage(e) }, 'config generation failed; the proxy keeps its previous config');
      return false;
    }
    if (snap.problems.length) {
      this.metrics.inc(M.encodeErrors[0], M.encodeErrors[1], {}, snap.problems.length);
      this.log.warn({ proxy: id, version: this.version, count: snap.problems.length, first: snap.problems.slice(0, 3).map((p) => p.message) }, 'generated config has problems');
    }
    this.cache.set(id, snap);
    return true;
  }

  private watched(id: string): WatchedNames {
    const listeners = new Set<string>();
    for (const c of this.nodes.get(id)?.conns ?? []) for (const n of c.types.get(TypeUrl.Listener)?.names ?? []) listeners.add(n);
    return { listeners: [...listeners].sort() };
  }

  /**
   * A stream subscribed to names. Listeners asked for by name that the snapshot lacks (proxyless gRPC
   * clients name "host:port", short names, xDS server listeners) are generated on demand, as Istio's
   * grpc generator does; the node's other streams get the result too.
   */
  private onSubscribed(conn: Connection, url: string, names: readonly string[]): void {
    if (url !== TypeUrl.Listener || !conn.nodeId || !names.length) return;
    const have = this.cache.get(conn.nodeId)?.types.get(url);
    if (have && names.every((n) => have.has(n))) return;
    const entry = this.nodes.get(conn.nodeId);
    if (!entry || !this.regenerate(conn.nodeId, entry.proxy)) return;
    for (const c of entry.conns) if (c !== conn) c.push();
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    server.addService(adsService().service, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>) => this.serveStream(call, 'sotw'),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, unknown>) => this.serveStream(call, 'delta'),
    });
    for (const svc of this.extraServices) server.addService(svc.definition, svc.implementation);
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.grpcServer = server;
    return bound;
  }

  private serveStream(call: grpc.ServerDuplexStream<any, unknown>, protocol: 'sotw' | 'delta'): void {
    const id = `c${++this.connSeq}`;
    const send = (m: unknown) => { if (!call.destroyed && call.writable) call.write(m); };
    const conn: SotwConnection | DeltaConnection = protocol === 'sotw'
      ? new SotwConnection(id, this.deps, send, this.controlPlaneId)
      : new DeltaConnection(id, this.deps, send, this.controlPlaneId);
    this.calls.set(conn, call);
    const warnedTypes = new Set<string>();
    const fail = (code: grpc.status, details: string) => {
      this.detach(conn);
      call.emit('error', { code, details, metadata: new grpc.Metadata() });
    };
    call.on('data', (req: DiscoveryRequest & DeltaDiscoveryRequest) => {
      if (conn.closed) return;
      if (!conn.nodeId) {
        const err = this.attach(conn, req.node);
        if (err) {
          this.metrics.inc(M.badNode[0], M.badNode[1]);
          this.log.warn({ conn: id, err: err.message }, 'refusing xDS stream');
          fail(grpc.status.INVALID_ARGUMENT, `[${err.code}] ${err.message}`);
          return;
        }
      }
      const url = req.type_url ?? '';
      if (!servedTypes.has(url)) {
        this.metrics.inc(M.unknownType[0], M.unknownType[1]);
        if (!warnedTypes.has(url)) {
          warnedTypes.add(url);
          this.log.warn({ conn: id, proxy: conn.nodeId, type: url }, `[${ErrorCodes.XDS_UNKNOWN_TYPE}] client asked for a type this server does not serve; answering with no resources`);
        }
      }
      conn.onRequest(req);
    });
    call.on('end', () => { this.detach(conn); call.end(); });
    call.on('error', () => this.detach(conn));
    call.on('close', () => this.detach(conn));
    call.on('cancelled', () => this.detach(conn));
  }

  /** First request of a stream: parse the node and make sure the node has a snapshot. */
  private attach(conn: Connection, node: WireNode | undefined): RigError | undefined {
    if (!node || !node.id) return new RigError(ErrorCodes.XDS_BAD_NODE, 'the first request of a stream must carry a node with an id');
    const p = parseProxy({ id: node.id, metadata: node.metadata as Record<string, unknown> | undefined, locality: node.locality });
    if (isRigError(p)) return p;
    conn.proxy = p;
    conn.nodeId = p.id;
    let entry = this.nodes.get(p.id);
    if (!entry) { entry = { proxy: p, conns: new Set() }; this.nodes.set(p.id, entry); }
    entry.proxy = p; // a reconnect may bring new metadata
    entry.conns.add(conn);
    this.regenerate(p.id, p);
    this.metrics.set(M.connected[0], M.connected[1], this.connectionCount());
    this.log.info({ conn: conn.id, proxy: p.id, protocol: conn.protocol }, 'proxy connected');
    return undefined;
  }

  private detach(conn: Connection): void {
    if (conn.closed) return;
    conn.close();
    this.calls.delete(conn);
    if (conn.nodeId) {
      const entry = this.nodes.get(conn.nodeId);
      entry?.conns.delete(conn);
      if (entry && entry.conns.size === 0) { this.nodes.delete(conn.nodeId); this.cache.delete(conn.nodeId); }
      this.log.info({ conn: conn.id, proxy: conn.nodeId }, 'proxy disconnected');
    }
    this.metrics.set(M.connected[0], M.connected[1], this.connectionCount());
  }

  private connectionCount(): number {
    let n = 0;
    for (const e of this.nodes.values()) n += e.conns.size;
    return n;
  }

  /** Every connected stream with its per-type sync state (what /debug/syncz serves). */
  status(): ConnectionStatus[] {
    const out: ConnectionStatus[] = [];
    for (const e of this.nodes.values()) for (const c of e.conns) out.push(c.status());
    return out.sort((a, b) => a.proxyId.localeCompare(b.proxyId) || a.connectionId.localeCompare(b.connectionId));
  }

  /** The generated config of one connected proxy, per type (what /debug/config_dump serves). */
  configDump(proxyId: string): ConfigDump | undefined {
    const snap = this.cache.get(proxyId);
    if (!snap) return undefined;
    const resources: Record<string, unknown[]> = {};
    for (const t of XdsTypes) resources[t.short] = [...(snap.types.get(t.url)?.values() ?? [])].map((r) => r.resource);
    return { proxyId, version: snap.version, resources, problems: snap.problems.map((p) => p.message) };
  }

  /** Connected proxy ids. */
  proxyIds(): string[] { return [...this.nodes.keys()].sort(); }

  async close(): Promise<void> {
    this.debouncer.cancel();
    for (const [conn, call] of [...this.calls]) {
      this.detach(conn);
      try { call.end(); } catch { /* already gone */ }
    }
    const s = this.grpcServer;
    this.grpcServer = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { s.forceShutdown(); resolve(); }, 1000);
      s.tryShutdown(() => { clearTimeout(t); resolve(); });
    });
  }
}

