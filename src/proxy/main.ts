// proxy: `rig proxy` composition root — bootstrap -> xDS client -> engine -> admin server; SIGTERM drains.
// No logic of its own beyond wiring and turning engine state into admin providers.
import { getHeapSpaceStatistics } from 'node:v8';
import { realClock, type Clock } from '../common/clock.ts';
import { logger } from '../common/logger.ts';
import { loadBootstrap, type BootstrapFlags, type ProxyBootstrap } from './bootstrap.ts';
import { XdsClient } from './xds-client/client.ts';
import { useProxyDescriptor } from './xds-client/descriptor.ts';
import { Engine } from './engine.ts';
import { authzStats } from './http/filters/rbac.ts';
import { compileRouter } from './router/router.ts';
import { AdminServer } from './admin/server.ts';
import type { Stat } from './admin/types.ts';
import { installFastPath } from './io/index.ts';
import type { RequestRecord } from './listener/runtime.ts';
import { WorkloadCertAgent } from './tls/agent.ts';
import { isAgentSecret } from './tls/live-secrets.ts';
import { grpcSigner } from './tls/cert-client.ts';
import { ProxyTelemetry } from './telemetry/index.ts';
import { ISTIO_METRICS_PORT, MetricsServer } from './telemetry/metrics-server.ts';

/**
 * The certificate agent (Istio's istio-agent role): identity spiffe://<TRUST_DOMAIN|cluster.local>/ns/<NAMESPACE>/sa/
 * <SERVICE_ACCOUNT> from the node metadata, signed by the CertificateService on the xDS address.
 */
function startIdentity(o: ProxyOptions, boot: ProxyBootstrap, engine: Engine, clock: Clock, onCert: () => void): { stop(): void } | undefined {
  const md = boot.node.metadata;
  const sa = typeof md.SERVICE_ACCOUNT === 'string' ? md.SERVICE_ACCOUNT : '';
  if (o.identity === false || (o.identity === undefined && !sa)) return undefined;
  const ns = typeof md.NAMESPACE === 'string' && md.NAMESPACE ? md.NAMESPACE : 'default';
  const td = typeof md.TRUST_DOMAIN === 'string' && md.TRUST_DOMAIN ? md.TRUST_DOMAIN : 'cluster.local';
  const log = logger('ca-agent');
  const signer = grpcSigner(boot.xds);
  const agent = new WorkloadCertAgent({
    spiffeId: `spiffe://${td}/ns/${ns}/sa/${sa || 'default'}`, signer, clock, log,
    metadata: { NAMESPACE: ns, SERVICE_ACCOUNT: sa || 'default', ...(typeof md.WORKLOAD_NAME === 'string' ? { WorkloadName: md.WORKLOAD_NAME } : {}) },
  });
  engine.secrets.setAgent(agent);
  // A listener or cluster naming "default" / "ROOTCA" warms until the first certificate is here.
  agent.on('rotated', onCert);
  agent.start().catch(() => { /* logged by the agent; it retries */ });
  return { stop: () => { agent.stop(); signer.close(); } };
}

export interface ProxyOptions extends BootstrapFlags {
  /** Graceful drain on SIGTERM / quitquitquit, ms (Envoy's --drain-time-s default 600 s; Istio uses 5 s). */
  drainMs?: number;
  /** Socket I/O path: auto (internal fast path when this Node supports it), internal, documented. */
  io?: string;
  /** Log every request that carries response flags, with its explanation. */
  logFlagged?: boolean;
  clock?: Clock;
  /** Local mode: bind wildcard listeners to this address. */
  bindAddress?: string;
  /** Local mode: "8080=18080" entries moving config ports to free ones. */
  portMap?: ReadonlyMap<number, number>;
  /** Install SIGTERM/SIGINT handlers that drain and exit (the CLI does; tests don't). */
  handleSignals?: boolean;
  /**
   * Workload identity: get a SPIFFE certificate from the control plane's CertificateService (CSR, rotation) and
   * serve it as the SDS secrets "default"/"ROOTCA". Default: on when the node metadata names a SERVICE_ACCOUNT.
   */
  identity?: boolean;
  /**
   * Prometheus scrape port (Istio's 15090, /stats/prometheus). Default: 15090, or a free port in local mode
   * (bindAddress / portMap set, many sidecars on one machine); if the port is taken a free one is used instead.
   */
  metricsPort?: number;
  /**
   * The pre-built Envoy type descriptor (scripts/build.mjs): a file path, or 'none' to parse the .proto files.
   * Default: $RIG_PROTO_DESCRIPTOR, else dist/envoy-proxy-types.json when present and fresh.
   */
  protoDescriptor?: string;
}

