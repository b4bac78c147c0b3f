// bench/proxy: renders `npm run bench:proxy -- --json` output as the README's markdown table (h1 rows).
// Usage: node --import tsx bench/proxy/table.ts results.json
import { readFileSync } from 'node:fs';

interface Row {
  target: string; protocol: string; connections: number; bodyBytes: number; rps: number; p50ms: number; p99ms: number;
  cpuSecPer1k: number; rssMB: number; idleRssMB?: number; ratioRps?: number; ratioCpu?: number; addedP99ms?: number; nginxAddedP99ms?: number;
}

export function markdown(rows: Row[]): string {
  const out = [
    '| target | conns | body | req/s | p50 ms | p99 ms | CPU s / 1k req | RSS MB (idle) | req/s vs nginx | CPU eff. vs nginx | added p99 vs nginx |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const f = (x: number | undefined, d = 2): string => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(d));
  for (const r of rows.filter((x) => x.protocol === 'h1')) {
    const added = r.addedP99ms !== undefined ? `${f(r.addedP99ms)} vs ${f(r.nginxAddedP99ms)} ms` : '';
    const rss = `${f(r.rssMB, 0)}${r.idleRssMB !== undefined ? ` (${f(r.idleRssMB, 0)})` : ''}`;
    out.push(`| ${r.target} | ${r.connections} | ${r.bodyBytes >= 1024 ? `${r.bodyBytes / 1024} KB` : `${r.bodyBytes} B`} | ${f(r.rps, 0)} | ${f(r.p50ms)} | ${f(r.p99ms)} | ${f(r.cpuSecPer1k, 3)} | ${rss} | ${r.ratioRps !== undefined ? f(r.ratioRps) + 'x' : ''} | ${r.ratioCpu !== undefined ? f(r.ratioCpu) + 'x' : ''} | ${added} |`);
  }
  return out.join('\n') + '\n';
}

if (process.argv[1]?.endsWith('table.ts')) {
  const file = process.argv[2];
  if (!file) { process.stderr.write('usage: table.ts results.json\n'); process.exit(2); }
  process.stdout.write(markdown((JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows));
}
