// Lint: holds the architecture's lines — which stage may import which (ARCHITECTURE.md), every source
// file opening with a comment that says what it is for, and no absolute machine paths in the tree.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

const allowed = {
  common: [],
  envoy: ['common'],
  config: ['common'],
  model: ['common', 'config', 'registry'],
  registry: ['common', 'config', 'model'],
  ca: ['common', 'config', 'model', 'envoy'],
  xds: ['common', 'envoy', 'config', 'model', 'registry', 'ca'],
  proxy: ['common', 'envoy'],
  'control-plane': ['common', 'envoy', 'config', 'model', 'registry', 'ca', 'xds'],
  local: ['common', 'envoy', 'config', 'model', 'registry', 'ca', 'xds', 'control-plane', 'proxy'],
  cli: ['common', 'envoy', 'config', 'model', 'registry', 'ca', 'xds', 'control-plane', 'proxy', 'local'],
};

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names) {
    if (n === 'node_modules' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mjs|js)$/.test(n)) out.push(p);
  }
  return out;
}

const problems = [];
const stageOf = (file) => {
  const rel = relative('src', file).split(sep);
  return rel.length > 1 ? rel[0] : undefined;
};
const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const files = [...walk('src', []), ...walk('test', []), ...walk('bench', []), ...walk('scripts', []), ...walk('examples', []), ...walk('bin', [])];
const machinePath = new RegExp(['/wo' + 'rk/', '/ro' + 'ot/', '/ho' + 'me/'].join('|'));
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#!'));
  if (!first || !(first.startsWith('//') || first.startsWith('/*'))) problems.push(`${f}:1: file must open with a comment saying what it is for`);
  const m = machinePath.exec(text);
  if (m) problems.push(`${f}: absolute machine path "${m[0]}..." — name files by their path in the repo`);
  if (!f.startsWith('src' + sep)) continue;
  const from = stageOf(f);
  if (!from) continue;
  const ok = allowed[from];
  if (!ok) { problems.push(`${f}: folder src/${from} is not a known stage (add it to scripts/lint-deps.mjs and ARCHITECTURE.md)`); continue; }
  for (const mm of text.matchAll(importRe)) {
    const spec = mm[1] ?? mm[2];
    if (!spec || !spec.startsWith('.')) continue;
    const target = resolve(dirname(f), spec);
    const to = stageOf(relative(process.cwd(), target));
    if (!to || to === from) continue;
    if (!ok.includes(to)) problems.push(`${f}: src/${from} must not import src/${to} (${spec}); see ARCHITECTURE.md`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`lint: ${files.length} files ok`);
