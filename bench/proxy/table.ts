// bench/proxy: renders `npm run bench:proxy -- --json` output as the README's markdown table (h1 and h2 rows).
// Usage: node --import tsx bench/proxy/table.ts results.json
import { readFileSync } from 'node:fs';

interface Row {
  target: string; protocol: string; connections: number; bodyBytes: number; rps: number; p50ms: number; p99ms: number;
  cpuSecPer1k: number; rssMB: number; idleRssMB?: number; instrUserPerReq?: number; instrKernelPerReq?: number;
  ratioRps?: number; ratioCpu?: number; addedP99ms?: number; nginxAddedP99ms?: number;
  pairRatioRps?: number; pairRatioCpu?: number; pairAddedP99ms?: number;
}

export function markdown(rows: Row[]): string {
  const out = [
    '| target | proto | conns | body | req/s | p50 ms | p99 ms | CPU s / 1k req | instr / req (user + kernel) | RSS MB (idle) | req/s vs nginx | CPU eff. vs nginx | added p99 vs nginx | req/s vs nginx pair | CPU eff. vs nginx pair | added p99 vs nginx pair |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const f = (x: number | undefined, d = 2): string => (x === undefined || x === null || Number.isNaN(x) ? '' : x.toFixed(d));
  const ratio = (x: number | undefined): string => (x === undefined || x === null ? '' : f(x) + 'x');
  const k = (x: number | undefined): string => (x === undefined || x === null ? '?' : `${Math.round(x / 1000)}k`);
  for (const r of rows) {
    const added = r.addedP99ms !== undefined ? `${f(r.addedP99ms)} vs ${f(r.nginxAddedP99ms)} ms` : '';
    const pairAdded = r.pairAddedP99ms !== undefined ? `${f(r.addedP99ms)} vs ${f(r.pairAddedP99ms)} ms` : '';
    const rss = `${f(r.rssMB, 0)}${r.idleRssMB !== undefined ? ` (${f(r.idleRssMB, 0)})` : ''}`;
    const instr = r.instrUserPerReq !== undefined || r.instrKernelPerReq !== undefined ? `${k(r.instrUserPerReq)} + ${k(r.instrKernelPerReq)}` : '';
    // h2load reports a mean, no percentiles: shown in the p50 column, marked.
    const p50 = r.protocol === 'h2' ? `${f(r.p50ms)} (mean)` : f(r.p50ms);
    const body = r.bodyBytes >= 1024 ? `${r.bodyBytes / 1024} KB` : `${r.bodyBytes} B`;
    out.push(`| ${r.target} | ${r.protocol} | ${r.connections} | ${body} | ${f(r.rps, 0)} | ${p50} | ${f(r.p99ms)} | ${f(r.cpuSecPer1k, 3)} | ${instr} | ${rss} | ${ratio(r.ratioRps)} | ${ratio(r.ratioCpu)} | ${added} | ${ratio(r.pairRatioRps)} | ${ratio(r.pairRatioCpu)} | ${pairAdded} |`);
  }
  return out.join('\n') + '\n';
}

if (process.argv[1]?.endsWith('table.ts')) {
  const file = process.argv[2];
  if (!file) { process.stderr.write('usage: table.ts results.json\n'); process.exit(2); }
  process.stdout.write(markdown((JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows));
}
