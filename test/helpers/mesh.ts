// test/helpers: a small local mesh for end-to-end data-plane tests — `rig control-plane` and one `rig proxy` per
// workload as real child processes (port 0 everywhere, a private 127.X.Y.0/24 block per mesh), the apps behind the
// sidecars in this process (test/helpers/apps.ts); requests go through a sidecar's HTTP_PROXY listener the way
// an app's HTTP client would. Everything started is stopped by pid in stop() (and killed if the test process exits).
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Agent, type IncomingHttpHeaders } from 'node:http';
import { startRig, poll, type RigProcess } from './processes.ts';
import { portIsFree } from '../../src/local/ports.ts';
import { bootstrapFor, nodeId, type ProxyIdentity } from '../../src/local/bootstrap.ts';
import type { TestApp } from './apps.ts';
import { workloadEntry } from './fixtures.ts';

export { serviceEntry } from './fixtures.ts';

export interface WorkloadSpec {
  name: string;
  labels: Record<string, string>;
  namespace?: string;
  serviceAccount?: string;
  /** As WorkloadEntry.ports; default {http: 9080} when an app is given, none otherwise. */
  ports?: Record<string, number>;
  /** The app behind the sidecar (absent: a client-only workload, the test is its app). */
  app?: TestApp;
}

export interface MeshSpec {
  /** Istio YAML (ServiceEntries selecting the workloads' labels, DestinationRules, VirtualServices). */
  config: string;
  workloads: WorkloadSpec[];
  /** Proxies' --drain-ms (default 1000). */
  drainMs?: number;
}

export interface MeshWorkload {
  spec: WorkloadSpec;
  /** The workload's own loopback address (its endpoint; the sidecar's inbound listener binds it). */
  address: string;
  httpProxyPort: number;
  adminPort: number;
  nodeId: string;
  proxy: RigProcess;
}

export interface MeshResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The app's JSON reply, when the body is one. */
  json?: { app: string; headers: Record<string, string | string[] | undefined>; url: string; host: string; n: number };
}

/** One "request flagged" access-log line of a proxy. */
export interface FlaggedLine {
  status: number;
  flags: string;
  route: string;
  cluster: string;
  path: string;
  explanation?: string;
}

const live = new Set<RigProcess>();
process.once('exit', () => { for (const p of live) { try { p.child.kill('SIGKILL'); } catch { /* gone */ } } });

let blockSeq = 0;
/** A 127.X.Y.0/24 block no other mesh of this process (and, very likely, no other test process) uses. */
async function pickBlock(): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const a = 100 + ((process.pid + i * 7) % 150);
    const b = 1 + ((blockSeq++ * 53 + Math.floor(Math.random() * 250)) % 250);
    const block = `127.${a}.${b}`;
    if (await portIsFree(9080, `${block}.2`)) return block;
  }
  throw new Error('no free loopback block');
}

function track(p: RigProcess): RigProcess {
  live.add(p);
  void p.exited.then(() => live.delete(p));
  return p;
}

export class Mesh {
  readonly workloads = new Map<string, MeshWorkload>();
  controlPlane!: RigProcess;
  xdsPort = 0;
  debugPort = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(readonly dir: string, readonly block: string, private readonly spec: MeshSpec) {}

  static async start(spec: MeshSpec): Promise<Mesh> {
    const dir = mkdtempSync(join(tmpdir(), 'rig-e2e-mesh-'));
    const m = new Mesh(dir, await pickBlock(), spec);
    try {
      await m.boot();
      return m;
    } catch (e) {
      await m.stop();
      throw e;
    }
  }

