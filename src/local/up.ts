// local: `rig up DIR` — a whole mesh on this machine: the control plane (in this process), every workload of
// DIR/rig.yaml with a sidecar, an ingress gateway, and the mesh API for rig apply/delete/get. Each workload gets
// its own loopback address (127.X.Y.n, like a pod IP), so services keep their real ports (9080) side by side.
// Apps reach HTTP services through HTTP_PROXY and every other service port through a 127.0.0.1 port of their own
// sidecar, named in <SERVICE>_SERVICE_* variables (service-ports.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, RigError } from '../common/errors.ts';
import type { ConfigObject } from '../config/types.ts';
import { formatIssue } from '../config/issues.ts';
import { startControlPlane, type ControlPlane } from '../control-plane/index.ts';
import { openFileStore } from '../control-plane/pipeline.ts';
import { readManifest, type LocalMesh, type LocalWorkload } from './manifest.ts';
import { OverlayStore } from './overlay-store.ts';
import { Supervisor } from './supervisor.ts';
import { PortAllocator, loopbackBlock, portIsFree, resolveCommand } from './ports.ts';
import type { PushSnapshot } from '../model/types.ts';
import { labelsMatch } from '../model/visibility.ts';
import { bindingKey, envSafe, serviceEnv, tcpPortsMetadata, wantedServicePorts, type ServicePortBinding } from './service-ports.ts';
import { bootstrapFor, nodeId, type ProxyIdentity } from './bootstrap.ts';
import { startApi } from './api.ts';
import { clearState, writeState } from './state.ts';

const RIG_BIN = fileURLToPath(new URL('../../bin/rig.js', import.meta.url));

export interface UpOptions {
  dir: string;
  ingressPort: number; // 0 = any free port
  controlPlanePort: number; // xDS port; 0 = any free port
  debugPort?: number;
  apiPort?: number;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface RunningWorkload {
  workload: LocalWorkload;
  address: string; // the workload's own loopback address (its endpoints)
  appPort: number; // where the app itself listens, on 127.0.0.1 ($PORT: its first port's)
  /** Port name -> where the app listens for it ($PORT_<NAME>); a workload with several ports gets one each. */
  appPorts: Record<string, number>;
  httpProxyPort?: number; // HTTP_PROXY given to the app
  adminPort?: number; // sidecar admin
  metricsPort?: number; // sidecar Prometheus port (/stats/prometheus)
  id?: string; // sidecar node id
  /** Non-HTTP service ports reached through this workload's sidecar on 127.0.0.1 (RIG_TCP_PORTS). */
  servicePorts: ServicePortBinding[];
  /** The <SERVICE>_SERVICE_HOST/PORT variables the app was started with. */
  serviceEnv: Record<string, string>;
}

export interface RunningMesh {
  mesh: LocalMesh;
  controlPlane: ControlPlane;
  ingressUrl?: string;
  apiUrl: string;
  workloads: RunningWorkload[];
  /** The trust domain of the mesh's certificates (MeshConfig trustDomain at start). */
  trustDomain: string;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

function problem(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string): RigError {
  return new RigError(code, message);
}

/** Checks everything that can be checked before a single process starts, so a bad input starts nothing. */
async function preflight(mesh: LocalMesh, opts: UpOptions): Promise<void> {
  const errors: string[] = [];
  mesh.workloads.forEach((w, i) => {
    const cwd = resolve(mesh.dir, w.cwd);
    if (!resolveCommand(w.command[0], cwd)) {
      errors.push(`workload ${w.name}: command "${w.command[0]}" not found (rig.yaml spec.workloads[${i}].command; looked on PATH and in ${relative(process.cwd(), cwd) || '.'})`);
    }
  });
  for (const [flag, port] of [['--ingress-port', opts.ingressPort], ['--control-plane-port', opts.controlPlanePort], ['--debug-port', opts.debugPort ?? 0], ['--api-port', opts.apiPort ?? 0]] as const) {
    if (port && !(await portIsFree(port))) errors.push(`port ${port} (${flag}) is already in use on 127.0.0.1: stop what uses it or pick another with ${flag} N`);
  }
  if (errors.length) throw problem(errors[0].startsWith('port') ? ErrorCodes.UP_PORT_IN_USE : ErrorCodes.UP_WORKLOAD, errors.join('\n'));
}

function workloadEntry(w: LocalWorkload, address: string): ConfigObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry',
    metadata: { name: w.name, namespace: w.namespace, labels: { ...w.labels }, annotations: { 'local.rigging.dev/generated-by': 'rig up' } },
    spec: { address, labels: w.labels, ports: w.ports, serviceAccount: w.serviceAccount },
    source: { file: 'rig.yaml (generated WorkloadEntry)', document: 0 },
  };
}

