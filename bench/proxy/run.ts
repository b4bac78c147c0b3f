// bench/proxy: proxy benchmark (issue 3) — wrk (and h2load) against a direct backend, nginx, an nginx pair, one
// Rigging proxy configured by the real control plane, and client sidecar + server sidecar. Records req/s, p50/p99,
// CPU seconds per 1,000 requests, instructions per request (perf stat, when perf is installed) and RSS of the proxy
// processes, and ratios to nginx (two-sidecar rows also to the nginx pair).
// Usage: npm run bench:proxy [-- --json] [--duration 10] [--connections 50,200] [--bodies 1024,16384] [--io auto,documented]
//        [--runtime bundle,tsx] [--targets direct,nginx,nginx-pair,one,two,h2,nginx-tls,mtls] [--node-options '--max-semi-space-size=2']
//        [--warmup 2] [--no-perf] [--heads plain,traced]
// It installs nothing: missing tools are named (apt-get install nginx wrk nghttp2-client linux-perf).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/control-plane/index.ts';
import { freePort, resolveCommand } from '../../src/local/ports.ts';
import { meshConfig } from './mesh-config.ts';
import { nginxClientConf, nginxServerConf, writeTlsPairCerts } from './tls-nginx.ts';
import { nginxPairConfs, nginxProxyConf } from './nginx-pair.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1] : def; };
const asJson = args.includes('--json');
const duration = Number(flag('duration', '10'));
// Unmeasured load before a target's first measured run per protocol, so V8 has optimized the proxy's hot code:
// without it the first row's instructions per request include compiling (~25% more at --duration 5).
const warmup = Number(flag('warmup', '2'));
const connectionsList = flag('connections', '50,200').split(',').map(Number);
const bodies = flag('bodies', '1024,16384').split(',').map(Number);
const ioModes = flag('io', 'auto').split(',');
// bundle: bin/rig.js runs dist/rig-proxy.mjs (built by `npm run build`); tsx: through the tsx loader (RIG_NO_BUNDLE=1).
const runtimes = flag('runtime', 'bundle').split(',');
// nginx-pair: wrk -> nginx -> nginx -> backend (the plaintext baseline for two sidecars); h2: h2load rows for nginx,
// the nginx pair, one and two (alone, `--targets h2` runs only those); nginx-tls: nginx pair with mTLS between them;
// mtls: two sidecars with auto mTLS (ratios to the nginx-tls pair).
// traced: extra rows for nginx and one proxy (first body size and connection count) whose every request head is unique
// (bench/proxy/traced.lua: x-request-id and B3 ids per request), compared with each other: wrk's own request repeats
// byte for byte, which a parse cache of recent heads (the proxy has one) turns into a best case.
const tracedHeads = flag('heads', 'plain,traced').split(',').includes('traced');
const TRACED_SCRIPT = join(root, 'bench', 'proxy', 'traced.lua');
const TRACED = ' (traced heads)';
const only = flag('targets', 'direct,nginx,nginx-pair,one,two,h2,nginx-tls,mtls').split(',');
const h2Only = only.length === 1 && only[0] === 'h2';
const H2_TARGETS = ['nginx', 'nginx-pair', 'one', 'two'];
/** Is this target wanted (`--targets h2` alone wants the h2-capable ones, h2 rows only)? */
const want = (t: string): boolean => only.includes(t) || (h2Only && H2_TARGETS.includes(t));
const wantH1 = !h2Only;
const wantH2 = only.includes('h2');
// Node flags for the proxy processes: V8 flags (--max-semi-space-size=N) or profiling (--cpu-prof --cpu-prof-dir=D).
const proxyNodeFlags = flag('node-options', '').split(' ').filter(Boolean);
const log = (s: string): void => { if (!asJson) process.stdout.write(s + '\n'); else process.stderr.write(s + '\n'); };

