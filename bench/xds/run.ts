// bench/xds: xDS benchmark (`npm run bench:xds [-- --json] [-- --services N --endpoints M --proxies P --changes K]`).
// Control plane in this process (store -> snapshot -> translate -> ADS), simulated proxies in a child
// process. Measures time from a config change to every proxy ACKing it, the full-push time, and RSS.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BenchStore } from './store.ts';
import { startControlPlane } from '../../src/control-plane/control-plane.ts';
import { logger } from '../../src/common/logger.ts';
import type { PushEvent } from '../../src/xds/server/server.ts';
import { serviceEntry, virtualService } from './mesh.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : def; };
const json = args.includes('--json');
const SERVICES = opt('services', 1000);
const ENDPOINTS = opt('endpoints', 5000);
const PROXIES = opt('proxies', 200);
const CHANGES = opt('changes', 6);
const DEBOUNCE = opt('debounce', 10);
const per = Math.max(1, Math.round(ENDPOINTS / SERVICES));

const log = logger('bench');
log.level = 'silent';
const mb = (n: number) => Math.round(n / 1024 / 1024);
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN; };

const store = new BenchStore();
await store.apply([...Array.from({ length: SERVICES }, (_, i) => serviceEntry(i, per)), virtualService(0, 50)]);
const t0 = performance.now();
const cp = await startControlPlane({ store, xdsPort: 0, debugPort: 0, debounceMs: DEBOUNCE, debounceMaxMs: DEBOUNCE * 10, logger: log });
const buildMs = performance.now() - t0;
const rssIdle = process.memoryUsage().rss;

const here = dirname(fileURLToPath(import.meta.url));
const child = fork(join(here, 'clients.ts'), [`127.0.0.1:${cp.xdsPort}`, String(PROXIES)], { execArgv: ['--import', 'tsx'], stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
const lines = createInterface({ input: child.stdout! });
const tc = performance.now();
const ready = await new Promise<{ eds: number; rds: number }>((resolve, reject) => {
  lines.on('line', (l) => { const m = JSON.parse(l); if (m.ready) resolve(m); });
  child.once('exit', (c) => reject(new Error(`clients exited ${c}`)));
});
const connectMs = performance.now() - tc;

/** Waits until every stream has ACKed everything it was sent for `version`. */
async function allAcked(version: string): Promise<number> {
  for (let i = 0; i < 2400; i++) {
    const st = cp.xds.status();
    if (st.length === PROXIES && st.every((s) => s.configVersion === version && s.types.every((t) => t.state === 'SYNCED'))) return performance.now();
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not every proxy ACKed ${version} within 12 s`);
}

const pushes: PushEvent[] = [];
cp.xds.on('push', (e: PushEvent) => pushes.push(e));
const latency: { kind: string; ms: number; pushMs: number }[] = [];
for (let k = 0; k < CHANGES; k++) {
  // Alternate an endpoint change (EDS) and a route weight change (RDS).
  const kind = k % 2 === 0 ? 'endpoints' : 'routes';
  const start = performance.now();
  await store.apply([kind === 'endpoints' ? serviceEntry(k, per, k + 1) : virtualService(0, 10 + k)]);
  const v = cp.version;
  const end = await allAcked(v);
  latency.push({ kind, ms: end - start, pushMs: pushes.at(-1)?.ms ?? NaN });
}
const rssAfter = process.memoryUsage().rss;

// A full push: every proxy regenerated and re-sent (a new version of everything).
const fullStart = performance.now();
await store.apply(Array.from({ length: SERVICES }, (_, i) => serviceEntry(i, per, 100)));
await allAcked(cp.version);
const fullMs = performance.now() - fullStart;
const rssPeak = process.memoryUsage().rss;

child.stdin!.end();
await new Promise((r) => child.once('exit', r));
await cp.close();

const ms = latency.map((l) => l.ms);
const result = {
  services: SERVICES, endpoints: SERVICES * per, proxies: PROXIES, changes: CHANGES, debounceMs: DEBOUNCE,
  perProxy: { clusters: ready.eds, routeConfigs: ready.rds },
  initialBuildMs: Math.round(buildMs), connectAllMs: Math.round(connectMs),
  changeToAllAckedMs: { p50: Math.round(pct(ms, 50)), p99: Math.round(pct(ms, 99)), max: Math.round(Math.max(...ms)) },
  pushMs: { p50: Math.round(pct(latency.map((l) => l.pushMs), 50)) },
  fullPushToAllAckedMs: Math.round(fullMs),
  rssMB: { idle: mb(rssIdle), afterChanges: mb(rssAfter), afterFullPush: mb(rssPeak) },
  samples: latency.map((l) => ({ ...l, ms: Math.round(l.ms), pushMs: Math.round(l.pushMs) })),
};
if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else {
  const rows: [string, string][] = [
    ['mesh', `${result.services} services, ${result.endpoints} endpoints, ${result.proxies} proxies (${ready.eds} EDS clusters each)`],
    ['initial snapshot build', `${result.initialBuildMs} ms`],
    ['connect + initial sync of all proxies', `${result.connectAllMs} ms`],
    [`change -> all ACKed (p50 / p99, ${CHANGES} changes, debounce ${DEBOUNCE} ms)`, `${result.changeToAllAckedMs.p50} / ${result.changeToAllAckedMs.p99} ms`],
    ['push (generate+encode+send) p50', `${result.pushMs.p50} ms`],
    ['full push -> all ACKed', `${result.fullPushToAllAckedMs} ms`],
    ['control plane RSS idle / after changes / after full push', `${result.rssMB.idle} / ${result.rssMB.afterChanges} / ${result.rssMB.afterFullPush} MB`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
}