/** Calls check every 150 ms until it answers true (a throw counts as not yet); false once the deadline passed. */
async function pollUntil(check: () => Promise<boolean>, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try { if (await check()) return true; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

const waitReady = (url: string, deadline: number) => pollUntil(async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok, deadline);

export async function up(opts: UpOptions): Promise<RunningMesh> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const dir = resolve(opts.dir);
  const { mesh, issues } = readManifest(dir);
  if (!mesh) throw problem(ErrorCodes.CONFIG_INVALID, issues.map(formatIssue).join('\n'));
  await preflight(mesh, opts);

  // Config: refuse to start on an invalid file (a running mesh instead keeps its last good config).
  const files = await openFileStore(mesh.configDir, {});
  const bad = files.issues().filter((i) => i.severity === 'error');
  if (bad.length) {
    await files.close();
    throw problem(ErrorCodes.CONFIG_INVALID, `invalid configuration, nothing started:\n${bad.map(formatIssue).join('\n')}`);
  }
  const store = new OverlayStore(files);
  const block = loopbackBlock();
  const running: RunningWorkload[] = mesh.workloads.map((w, i) => ({ workload: w, address: `${block}.${i + 2}`, appPort: 0, appPorts: {}, servicePorts: [], serviceEnv: {} }));
  const generated = await store.apply(running.filter((r) => r.workload.sidecar).map((r) => workloadEntry(r.workload, r.address)));
  if (generated.length) throw problem(ErrorCodes.CONFIG_INVALID, generated.map(formatIssue).join('\n'));

  const supervisor = new Supervisor({ log });
  // every port below comes from one allocator: never one number twice, never one the kernel hands out by itself
  const ports = new PortAllocator();
  ports.reserve(opts.ingressPort, opts.controlPlanePort, opts.debugPort ?? 0, opts.apiPort ?? 0);
  const tmp = mkdtempSync(join(tmpdir(), 'rig-up-'));
  let controlPlane: ControlPlane | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  let unwatchPorts: (() => void) | undefined;
  const stop = async () => {
    unwatchPorts?.();
    await supervisor.stopAll();
    await new Promise<void>((r) => (api ? api.server.close(() => r()) : r()));
    api?.server.closeAllConnections();
    await controlPlane?.close();
    if (!controlPlane) await store.close();
    clearState(process.pid);
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    log(`starting control plane ...`);
    controlPlane = await startControlPlane({ store, xdsPort: opts.controlPlanePort, debugPort: opts.debugPort ?? 0 });
    const xds = { host: '127.0.0.1', port: controlPlane.xdsPort };
    let status: () => unknown = () => ({ mesh: mesh.name, starting: true });
    api = await startApi({ store, status: () => status() }, opts.apiPort ?? 0);
    const apiUrl = `http://127.0.0.1:${api.port}`;

    const trustDomain = controlPlane.ca.trustDomain;
    // the control plane's own build of this config (made on start); rig up never builds a second one
    const snapshot = controlPlane.snapshot;
    if (!snapshot) throw problem(ErrorCodes.CONFIG_INVALID, 'the control plane could not build a snapshot of the configuration (see its log above)');
    const startProxy = async (id: ProxyIdentity, name: string, adminPort: number, metricsPort: number, extraArgs: string[] = []) => {
      // the proxy asks the CA for spiffe://<trustDomain>/ns/<ns>/sa/<sa>: the CA signs only its own trust domain
      id.metadata.TRUST_DOMAIN = trustDomain;
      const file = join(tmp, `${name}.bootstrap.json`);
      // each proxy's Prometheus port (Istio's 15090 in a pod) is its own here, since many share this machine
      extraArgs = ['--metrics-port', String(metricsPort), ...extraArgs];
      writeFileSync(file, JSON.stringify(bootstrapFor(id, xds, adminPort), null, 2));
      await supervisor.start({ name: `${name}/proxy`, command: [process.execPath, RIG_BIN, 'proxy', '--bootstrap', file, ...extraArgs], env: { ...process.env, RIG_LOG_LEVEL: process.env.RIG_LOG_LEVEL ?? 'warn' } });
    };

    for (const r of running) {
      const w = r.workload;
      const byNumber = new Map<number, number>();
      for (const [name, p] of Object.entries(w.ports)) {
        if (!byNumber.has(p)) byNumber.set(p, await ports.take());
        r.appPorts[name] = byNumber.get(p)!;
      }
      r.appPort = Object.values(r.appPorts)[0]!;
      const env: NodeJS.ProcessEnv = { ...process.env, ...w.env, PORT: String(r.appPort), HOST: '127.0.0.1', WORKLOAD_NAME: w.name, POD_NAMESPACE: w.namespace, SERVICE_ACCOUNT: w.serviceAccount };
      if (Object.keys(r.appPorts).length > 1) {
        for (const [name, p] of Object.entries(r.appPorts)) env[`PORT_${envSafe(name)}`] = String(p);
      }
      if (w.sidecar) {
        r.httpProxyPort = await ports.take();
        r.adminPort = await ports.take();
        r.metricsPort = await ports.take();
        for (const b of wantedServicePorts(snapshot.services, w.namespace, snapshot.domainSuffix)) r.servicePorts.push({ ...b, localPort: await ports.take() });
        r.serviceEnv = serviceEnv(r.servicePorts);
        const id: ProxyIdentity = {
          type: 'sidecar', ip: r.address, name: w.name, namespace: w.namespace, labels: w.labels, serviceAccount: w.serviceAccount, workloadName: w.labels.app ?? w.name,
          metadata: {
            RIG_HTTP_PROXY_PORT: String(r.httpProxyPort),
            RIG_INBOUND_PORTS: JSON.stringify(Object.fromEntries([...byNumber].map(([p, app]) => [String(p), app]))),
            ...(r.servicePorts.length ? { RIG_TCP_PORTS: tcpPortsMetadata(r.servicePorts) } : {}),
          },
        };
        r.id = nodeId(id);
        env.HTTP_PROXY = `http://127.0.0.1:${r.httpProxyPort}`;
        env.NO_PROXY = '';
        Object.assign(env, r.serviceEnv);
        await startProxy(id, w.name, r.adminPort, r.metricsPort);
      }
      log(`starting ${w.name}: ${w.command.join(' ')}`);
      await supervisor.start({ name: w.name, command: w.command, env, cwd: resolve(mesh.dir, w.cwd) });
    }

    let ingressUrl: string | undefined;
    let ingressAdmin: number | undefined;
    if (mesh.ingress) {
      const port = opts.ingressPort || (await ports.take());
      ingressAdmin = await ports.take();
      const gwIp = `${block}.1`;
      const id: ProxyIdentity = {
        type: 'router', ip: gwIp, name: mesh.ingress.name, namespace: mesh.ingress.namespace, labels: mesh.ingress.labels,
        serviceAccount: 'istio-ingressgateway-service-account', workloadName: mesh.ingress.name, metadata: {},
      };
      await startProxy(id, 'ingress', ingressAdmin, await ports.take(), ['--bind-address', '127.0.0.1', '--port-map', `8080=${port}`, '--port-map', `80=${port}`]);
      ingressUrl = `http://127.0.0.1:${port}`;
    }

    // Live edits: RIG_TCP_PORTS is fixed in a proxy's bootstrap and an app's environment when it starts (as a pod's
    // service variables are in Kubernetes), so a service port added later is reported, not silently missing.
    const portNotes = new Map<string, string>();
    const checkPorts = (snap: PushSnapshot) => {
      const now = new Map<string, string>();
      for (const r of running) {
        if (!r.workload.sidecar) continue;
        const want = wantedServicePorts(snap.services, r.workload.namespace, snap.domainSuffix);
        const have = new Set(r.servicePorts.map(bindingKey));
        const wanted = new Set(want.map(bindingKey));
        for (const b of want) if (!have.has(bindingKey(b))) now.set(`+${bindingKey(b)}`, `service port ${bindingKey(b)} (${b.protocol}) was added after rig up started: local ports and ${b.envName}_SERVICE_* variables are given at start only; restart rig up to reach it through the sidecars`);
        for (const b of r.servicePorts) if (!wanted.has(bindingKey(b))) now.set(`-${bindingKey(b)}`, `service port ${bindingKey(b)} is gone: 127.0.0.1:${b.localPort} and the other local ports for it now close every connection`);
      }
      for (const [k, v] of now) if (!portNotes.has(k)) log(`rig up: ${v}`);
      portNotes.clear();
      for (const [k, v] of now) portNotes.set(k, v);
    };
    // on each snapshot the control plane builds (not on raw store events: that would build every config twice)
    unwatchPorts = controlPlane.onSnapshot((snap) => { try { checkPorts(snap); } catch (e) { log(`rig up: cannot check service ports: ${(e as Error).message}`); } });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    // Each proxy must have bound the 127.0.0.1 ports this mesh told its app (or the user) about: /ready alone can be
    // 200 while a listener's bind is still pending or failed, and then the port answers for nothing, or for whatever
    // else holds it.
    const ingressPorts = ingressUrl && gatewayListens(snapshot, mesh.ingress!.labels) ? [Number(new URL(ingressUrl).port)] : [];
    const admins = [
      ...running.filter((r) => r.adminPort).map((r) => ({ name: `${r.workload.name} sidecar`, port: r.adminPort!, expect: [r.httpProxyPort!, ...r.servicePorts.map((b) => b.localPort)] })),
      ...(ingressAdmin ? [{ name: 'ingress gateway', port: ingressAdmin, expect: ingressPorts }] : []),
    ];
    const results = await Promise.all(admins.map(async (a) => ({ ...a, ok: await waitReady(`http://127.0.0.1:${a.port}/ready`, deadline) && await waitBound(a.port, a.expect, deadline) })));
    const apps = await Promise.all(running.map(async (r) => ({ name: r.workload.name, ok: await waitTcp('127.0.0.1', r.appPort, deadline) })));
    const notReady = [...results.filter((x) => !x.ok).map((x) => `${x.name} (ports ${x.expect.join(', ') || '-'} on 127.0.0.1)`), ...apps.filter((x) => !x.ok).map((x) => x.name)];
    if (notReady.length) throw problem(ErrorCodes.UP_WORKLOAD, `not ready within ${(opts.readyTimeoutMs ?? 30_000) / 1000} s: ${notReady.join(', ')} (see the log lines above)`);

    status = () => ({
      mesh: mesh.name, ingress: ingressUrl, api: apiUrl, xds: `127.0.0.1:${controlPlane!.xdsPort}`, debug: `127.0.0.1:${controlPlane!.debugPort}`,
      workloads: running.map((r) => ({
        name: r.workload.name, namespace: r.workload.namespace, address: r.address, ports: r.workload.ports, appPort: r.appPort, appPorts: r.appPorts,
        adminPort: r.adminPort, metricsPort: r.metricsPort, nodeId: r.id,
        servicePorts: r.servicePorts.map((b) => ({ service: b.host, port: b.port, name: b.portName, protocol: b.protocol, local: `127.0.0.1:${b.localPort}` })),
        env: r.serviceEnv,
        app: supervisor.get(r.workload.name)?.state, appPid: supervisor.get(r.workload.name)?.pid,
        sidecar: supervisor.get(`${r.workload.name}/proxy`)?.state, sidecarPid: supervisor.get(`${r.workload.name}/proxy`)?.pid,
      })),
      ingressPid: supervisor.get('ingress/proxy')?.pid,
      trustDomain,
      ...(portNotes.size ? { notes: [...portNotes.values()] } : {}),
    });
    writeState({ pid: process.pid, api: apiUrl, debug: `127.0.0.1:${controlPlane.debugPort}`, xds: `127.0.0.1:${controlPlane.xdsPort}`, ingress: ingressUrl, dir, startedAt: new Date().toISOString() });
    return { mesh, controlPlane, ingressUrl, apiUrl, workloads: running, trustDomain, supervisor, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Does a Gateway of the config select the ingress and serve 8080 or 80 (the ports --ingress-port publishes)? */
function gatewayListens(snapshot: PushSnapshot, labels: Record<string, string>): boolean {
  return snapshot.gateways.some((g) => {
    return labelsMatch(g.spec.selector, labels) && (g.spec.servers ?? []).some((s) => s.port?.number === 8080 || s.port?.number === 80);
  });
}

/** Polls a proxy's /server_info until every port in `ports` is a bound listener (bounded by deadline). */
function waitBound(adminPort: number, ports: number[], deadline: number): Promise<boolean> {
  if (!ports.length) return Promise.resolve(true);
  return pollUntil(async () => {
    const r = await fetch(`http://127.0.0.1:${adminPort}/server_info`, { signal: AbortSignal.timeout(1000) });
    const info = (await r.json()) as { listeners?: { port?: number }[] };
    const bound = new Set((info.listeners ?? []).map((l) => l.port));
    return ports.every((p) => bound.has(p));
  }, deadline);
}

/** Polls until host:port accepts a TCP connection (the app is listening). */
function waitTcp(host: string, port: number, deadline: number): Promise<boolean> {
  return pollUntil(() => new Promise<boolean>((res) => {
    const s = connect(port, host);
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => { s.destroy(); res(false); });
  }), deadline);
}