const which = (cmd: string): string | undefined => resolveCommand(cmd, root);
// perf counts instructions per request (user and kernel), which CPU contention on a shared machine does not move.
const tools = { wrk: which('wrk'), nginx: which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined), h2load: which('h2load'), perf: args.includes('--no-perf') ? undefined : which('perf') };
const missing = Object.entries(tools).filter(([k, v]) => !v && !(k === 'perf' && args.includes('--no-perf'))).map(([k]) => k);
if (!tools.wrk) {
  process.stderr.write(`bench:proxy needs wrk (missing: ${missing.join(', ')}). Install: apt-get install nginx wrk nghttp2-client\n`);
  process.exit(2);
}
if (missing.length) log(`note: missing ${missing.join(', ')} (apt-get install nginx wrk nghttp2-client linux-perf); nginx / h2load rows are skipped without them, instructions per request without perf`);

interface Proc { child: ChildProcess; out: string }
const procs: ChildProcess[] = [];
// Interrupted runs must not leave backends and proxies behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL'); process.exit(130); });
function start(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  const p: Proc = { child, out: '' };
  child.stdout!.on('data', (b) => { p.out += b; });
  child.stderr!.on('data', (b) => { p.out += b; });
  return p;
}
async function waitOut(p: Proc, re: RegExp, ms = 20000): Promise<RegExpMatchArray> {
  for (let i = 0; i < ms / 50; i++) {
    const m = re.exec(p.out);
    if (m) return m;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${re}; output:\n${p.out.slice(-2000)}`);
}
async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await new Promise((r) => p.child.once('exit', r));
  clearTimeout(t);
}

/** utime+stime in seconds, and RSS (VmRSS) and peak (VmHWM) in MB, of a pid. */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100;
  } catch { return 0; }
}
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
}
function childrenOf(pid: number): number[] {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
}

interface Row {
  /** For h2 rows p50ms holds h2load's mean and p99ms is NaN (h2load reports no percentiles). */
  target: string; io?: string; protocol: 'h1' | 'h2'; connections: number; bodyBytes: number;
  rps: number; p50ms: number; p99ms: number; cpuSecPer1k: number; rssMB: number;
  /** Instructions per request of the proxy process(es), user and kernel (perf stat); absent without perf. */
  instrUserPerReq?: number; instrKernelPerReq?: number;
  /** RSS of the proxy process(es) once configured and before load (MB). */
  idleRssMB?: number;
  /** Ratios to the row's baseline (nginx; the nginx tls pair for mtls rows): throughput, CPU and instruction efficiency. */
  ratioRps?: number; ratioCpu?: number; ratioInstr?: number; ratioP99?: number;
  /** p99 minus the direct path's p99 (ms), for this row and for nginx in the same setting. */
  addedP99ms?: number; nginxAddedP99ms?: number;
  /** Two plaintext sidecars against the plaintext nginx pair (two proxies each): the like-for-like ratios. */
  pairRatioRps?: number; pairRatioCpu?: number; pairRatioInstr?: number; pairAddedP99ms?: number;
}
type Measured = Omit<Row, 'target' | 'protocol' | 'connections' | 'bodyBytes'>;

function parseMs(s: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/**
 * Runs a load generator while measuring the proxy pids: CPU seconds (/proc), peak RSS, and — under `perf stat -p`,
 * which counts only those pids for as long as the load generator runs — their user and kernel instructions.
 */
async function underLoad(cmd: string, argv: string[], pids: number[]): Promise<{ out: string; cpu: number; peakMB: number; instrU?: number; instrK?: number }> {
  const cpu0 = pids.map(cpuOf);
  let peak = 0;
  const sample = (): void => { peak = Math.max(peak, pids.reduce((a, p) => a + rssOf(p), 0)); };
  const sampler = setInterval(sample, 250);
  const perf = tools.perf ? [tools.perf, ['stat', '-x', ',', '-e', 'instructions:u,instructions:k', '-p', pids.join(','), '--', cmd, ...argv]] as const : undefined;
  const [out, err] = await new Promise<[string, string]>((resolve) => {
    const c = perf ? spawn(perf[0], perf[1], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let s = '', e = '';
    c.stdout.on('data', (b) => { s += b; });
    c.stderr.on('data', (b) => { e += b; });
    c.on('exit', () => resolve([s, e]));
  });
  clearInterval(sampler);
  sample();
  const cpu = pids.reduce((a, p, i) => a + cpuOf(p) - cpu0[i], 0);
  // perf -x, lines: value,unit,event,... ("<not supported>" / "<not counted>" when it could not count).
  const count = (ev: string): number | undefined => {
    const m = new RegExp(`^(\\d+),[^,]*,${ev.replace(':', '\\:')}`, 'm').exec(err);
    return m ? Number(m[1]) : undefined;
  };
  return { out, cpu, peakMB: Math.round(peak * 10) / 10, instrU: count('instructions:u'), instrK: count('instructions:k') };
}

function perRequest(m: { instrU?: number; instrK?: number }, total: number): Pick<Row, 'instrUserPerReq' | 'instrKernelPerReq'> {
  if (!total) return {};
  return {
    instrUserPerReq: m.instrU !== undefined ? Math.round(m.instrU / total) : undefined,
    instrKernelPerReq: m.instrK !== undefined ? Math.round(m.instrK / total) : undefined,
  };
}

const warmed = new Set<string>();
/**
 * Runs the load tool unmeasured for `warmup` seconds the first time a URL is loaded with it at this connection count:
 * a c=200 run after a c=50 one would otherwise start by dialling 150 upstream connections (TLS handshakes on the mTLS
 * rows) inside its measured seconds, which the c=50 row never does.
 */
async function warm(tool: string, argv: (seconds: string) => string[], url: string, conns: number): Promise<void> {
  const key = `${tool} ${url} c=${conns}`;
  if (warmup <= 0 || warmed.has(key)) return;
  warmed.add(key);
  await new Promise((resolve) => spawn(tool, argv(String(warmup)), { stdio: 'ignore' }).on('exit', resolve));
}

async function runWrk(url: string, conns: number, host: string | undefined, pids: number[], script?: string): Promise<Measured> {
  const extra = [...(host ? ['-H', `Host: ${host}`] : []), ...(script ? ['-s', script] : [])];
  await warm(tools.wrk!, (d) => ['-t', '1', '-c', String(conns), '-d', `${d}s`, ...extra, url], url + (script ?? ''), conns);
  const argv = ['-t', '1', '-c', String(conns), '-d', `${duration}s`, '--latency', ...extra, url];
  const m = await underLoad(tools.wrk!, argv, pids);
  const out = m.out;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx > 0 || total === 0) log(`  warning: ${non2xx} non-2xx of ${total} for ${url}`);
  return {
    rps, p50ms: parseMs(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ''), p99ms: parseMs(/ 99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    cpuSecPer1k: total ? (m.cpu / total) * 1000 : NaN, rssMB: m.peakMB, ...perRequest(m, total),
  };
}

/** h2load over h2c (prior knowledge), 10 streams per connection; undefined when h2 rows are not wanted. */
async function runH2load(url: string, conns: number, host: string | undefined, pids: number[]): Promise<Measured | undefined> {
  if (!tools.h2load || !wantH2) return undefined;
  await warm(tools.h2load, (d) => ['-c', String(conns), '-m', '10', '-D', d, '-t', '1', ...(host ? ['-H', `:authority: ${host}`] : []), url], url, conns);
  const argv = ['-c', String(conns), '-m', '10', '-D', String(duration), '-t', '1', ...(host ? ['-H', `:authority: ${host}`] : []), url];
  const m = await underLoad(tools.h2load, argv, pids);
  const out = m.out;
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1] ?? 0);
  const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
  if (ok < done || done === 0) log(`  warning: ${ok} 2xx of ${done} (h2load) for ${url}`);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '';
  return { rps, p50ms: parseMs(mean), p99ms: NaN, cpuSecPer1k: done ? (m.cpu / done) * 1000 : NaN, rssMB: m.peakMB, ...perRequest(m, done) };
}

/** nginx master + worker pids once it has started its worker (the worker does the proxying). */
async function nginxPids(p: Proc): Promise<number[]> {
  for (let i = 0; i < 40; i++) {
    const w = childrenOf(p.child.pid!);
    if (w.length) return [p.child.pid!, ...w];
    if (p.child.exitCode !== null) throw new Error(`nginx exited: ${p.out.slice(-1000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx started no worker: ${p.out.slice(-1000)}`);
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  // The bundle must match the sources, or bin/rig.js silently falls back to tsx: rebuild it first.
  if (runtimes.includes('bundle')) {
    const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { encoding: 'utf8' });
    log((b.stdout + b.stderr).trim());
  }
  const tmp = mkdtempSync(join(tmpdir(), 'rig-bench-proxy-'));
  let cp: ControlPlane | undefined;
  const started: Proc[] = [];
  try {
    for (const body of bodies) {
      const bePort = await freePort();
      const be = start(process.execPath, ['--import', 'tsx', 'bench/proxy/backend.ts', String(bePort), String(body)]);
      started.push(be);
      await waitOut(be, /ready (\d+)/);
      const record = (r: Row): void => {
        rows.push(r);
        const lat = r.protocol === 'h2' ? `mean ${r.p50ms.toFixed(2)} ms (h2load)` : `p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms`;
        log(`${(r.target + (r.io ? ` [${r.io}]` : '')).padEnd(34)} ${r.protocol} c=${String(r.connections).padEnd(3)} body=${String(r.bodyBytes).padEnd(5)} ${r.rps.toFixed(0).padStart(7)} req/s  ${lat}  cpu ${r.cpuSecPer1k.toFixed(3)} s/1k${r.instrUserPerReq !== undefined ? `  instr/req ${kInstr(r.instrUserPerReq)}k u + ${kInstr(r.instrKernelPerReq)}k k` : ''}  rss ${r.rssMB} MB`);
      };

      // direct
      if (wantH1 && want('direct')) for (const c of connectionsList) record({ target: 'direct', protocol: 'h1', connections: c, bodyBytes: body, ...(await runWrk(`http://127.0.0.1:${bePort}/`, c, undefined, [be.child.pid!])) });

      // nginx
      if (tools.nginx && want('nginx')) {
        const d = join(tmp, `nginx-${body}`);
        spawnSync('mkdir', ['-p', d]);
        const [port, portH2] = [await freePort(), await freePort()];
        writeFileSync(join(d, 'nginx.conf'), nginxProxyConf(d, port, portH2, bePort));
        const ngx = start(tools.nginx, ['-c', join(d, 'nginx.conf'), '-p', d]);
        started.push(ngx);
        const pids = await nginxPids(ngx);
        if (wantH1) for (const c of connectionsList) record({ target: 'nginx', protocol: 'h1', connections: c, bodyBytes: body, ...(await runWrk(`http://127.0.0.1:${port}/`, c, undefined, pids)) });
        if (wantH1 && tracedHeads && body === bodies[0] && want('one')) record({ target: 'nginx' + TRACED, protocol: 'h1', connections: connectionsList[0], bodyBytes: body, ...(await runWrk(`http://127.0.0.1:${port}/`, connectionsList[0], undefined, pids, TRACED_SCRIPT)) });
        const h2 = await runH2load(`http://127.0.0.1:${portH2}/`, connectionsList[0], undefined, pids);
        if (h2) record({ target: 'nginx', protocol: 'h2', connections: connectionsList[0], bodyBytes: body, ...h2 });
        await stop(ngx);
      }

      // nginx pair, plaintext: two of the reference proxies in a row, the like-for-like baseline for two sidecars.
      if (tools.nginx && want('nginx-pair')) {
        const d = join(tmp, `nginx-pair-${body}`);
        spawnSync('mkdir', ['-p', join(d, 'a'), join(d, 'b')]);
        const ports = { a: await freePort(), aH2: await freePort(), b: await freePort() };
        const conf = nginxPairConfs(join(d, 'a'), join(d, 'b'), ports, bePort);
        writeFileSync(join(d, 'a', 'nginx.conf'), conf.a);
        writeFileSync(join(d, 'b', 'nginx.conf'), conf.b);
        const nb = start(tools.nginx, ['-c', join(d, 'b', 'nginx.conf'), '-p', join(d, 'b')]);
        const na = start(tools.nginx, ['-c', join(d, 'a', 'nginx.conf'), '-p', join(d, 'a')]);
        started.push(nb, na);
        const pids = [...(await nginxPids(na)), ...(await nginxPids(nb))];
        const probe = await fetch(`http://127.0.0.1:${ports.a}/`).then(async (r) => { await r.arrayBuffer(); return r.status; }, (e: Error) => e.message);
        if (probe !== 200) throw new Error(`nginx pair answered ${probe}; ${na.out}${nb.out}`);
        if (wantH1) for (const c of connectionsList) record({ target: 'nginx pair', protocol: 'h1', connections: c, bodyBytes: body, ...(await runWrk(`http://127.0.0.1:${ports.a}/`, c, undefined, pids)) });
        const h2 = await runH2load(`http://127.0.0.1:${ports.aH2}/`, connectionsList[0], undefined, pids);
        if (h2) record({ target: 'nginx pair', protocol: 'h2', connections: connectionsList[0], bodyBytes: body, ...h2 });
        await stop(na);
        await stop(nb);
      }

      // nginx pair with mutual TLS between them (the baseline for the mTLS sidecar rows).
      if (tools.nginx && wantH1 && want('nginx-tls')) {
        const d = join(tmp, `nginx-tls-${body}`);
        spawnSync('mkdir', ['-p', join(d, 'a'), join(d, 'b')]);
        const certs = await writeTlsPairCerts(d);
        const [aPort, bPort] = [await freePort(), await freePort()];
        writeFileSync(join(d, 'b', 'nginx.conf'), nginxServerConf(join(d, 'b'), bPort, bePort, certs));
        writeFileSync(join(d, 'a', 'nginx.conf'), nginxClientConf(join(d, 'a'), aPort, bPort, certs));
        const nb = start(tools.nginx, ['-c', join(d, 'b', 'nginx.conf'), '-p', join(d, 'b')]);
        const na = start(tools.nginx, ['-c', join(d, 'a', 'nginx.conf'), '-p', join(d, 'a')]);
        started.push(nb, na);
        const pids = [...(await nginxPids(na)), ...(await nginxPids(nb))];
        const probe = await fetch(`http://127.0.0.1:${aPort}/`).then(async (r) => { await r.arrayBuffer(); return r.status; }, (e: Error) => e.message);
        if (probe !== 200) throw new Error(`nginx TLS pair answered ${probe}; ${nb.out}${na.out}${readFileSync(join(d, 'b', 'error.log'), 'utf8').slice(-1000)}`);
        for (const c of connectionsList) record({ target: 'nginx tls pair', protocol: 'h1', connections: c, bodyBytes: body, ...(await runWrk(`http://127.0.0.1:${aPort}/`, c, undefined, pids)) });
        await stop(na);
        await stop(nb);
      }

      // Rigging: one proxy (client side, HTTP_PROXY listener, routing by Host) and client + server sidecars.
      const cfgDir = join(tmp, `mesh-${body}`);
      spawnSync('mkdir', ['-p', cfgDir]);
      const b = 10 + Math.floor(Math.random() * 200);
      const serverIp = `127.0.${b}.3`, clientIp = `127.0.${b}.2`;
      for (const io of ioModes) for (const runtime of runtimes) {
        for (const mode of ['one proxy', 'two sidecars', 'two sidecars mtls'] as const) {
          const mtls = mode === 'two sidecars mtls';
          if (!want(mtls ? 'mtls' : mode.split(' ')[0]!) || (mtls && !wantH1)) continue;
          // Auto mTLS: the server workload has a service account, so the client sidecar originates Istio mutual TLS
          // to it; both sidecars get certificates from the control plane's CA (SERVICE_ACCOUNT in their metadata).
          writeFileSync(join(cfgDir, 'mesh.yaml'), mode === 'one proxy' ? meshConfig('127.0.0.1', bePort) : meshConfig(serverIp, undefined, mtls ? 'backend' : undefined));
          // Rebuild right before starting: bin/rig.js refuses a bundle older than any source file.
          if (runtime === 'bundle') spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'ignore' });
          cp = await startControlPlane({ configDir: cfgDir, xdsPort: 0, debugPort: 0, fileDebounceMs: 10, logger: pino({ level: 'silent' }) });
          const xds = `127.0.0.1:${cp.xdsPort}`;
          const httpPort = await freePort();
          const rig = (id: string, md: string[]): Proc => start(process.execPath, [...proxyNodeFlags, join(root, 'bin', 'rig.js'), 'proxy', '--xds-address', xds, '--node-id', id, '--admin-port', '0', '--io', io,
            '--metadata', 'NAMESPACE=default', ...md.flatMap((m) => ['--metadata', m])],
            { RIG_LOG_LEVEL: 'warn', RIG_LOG_RUNTIME: '1', ...(runtime === 'tsx' ? { RIG_NO_BUNDLE: '1' } : { RIG_NO_BUNDLE: '' }) });
          const client = rig(`sidecar~${clientIp}~client.default~default.svc.cluster.local`, ['LABELS={"app":"client"}', `RIG_HTTP_PROXY_PORT=${httpPort}`, ...(mtls ? ['SERVICE_ACCOUNT=client'] : [])]);
          started.push(client);
          const pids = [client.child.pid!];
          let server: Proc | undefined;
          if (mode !== 'one proxy') {
            server = rig(`sidecar~${serverIp}~backend.default~default.svc.cluster.local`, ['LABELS={"app":"backend"}', `RIG_INBOUND_PORTS={"9080":${bePort}}`, ...(mtls ? ['SERVICE_ACCOUNT=backend'] : [])]);
            started.push(server);
            pids.push(server.child.pid!);
          }
          const adminC = Number((await waitOut(client, /admin on 127\.0\.0\.1:(\d+)/))[1]);
          const ioUsed = (await waitOut(client, /io (\w+)/))[1];
          for (let i = 0; i < 200; i++) {
            try {
              const r = await fetch(`http://127.0.0.1:${httpPort}/`, { headers: { host: 'backend:9080' } });
              await r.arrayBuffer();
              if (r.status === 200) break;
            } catch { /* not listening yet */ }
            await new Promise((r) => setTimeout(r, 100));
          }
          if (mtls && server) {
            // Check the client sidecar originates mutual TLS to the server: its outbound cluster carries an upstream
            // TLS context for endpoints labelled tlsMode=istio, and the backend endpoint is one of those.
            const dump = await (await fetch(`http://127.0.0.1:${adminC}/config_dump?include_eds`)).text();
            const cluster = (JSON.parse(dump) as { configs: Array<Record<string, unknown>> }).configs
              .flatMap((c) => (c.dynamic_active_clusters as Array<{ cluster: { name: string } }> | undefined) ?? [])
              .find((c) => c.cluster.name === 'outbound|9080||backend.default.svc.cluster.local');
            if (!cluster || !JSON.stringify(cluster).includes('UpstreamTlsContext') || !/"envoy\.transport_socket_match":\{"fields":\{"tlsMode":\{"stringValue":"istio"\}/.test(dump.replace(/\s/g, ''))) {
              throw new Error(`the mtls client sidecar has no upstream mTLS for backend: ${JSON.stringify(cluster)?.slice(0, 400)}`);
            }
          }
          const target = `rigging ${mode}${runtimes.length > 1 ? ` (${runtime})` : ''}`;
          const idleRssMB = Math.round(pids.reduce((a, p) => a + rssOf(p), 0) * 10) / 10;
          const ran = /runtime (\w+)/.exec(client.out)?.[1] ?? '?';
          log(`${target}: idle rss ${idleRssMB} MB (runtime ${ran})`);
          if (wantH1) for (const c of connectionsList) record({ target, io: ioUsed, protocol: 'h1', connections: c, bodyBytes: body, idleRssMB, ...(await runWrk(`http://127.0.0.1:${httpPort}/`, c, 'backend:9080', pids)) });
          if (wantH1 && tracedHeads && mode === 'one proxy' && body === bodies[0]) record({ target: target + TRACED, io: ioUsed, protocol: 'h1', connections: connectionsList[0], bodyBytes: body, idleRssMB, ...(await runWrk(`http://127.0.0.1:${httpPort}/`, connectionsList[0], undefined, pids, TRACED_SCRIPT)) });
          const h2 = mtls ? undefined : await runH2load(`http://127.0.0.1:${httpPort}/`, connectionsList[0], 'backend:9080', pids);
          if (h2) record({ target, io: ioUsed, protocol: 'h2', connections: connectionsList[0], bodyBytes: body, ...h2 });
          await stop(client);
          await stop(server);
          await cp.close();
          cp = undefined;
        }
      }
      await stop(be);
    }
  } finally {
    for (const p of started) await stop(p);
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
    await cp?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  // Ratios to nginx in the same run (same body, connections, protocol).
  const find = (target: string, r: Row, protocol = r.protocol): Row | undefined =>
    rows.find((x) => x.target === target && x.protocol === protocol && x.connections === r.connections && x.bodyBytes === r.bodyBytes);
  for (const r of rows) {
    if (r.target.startsWith('nginx')) continue;
    // Added p99: what the proxy adds over the direct path, relative to what the baseline adds.
    const d = find('direct', r, 'h1');
    // mTLS rows compare with the nginx pair that also does mutual TLS between its two legs; traced-head rows with
    // nginx under the same heads.
    const n = find((r.target.includes('mtls') ? 'nginx tls pair' : 'nginx') + (r.target.endsWith(TRACED) ? TRACED : ''), r);
    if (n) {
      r.ratioRps = round(r.rps / n.rps);
      r.ratioCpu = round(n.cpuSecPer1k / r.cpuSecPer1k);
      r.ratioInstr = instrRatio(n, r);
      r.ratioP99 = r.protocol === 'h1' ? round(r.p99ms / n.p99ms) : undefined;
      if (d && r.protocol === 'h1') { r.addedP99ms = round(r.p99ms - d.p99ms); r.nginxAddedP99ms = round(n.p99ms - d.p99ms); }
    }
    // Two plaintext sidecars are two proxies per request: also compare them with two nginx in a row.
    const pair = r.target.includes('two sidecars') && !r.target.includes('mtls') ? find('nginx pair', r) : undefined;
    if (pair) {
      r.pairRatioRps = round(r.rps / pair.rps);
      r.pairRatioCpu = round(pair.cpuSecPer1k / r.cpuSecPer1k);
      r.pairRatioInstr = instrRatio(pair, r);
      if (d && r.protocol === 'h1') r.pairAddedP99ms = round(pair.p99ms - d.p99ms);
    }
  }
  if (asJson) { process.stdout.write(JSON.stringify({ duration, tools, rows }, null, 2) + '\n'); return; }
  log('\nratios to nginx (throughput x; CPU efficiency x = nginx CPU per request / ours; instr x = nginx instructions per request / ours;');
  log('p99 x; added p99 = p99 - direct p99, ours vs nginx\'s); two plaintext sidecars also vs the nginx pair:');
  const x = (v: number | undefined): string => (v === undefined ? '-' : `${v}x`);
  for (const r of rows.filter((y) => y.ratioRps !== undefined && y.target.startsWith('rigging'))) {
    const added = r.addedP99ms !== undefined ? `  added p99 ${r.addedP99ms} ms vs nginx ${r.nginxAddedP99ms} ms` : '';
    const pair = r.pairRatioRps !== undefined ? `\n  ${''.padEnd(22)} vs nginx pair: rps ${x(r.pairRatioRps)}  cpu ${x(r.pairRatioCpu)}  instr ${x(r.pairRatioInstr)}${r.pairAddedP99ms !== undefined ? `  added p99 ${r.addedP99ms} ms vs pair ${r.pairAddedP99ms} ms` : ''}` : '';
    log(`  ${r.target.padEnd(22)} io=${(r.io ?? '').padEnd(10)} ${r.protocol} c=${r.connections} body=${r.bodyBytes}: rps ${x(r.ratioRps)}  cpu ${x(r.ratioCpu)}  instr ${x(r.ratioInstr)}${r.ratioP99 !== undefined ? `  p99 ${r.ratioP99}x` : ''}${added}  rss ${r.rssMB} MB${pair}`);
  }
}

/** Baseline instructions per request / ours (user + kernel); undefined without perf counts. */
function instrRatio(base: Row, r: Row): number | undefined {
  const t = (y: Row): number | undefined => (y.instrUserPerReq !== undefined && y.instrKernelPerReq !== undefined ? y.instrUserPerReq + y.instrKernelPerReq : undefined);
  const b = t(base), o = t(r);
  return b !== undefined && o ? round(b / o) : undefined;
}

function round(x: number): number { return Math.round(x * 100) / 100; }
function kInstr(n: number | undefined): string { return n === undefined ? '?' : (n / 1000).toFixed(1); }

main().then(() => process.exit(0), (e) => { process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`); process.exit(1); });
