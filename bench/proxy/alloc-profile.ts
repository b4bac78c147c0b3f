// bench/proxy: where the proxy allocates, per request — an engine with a static config (one listener -> the bench
// backend; the real router, no telemetry) in this process, loaded by h2load (h2c, or --h1) while V8's sampling heap profiler records every sampled
// allocation, including objects the GC has already collected. Prints bytes allocated per request by function.
// --promoted: count only allocations that outlived the young generation (survived scavenges: promoted to old space,
// which is what drives mark-compacts). Run with the proxy's young-generation cap for comparable figures:
// node --max-semi-space-size=4 --import tsx bench/proxy/alloc-profile.ts --promoted
// Usage: node --import tsx bench/proxy/alloc-profile.ts [--h1] [--promoted] [--body 1024] [--seconds 5] [--streams 10] [--top 30]
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { compileRouter } from '../../src/proxy/router/router.ts';
import { cluster, httpHandler, listener, routes, snapshot } from '../../test/proxy/engine-fixtures.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : dflt; };
const h1 = args.includes('--h1');
const promoted = args.includes('--promoted');
const body = Number(flag('body', '1024'));
const seconds = Number(flag('seconds', '5'));
const streams = Number(flag('streams', '10'));
const top = Number(flag('top', '30'));

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { callFrame: CallFrame; selfSize: number; children: ProfileNode[] }

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('error', (e) => reject(new Error(`${cmd}: ${e.message} (apt-get install nghttp2-client)`)));
    c.on('exit', () => resolve(out));
  });
}

const be = spawn(process.execPath, ['--import', 'tsx', 'bench/proxy/backend.ts', '0', String(body)], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const bePort = await new Promise<number>((resolve, reject) => {
    be.stdout!.on('data', (d: Buffer) => { const m = /ready (\d+)/.exec(d.toString()); if (m) resolve(Number(m[1])); });
    be.on('exit', () => reject(new Error('backend exited')));
  });
  const io = installFastPath('auto');
  const engine = new Engine({ compileRouter: (rc) => compileRouter(rc), io: io.io });
  await engine.apply(snapshot([listener('bench', httpHandler(routes('r', [{ prefix: '/', cluster: 'backend' }])))], [cluster('backend', [{ address: '127.0.0.1', port: bePort }])]));
  const url = `http://127.0.0.1:${engine.portOf('bench')}/`;
  const load = (s: number): Promise<string> => run('h2load', [...(h1 ? ['--h1'] : []), '-c', '50', '-m', String(h1 ? 1 : streams), '-t', '1', '-D', String(s), url]);
  await load(2); // warm-up: optimized code, pools, caches
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !promoted } as never);
  const out = await load(seconds);
  const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfileNode } };
  session.disconnect();
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1] ?? 0);
  if (!done) throw new Error(`h2load completed no request:\n${out}`);
  const byFn = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode): void => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    if (n.selfSize) { byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize); total += n.selfSize; }
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  process.stdout.write(`${h1 ? 'HTTP/1.1' : `h2c, ${streams} streams per connection`}, 50 connections, ${body} B bodies: ${done} requests, ~${Math.round(total / done)} bytes ${promoted ? 'promoted' : 'allocated'} per request (sampled)\n`);
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${String(Math.round(v / done)).padStart(7)} B/req  ${k}\n`);
  await engine.close();
} finally {
  be.kill();
}