  private async boot(): Promise<void> {
    const configDir = join(this.dir, 'config');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'mesh.yaml'), this.spec.config);
    const entries = this.spec.workloads.map((w, i) => workloadEntry(w.name, `${this.block}.${i + 2}`, {
      namespace: w.namespace ?? 'default',
      labels: w.labels,
      ports: w.ports ?? (w.app ? { http: 9080 } : {}),
      serviceAccount: w.serviceAccount ?? 'default',
    }));
    writeFileSync(join(configDir, 'workloads.yaml'), entries.join(''));
    await this.startControlPlane(0);

    const starts = this.spec.workloads.map(async (w, i) => {
      const ns = w.namespace ?? 'default';
      const address = `${this.block}.${i + 2}`;
      const ports = w.ports ?? (w.app ? { http: 9080 } : {});
      const httpProxyPort = await freeLoopbackPort();
      const id: ProxyIdentity = {
        type: 'sidecar', ip: address, name: w.name, namespace: ns, labels: w.labels, serviceAccount: w.serviceAccount ?? 'default',
        workloadName: w.labels.app ?? w.name,
        metadata: {
          RIG_HTTP_PROXY_PORT: String(httpProxyPort),
          ...(w.app ? { RIG_INBOUND_PORTS: JSON.stringify(Object.fromEntries(Object.values(ports).map((p) => [String(p), w.app!.port]))) } : {}),
        },
      };
      const file = join(this.dir, `${w.name}.bootstrap.json`);
      writeFileSync(file, JSON.stringify(bootstrapFor(id, { host: '127.0.0.1', port: this.xdsPort }, 0), null, 2));
      const proxy = track(startRig(['proxy', '--bootstrap', file, '--admin-port', '0', '--drain-ms', String(this.spec.drainMs ?? 1000)], { env: { RIG_LOG_LEVEL: 'info' } }));
      const adminPort = Number((await proxy.waitFor(/admin on 127\.0\.0\.1:(\d+)/, 20_000))[1]);
      this.workloads.set(w.name, { spec: w, address, httpProxyPort, adminPort, nodeId: nodeId(id), proxy });
    });
    await Promise.all(starts);
    // Ready = LDS and CDS applied (admin /ready).
    await Promise.all([...this.workloads.values()].map((w) => poll(async () => (await fetch(`http://127.0.0.1:${w.adminPort}/ready`)).status === 200, 20_000, 100)));
  }

  /** Starts `rig control-plane` on xdsPort (0 = any free port; a restart passes the old one so proxies find it). */
  async startControlPlane(xdsPort = this.xdsPort): Promise<void> {
    const cp = track(startRig(['control-plane', '--config', join(this.dir, 'config'), '--xds-port', String(xdsPort), '--debug-port', '0'], { env: { RIG_LOG_LEVEL: 'warn', RIG_DEBOUNCE_MS: '20', RIG_DEBOUNCE_MAX_MS: '200' } }));
    this.controlPlane = cp;
    this.xdsPort = Number((await cp.waitFor(/xDS \(ADS gRPC\) listening on [^:]+:(\d+)/, 20_000))[1]);
    this.debugPort = Number((await cp.waitFor(/debug API listening on http:\/\/[^:]+:(\d+)/, 5_000))[1]);
  }

  async stopControlPlane(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.controlPlane.stop(signal, 5000);
  }

  w(name: string): MeshWorkload {
    const w = this.workloads.get(name);
    if (!w) throw new Error(`no workload ${name}`);
    return w;
  }

  /** Adds or replaces a config file (the control plane watches the directory); atomic (rename) so no half file is read. */
  writeConfig(file: string, yaml: string): void {
    const tmp = join(this.dir, `.${file}.tmp`);
    writeFileSync(tmp, yaml);
    renameSync(tmp, join(this.dir, 'config', file));
  }
  removeConfig(file: string): void { unlinkSync(join(this.dir, 'config', file)); }

  /**
   * A request as workload `from`'s app sends it: through its sidecar's HTTP_PROXY listener, absolute-form URL.
   * Rejects only on a transport error (refused, reset) or after timeoutMs.
   */
  request(from: string, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number; agent?: Agent | false } = {}): Promise<MeshResponse> {
    const w = this.w(from);
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: w.httpProxyPort, method: opts.method ?? 'GET', path: u.href,
        headers: { host: u.host, ...opts.headers }, agent: opts.agent === undefined ? this.agent : opts.agent,
        timeout: opts.timeoutMs ?? 10_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: MeshResponse['json'];
          if ((res.headers['content-type'] ?? '').includes('json')) { try { json = JSON.parse(body); } catch { /* not JSON */ } }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`request to ${url} via ${from} timed out`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** Polls until a request from `from` to url answers 200 from an app (routing is in place end to end). */
  async waitRoutable(from: string, url: string, ms = 15_000, ok: (r: MeshResponse) => boolean = (r) => r.status === 200 && r.json !== undefined): Promise<MeshResponse> {
    return poll(async () => { const r = await this.request(from, url, { timeoutMs: 3000 }); return ok(r) ? r : undefined; }, ms, 100);
  }

  /** The proxy's "request flagged" access-log lines (pino JSON on stderr). */
  flagged(name: string): FlaggedLine[] {
    const out: FlaggedLine[] = [];
    for (const l of this.w(name).proxy.stderr) {
      if (!l.includes('request flagged')) continue;
      try { out.push(JSON.parse(l) as FlaggedLine); } catch { /* partial line */ }
    }
    return out;
  }

  async admin(name: string, path: string): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${this.w(name).adminPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return r.text();
  }

  /** A counter or gauge from the proxy's /stats (0 when absent). */
  async stat(name: string, stat: string): Promise<number> {
    const text = await this.admin(name, '/stats');
    for (const line of text.split('\n')) {
      const i = line.lastIndexOf(': ');
      if (i > 0 && line.slice(0, i) === stat) return Number(line.slice(i + 2));
    }
    return 0;
  }

  /** Stops every proxy and the control plane (SIGTERM, SIGKILL after 5 s), removes the temp dir. Apps are the caller's. */
  async stop(): Promise<void> {
    this.agent.destroy();
    await Promise.all([...this.workloads.values()].map((w) => w.proxy.stop('SIGTERM', 5000)));
    if (this.controlPlane) await this.controlPlane.stop('SIGTERM', 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freeLoopbackPort(): Promise<number> {
  const { freePort } = await import('./ports.ts');
  return freePort();
}