export interface RunningProxy {
  bootstrap: ProxyBootstrap;
  engine: Engine;
  xds: XdsClient;
  admin: AdminServer;
  adminPort: number;
  /** Bound Prometheus scrape port (0: not serving). */
  metricsPort: number;
  telemetry: ProxyTelemetry;
  ioMode: string;
  /** Drain, then stop everything. */
  stop(drainMs?: number): Promise<void>;
}

export async function runProxy(o: ProxyOptions): Promise<RunningProxy> {
  const log = logger('proxy');
  const boot = loadBootstrap(o);
  const clock = o.clock ?? realClock;
  // Envoy types from the pre-built descriptor (dist/, scripts/build.mjs) when fresh: no .proto parsing, less heap.
  const wanted = o.protoDescriptor ?? process.env.RIG_PROTO_DESCRIPTOR;
  const types = wanted === 'none' ? { path: '', reason: 'off (RIG_PROTO_DESCRIPTOR=none)' } : useProxyDescriptor(wanted || undefined);
  if (!('root' in types)) log.debug({ path: types.path, reason: types.reason }, 'no pre-built proto descriptor; parsing the .proto files');
  const io = installFastPath(o.io ?? 'auto');
  const telemetry = new ProxyTelemetry({ node: boot.node, onLogError: (e) => log.warn({ err: e.message }, 'access log write failed') });
  const engine = new Engine({
    telemetry,
    compileRouter: (rc) => compileRouter(rc),
    clock,
    log,
    io: io.io,
    bindAddress: o.bindAddress,
    portMap: o.portMap,
    completeOnlyFlagged: true,
    onRequestComplete: o.logFlagged === false ? undefined : (r: RequestRecord) => {
      if (r.flags.length || r.explanation) log.info({ status: r.status, flags: r.flags.join(','), route: r.routeName, cluster: r.cluster, path: r.path, explanation: r.explanation }, 'request flagged');
    },
  });
  // LDS binds listener sockets before it is ACKed: a listener that cannot bind is NACKed (Envoy's behaviour).
  const xds = new XdsClient({
    server: boot.xds, node: boot.node, clock, log: logger('xds-client'),
    listenerSockets: { bind: (ls) => engine.bindListeners(ls), retain: (names) => engine.retainListeners(names) },
    // The agent's names warm until its first certificate when it runs; without an agent nothing will serve them.
    externalSecret: (name) => (isAgentSecret(name) ? (identity ? engine.secrets.fromAgent(name) : true) : undefined),
  });
  const identity = startIdentity(o, boot, engine, clock, () => xds.secretsChanged());
  let configured = false;
  xds.on('update', (s) => {
    engine.apply(s).then(() => {
      // bin/rig.js lets V8's young generation grow (up to its cap) only after start-up's long decoding runs.
      if (!configured) { configured = true; (process as NodeJS.EventEmitter).emit('rig:proxy-configured'); }
    }, (e: Error) => log.error({ err: e.message }, 'applying config failed'));
  });
  xds.on('nack', (n) => log.warn({ type: n.typeUrl, errors: n.errors.length }, 'config rejected (NACK)'));

  let stopping: Promise<void> | undefined;
  const drainMs = o.drainMs ?? 5000;
  const admin = new AdminServer({
    address: boot.admin.address,
    port: boot.admin.port,
    clock,
    providers: {
      xds,
      clustersRendered: {
        text: () => clustersText(engine),
        json: () => ({ cluster_statuses: [...engine.ctx.upstreams.all()].map((c) => ({ name: c.name, host_statuses: c.adminHosts(), summary: c.summary() })) }),
      },
      stats: () => [...engineStats(engine), ...authzStats(engine.stats), ...telemetry.stats()],
      ready: () => engine.settled(xds.snapshot()),
      drainListeners: async () => { await engine.drain(drainMs); },
      quit: () => { void stop(drainMs).then(() => { if (o.handleSignals) process.exit(0); }); },
      bootstrap: () => ({ node: boot.node, xds: boot.xds, admin: boot.admin, source: boot.source }),
      // Unbindable listeners for /config_dump's error_state (typed: no serverInfo() heap statistics per dump).
      listenerErrors: () => engine.listenerStatus().flatMap((l) => (l.error ? [{ name: l.name, error: l.error }] : [])),
      serverInfo: () => ({ io: io.mode, io_fallback_reason: io.reason, listeners: engine.listenerStatus(), memory: process.memoryUsage(), heap_spaces: heapSpaces(), proto_descriptor: 'root' in types ? types.path : `none (${types.reason})` }),
    },
  });
  const adminPort = await admin.start();
  const metrics = new MetricsServer(() => telemetry.stats());
  const metricsPort = await startMetrics(metrics, o, boot.admin.address, log);
  xds.start();
  log.info({ xds: `${boot.xds.host}:${boot.xds.port}`, node: boot.node.id, admin: adminPort, metrics: metricsPort, io: io.mode }, 'proxy started');

  const stop = (ms = drainMs): Promise<void> => {
    stopping ??= (async () => {
      xds.stop();
      identity?.stop();
      await engine.drain(ms);
      await metrics.close();
      await telemetry.close();
      await admin.close();
    })();
    return stopping;
  };
  if (o.handleSignals) {
    const onSignal = (sig: string): void => {
      log.info({ signal: sig, drainMs }, 'draining');
      void stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }
  return { bootstrap: boot, engine, xds, admin, adminPort, metricsPort, telemetry, ioMode: io.mode, stop };
}

/** V8 heap space sizes (bytes committed) for /server_info: new_space shows whether the young generation grew. */
function heapSpaces(): Record<string, number> {
  return Object.fromEntries(getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, s.space_size]));
}

