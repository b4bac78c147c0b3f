// bench/proxy: summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench:proxy -- --targets one
// --node-options "--cpu-prof --cpu-prof-dir=DIR"`): self time by function and by file, highest first.
// Usage: node --import tsx bench/proxy/cpuprofile.ts FILE.cpuprofile [TOP=25]
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Cost { name: string; selfMs: number; pct: number }

/** Self time per function (name + file:line) and per file, from a profile's samples. */
export function summarise(p: Profile): { byFunction: Cost[]; byFile: Cost[]; totalMs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const short = cf.url.replace(/^file:\/\/.*?\/(src|node_modules|dist)\//, '$1/').replace(/^node:/, 'node:');
    const key = `${cf.functionName || '(anonymous)'} ${short ? `${short}:${cf.lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const f = short || cf.functionName;
    file.set(f, (file.get(f) ?? 0) + us);
    total += us;
  }
  const list = (m: Map<string, number>): Cost[] => [...m].map(([name, us]) => ({ name, selfMs: us / 1000, pct: (100 * us) / total })).sort((a, b) => b.selfMs - a.selfMs);
  return { byFunction: list(fn), byFile: list(file), totalMs: total / 1000 };
}

if (process.argv[1]?.endsWith('cpuprofile.ts')) {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 25);
  if (!file) { process.stderr.write('usage: cpuprofile.ts FILE.cpuprofile [TOP]\n'); process.exit(2); }
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const show = (title: string, c: Cost[]): void => {
    process.stdout.write(`${title} (total ${s.totalMs.toFixed(0)} ms)\n`);
    for (const x of c.slice(0, top)) process.stdout.write(`${x.pct.toFixed(1).padStart(5)}%  ${x.selfMs.toFixed(0).padStart(6)} ms  ${x.name}\n`);
  };
  show('self time by function', s.byFunction);
  show('\nself time by file', s.byFile);
}
