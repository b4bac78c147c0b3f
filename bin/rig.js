#!/usr/bin/env node
// rig: the Rigging command line. `rig proxy` runs from the esbuild bundle dist/rig-proxy.mjs (scripts/build.mjs)
// when it exists and is newer than every source file: no tsx loader thread, ~35 MB less RSS per proxy. Everything
// else, and a missing or stale bundle, loads the TypeScript sources through tsx (no build step).
// RIG_NO_BUNDLE=1 forces tsx; RIG_BUNDLE=FILE uses another bundle (tests), still only while it is fresh.
import { statSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = process.env.RIG_BUNDLE || join(root, 'dist', 'rig-proxy.mjs');

/** Newest mtime (ms) of the files the bundle is built from; stops early once one is newer than `limit`. */
function newestSource(dir, limit) {
  let newest = 0;
  let names;
  try { names = readdirSync(dir, { withFileTypes: true }); } catch { return 0; }
  for (const d of names) {
    const p = join(dir, d.name);
    const t = d.isDirectory() ? newestSource(p, limit) : d.name.endsWith('.ts') ? statSync(p).mtimeMs : 0;
    if (t > newest) newest = t;
    if (newest > limit) break;
  }
  return newest;
}

function bundleUsable() {
  if (process.env.RIG_NO_BUNDLE === '1') return false;
  let built;
  try { built = statSync(bundle).mtimeMs; } catch { return false; }
  return newestSource(join(root, 'src'), built) <= built && statSync(join(root, 'package.json')).mtimeMs <= built;
}

const useBundle = process.argv[2] === 'proxy' && bundleUsable();
// Benchmarks and tests ask which path ran.
if (process.env.RIG_LOG_RUNTIME === '1') process.stderr.write(`rig: runtime ${useBundle ? 'bundle' : 'tsx'}\n`);
if (useBundle) {
  process.env.RIG_RUNTIME = 'bundle';
  const { main } = await import(pathToFileURL(bundle).href);
  await main(process.argv);
} else {
  process.env.RIG_RUNTIME = 'tsx';
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv);
}