/** The scrape port: never fatal — a taken port falls back to a free one, and a failure leaves metrics on admin only. */
// Bound on the admin API's address (127.0.0.1 unless the bootstrap says otherwise), as the admin stats are.
async function startMetrics(m: MetricsServer, o: ProxyOptions, adminAddress: string, log: ReturnType<typeof logger>): Promise<number> {
  const local = o.bindAddress !== undefined || (o.portMap?.size ?? 0) > 0;
  const port = o.metricsPort ?? (local ? 0 : ISTIO_METRICS_PORT);
  const host = adminAddress || '127.0.0.1';
  try {
    return await m.start(port, host);
  } catch (e) {
    if (port === 0) { log.warn({ err: (e as Error).message }, 'metrics port not served'); return 0; }
    log.warn({ port, err: (e as Error).message }, 'metrics port taken; using a free one');
    try { return await m.start(0, host); } catch { return 0; }
  }
}

/** Engine counters as admin stats (Envoy-like names under http./cluster_manager.). */
export function engineStats(engine: Engine): Stat[] {
  const out: Stat[] = [];
  const s = engine.stats as unknown as Record<string, number>;
  for (const k of Object.keys(s)) {
    if (typeof s[k] !== 'number') continue;
    const gauge = k.endsWith('_active');
    out.push({ type: gauge ? 'gauge' : 'counter', name: `rig.${k}`, value: s[k] });
  }
  // Response flags per letter, so "how many FI / UO / UH" is answerable from /stats (Istio's response_flags label).
  for (const [flag, n] of engine.stats.responseFlags) out.push({ type: 'counter', name: `rig.response_flags.${flag}`, value: n });
  for (const c of engine.ctx.upstreams.all()) {
    let active = 0, idle = 0, created = 0, fail = 0;
    for (const p of engine.ctx.upstreams.poolStats(c.name).values()) { active += p.active; idle += p.idle; created += p.created; fail += p.connectFailures; }
    out.push({ type: 'gauge', name: `cluster.${c.name}.upstream_cx_active`, value: active + idle });
    out.push({ type: 'counter', name: `cluster.${c.name}.upstream_cx_total`, value: created });
    out.push({ type: 'counter', name: `cluster.${c.name}.upstream_cx_connect_fail`, value: fail });
    out.push({ type: 'gauge', name: `cluster.${c.name}.membership_total`, value: c.hosts.length });
    out.push({ type: 'gauge', name: `cluster.${c.name}.membership_healthy`, value: c.summary().healthy });
  }
  return out;
}

function clustersText(engine: Engine): string {
  const lines: string[] = [];
  for (const c of engine.ctx.upstreams.all()) {
    lines.push(...c.adminText());
    for (const [id, p] of engine.ctx.upstreams.poolStats(c.name)) {
      lines.push(`${c.name}::${id}::cx_active::${p.active + p.idle}`, `${c.name}::${id}::cx_connect_fail::${p.connectFailures}`);
    }
  }
  return lines.join('\n') + '\n';
}
