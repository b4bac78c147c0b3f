// bench/proxy: starts one bench setup (backend + Rigging's control plane + one proxy, two sidecars or two mTLS
// sidecars) and holds it for profiling (perf stat / perf record -p PID, wrk by hand); stops everything on SIGINT /
// SIGTERM or after --max-seconds.
// Usage: node --import tsx bench/proxy/hold.ts [--mode one|two|mtls] [--body 1024] [--max-seconds 1800]
//        [--node-options '--perf-basic-prof'] [--runtime bundle|tsx] [--h2-upgrade]
// --h2-upgrade: a DestinationRule with h2UpgradePolicy UPGRADE, so the hop between two sidecars is HTTP/2 (the proxies'
// HTTP/2 client and server); RIG_PROXY_H2=node in the environment picks node:http2 instead of the native codec.
// Prints one JSON line: {"url","host","proxyPids","backendPid","adminPorts"}, then "held" and waits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startControlPlane } from '../../src/control-plane/index.ts';
import { freePort } from '../../src/local/ports.ts';
import { meshConfig } from './mesh-config.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : def; };
const mode = flag('mode', 'one');
const body = Number(flag('body', '1024'));
const maxSeconds = Number(flag('max-seconds', '1800'));
const nodeFlags = flag('node-options', '').split(' ').filter(Boolean);
const runtime = flag('runtime', 'bundle');
const h2Upgrade = args.includes('--h2-upgrade');
const UPGRADE_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: backend-h2, namespace: default}
spec:
  host: backend.default.svc.cluster.local
  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}
---
`;
if (!['one', 'two', 'mtls'].includes(mode)) { process.stderr.write(`--mode must be one, two or mtls (got ${mode})\n`); process.exit(2); }

const children: ChildProcess[] = [];
function start(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b) => { out += b; });
  child.stderr!.on('data', (b) => { out += b; process.stderr.write(b); });
  return { child, out: () => out };
}
async function waitFor(p: { child: ChildProcess; out: () => string }, re: RegExp): Promise<RegExpMatchArray> {
  for (let i = 0; i < 400; i++) {
    const m = re.exec(p.out());
    if (m) return m;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${re}: ${p.out().slice(-1000)}`);
}

const tmp = mkdtempSync(join(tmpdir(), 'rig-bench-hold-'));
const cpRef: { close?: () => Promise<void> } = {};
async function shutdown(code: number): Promise<never> {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cpRef.close?.();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void shutdown(0));

async function main(): Promise<void> {
  if (runtime === 'bundle') spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'ignore' });
  const bePort = await freePort();
  const be = start(process.execPath, ['--import', 'tsx', 'bench/proxy/backend.ts', String(bePort), String(body)]);
  await waitFor(be, /ready (\d+)/);
  const b = 10 + Math.floor(Math.random() * 200);
  const serverIp = `127.0.${b}.3`, clientIp = `127.0.${b}.2`;
  const mtls = mode === 'mtls';
  writeFileSync(join(tmp, 'mesh.yaml'), (mode === 'one' ? meshConfig('127.0.0.1', bePort) : meshConfig(serverIp, undefined, mtls ? 'backend' : undefined)) + (h2Upgrade ? UPGRADE_RULE : ''));
  const cp = await startControlPlane({ configDir: tmp, xdsPort: 0, debugPort: 0, fileDebounceMs: 10, logger: pino({ level: 'silent' }) });
  cpRef.close = () => cp.close();
  const xds = `127.0.0.1:${cp.xdsPort}`;
  const httpPort = await freePort();
  const rig = (id: string, md: string[]) => start(process.execPath, [...nodeFlags, join(root, 'bin', 'rig.js'), 'proxy', '--xds-address', xds, '--node-id', id, '--admin-port', '0',
    '--metadata', 'NAMESPACE=default', ...md.flatMap((m) => ['--metadata', m])], { RIG_LOG_LEVEL: 'warn', ...(runtime === 'tsx' ? { RIG_NO_BUNDLE: '1' } : { RIG_NO_BUNDLE: '' }) });
  const client = rig(`sidecar~${clientIp}~client.default~default.svc.cluster.local`, ['LABELS={"app":"client"}', `RIG_HTTP_PROXY_PORT=${httpPort}`, ...(mtls ? ['SERVICE_ACCOUNT=client'] : [])]);
  const proxies = [client];
  if (mode !== 'one') proxies.push(rig(`sidecar~${serverIp}~backend.default~default.svc.cluster.local`, ['LABELS={"app":"backend"}', `RIG_INBOUND_PORTS={"9080":${bePort}}`, ...(mtls ? ['SERVICE_ACCOUNT=backend'] : [])]));
  const adminPorts = await Promise.all(proxies.map(async (p) => Number((await waitFor(p, /admin on 127\.0\.0\.1:(\d+)/))[1])));
  let status = 0;
  let last = '';
  for (let i = 0; i < 200 && status !== 200; i++) {
    // node:http, not fetch: fetch (undici) does not send a Host header of ours.
    status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'backend:9080' } }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => { last = `${res.headers['x-rig-explanation'] ?? ''} ${body.slice(0, 300)}`; resolve(res.statusCode ?? 0); });
      }).on('error', () => resolve(0));
    });
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  if (status !== 200) throw new Error(`the mesh did not answer 200 (last ${status}: ${last.trim()})`);
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${httpPort}/`, host: 'backend:9080', proxyPids: proxies.map((p) => p.child.pid), backendPid: be.child.pid, adminPorts }) + '\nheld\n');
  setTimeout(() => void shutdown(0), maxSeconds * 1000);
  await new Promise(() => { /* held until a signal or --max-seconds */ });
}

main().catch((e) => { process.stderr.write(`hold failed: ${(e as Error).stack ?? e}\n`); void shutdown(1); });
