#!/usr/bin/env node
// rig: the Rigging command line. `rig proxy` runs from the esbuild bundle dist/rig-proxy.mjs (scripts/build.mjs)
// when it exists and is newer than every source file it was built from: no tsx loader thread, ~35 MB less RSS per
// proxy. Everything else, and a missing or stale bundle, loads the TypeScript sources through tsx (no build step).
// RIG_NO_BUNDLE=1 forces tsx; RIG_BUNDLE=FILE uses another bundle (tests), still only while it is fresh.
// `rig proxy` also caps V8's young generation and old-generation growth itself (capYoungGeneration, capHeapGrowth),
// so every launcher gets them.
import { statSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = process.env.RIG_BUNDLE || join(root, 'dist', 'rig-proxy.mjs');

/** Newest mtime (ms) of the .ts files under `dir`; stops early once one is newer than `limit`. */
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

/**
 * The source files (relative to the repository) the bundle was built from, from the stamp scripts/build.mjs writes
 * beside it (rig-proxy.inputs.json: esbuild's list of bundled inputs, and the size and mtime of the bundle it
 * describes). undefined when there is no stamp or it describes another build of the bundle.
 */
function stampedInputs(bundleStat) {
  try {
    const s = JSON.parse(readFileSync(bundle.replace(/\.mjs$/, '') + '.inputs.json', 'utf8'));
    if (s.bundle?.size !== bundleStat.size || s.bundle?.mtimeMs !== bundleStat.mtimeMs || !Array.isArray(s.inputs)) return undefined;
    return s.inputs;
  } catch { return undefined; }
}

/**
 * Whether the bundle is at least as new as what it was built from. Only the bundle's own inputs are stat'ed (~110
 * files, not all ~350 under src/ and their 40 directories): an edit to a bundled file changes that file's mtime; a
 * new file only reaches the bundle through an import added to a bundled file; a deleted or renamed one is missing.
 * Without a matching stamp, every .ts file under src/ is checked as before.
 */
function bundleUsable() {
  if (process.env.RIG_NO_BUNDLE === '1') return false;
  let st;
  try { st = statSync(bundle); } catch { return false; }
  const built = st.mtimeMs;
  if (statSync(join(root, 'package.json')).mtimeMs > built) return false;
  const inputs = stampedInputs(st);
  if (!inputs) return newestSource(join(root, 'src'), built) <= built;
  for (const f of inputs) if ((statSync(join(root, f), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > built) return false;
  return true;
}

/** The share of time in scavenges (over the last second) above which the young generation may grow to its burst cap. */
const BURST_DUTY = 0.08;

/**
 * Keep V8's young generation at most `semiMb` MB per semi-space, as `node --max-semi-space-size=N` would, from inside
 * the process. That flag is only read when the heap is created (setting it later does nothing), but the growth
 * factor is read on every growth: 1 (no growth) while starting, then, checked after each scavenge, 2 (V8's default)
 * while the young generation is below the cap and 1 once it reaches it. Unbounded, a busy proxy's young generation
 * grows to 2 x 16 MB and stays there (~20 MB more RSS than at 4 MB). Growth waits until the proxy has applied its
 * first config (it emits 'rig:proxy-configured' on `process`) or `graceMs`: start-up decodes protos and config in long
 * synchronous runs that scavenge many times before any check can run (and so grew the young generation to 16 MB in
 * one start of two); under load the checks keep up.
 *
 * `burstMb` (0: none): the cap rises to it while scavenges take more than BURST_DUTY of the time (over the last
 * second). That happens when much of what is allocated outlives a small young generation — HTTP/2 with hundreds of
 * streams in flight, whose state is copied at every scavenge and then promoted — and a larger one then pays for its
 * memory in CPU; HTTP/1.1 load stays far below (measured: 1.5-3.4% against 15% for h2load's 500 streams in flight).
 * Returns a function that stops it.
 */
export function capYoungGeneration(semiMb, graceMs = 30_000, burstMb = 0) {
  const base = semiMb * 2 * 1048576; // new_space's size counts both semi-spaces
  const burst = Math.max(base, burstMb * 2 * 1048576);
  let cap = base;
  let growing = true;
  // minor GCs of the last second: [start ms, duration ms] pairs
  const recent = [];
  let busy = 0;
  const setGrowth = (grow) => {
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  const check = () => {
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    setGrowth(!ns || ns.space_size < cap);
  };
  const obs = new PerformanceObserver((list) => {
    let minor = false;
    for (const e of list.getEntries()) {
      if (e.detail?.kind !== perfConstants.NODE_PERFORMANCE_GC_MINOR) continue;
      minor = true;
      if (burst === base) continue;
      recent.push(e.startTime, e.duration);
      busy += e.duration;
      const since = e.startTime + e.duration - 1000;
      while (recent.length > 2 && recent[0] < since) { busy -= recent[1]; recent.splice(0, 2); }
    }
    if (!minor) return;
    if (burst !== base) cap = busy > BURST_DUTY * 1000 ? burst : base;
    check();
  });
  setGrowth(false);
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    clearTimeout(timer);
    process.removeListener('rig:proxy-configured', start);
    obs.observe({ entryTypes: ['gc'] });
    check();
  };
  const timer = graceMs > 0 ? setTimeout(start, graceMs).unref() : undefined;
  if (graceMs > 0) process.once('rig:proxy-configured', start); else start();
  return () => { started = true; clearTimeout(timer); process.removeListener('rig:proxy-configured', start); obs.disconnect(); };
}

/**
 * The burst cap for `rig proxy`: RIG_PROXY_SEMI_SPACE_BURST_MB (default 16, V8's own maximum; 0 = never above
 * RIG_PROXY_SEMI_SPACE_MB).
 */
function proxySemiSpaceBurstMb() {
  const mb = Number(process.env.RIG_PROXY_SEMI_SPACE_BURST_MB ?? 16);
  return Number.isFinite(mb) && mb > 0 ? mb : 0;
}

/** The cap for `rig proxy`: RIG_PROXY_SEMI_SPACE_MB (default 4, 0 = V8's default); an explicit V8 flag wins. */
function proxySemiSpaceMb() {
  if (/semi[-_]space/.test(v8FlagsGiven())) return 0;
  const mb = Number(process.env.RIG_PROXY_SEMI_SPACE_MB ?? 4);
  return Number.isFinite(mb) && mb > 0 ? mb : 0;
}

function v8FlagsGiven() {
  return `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
}

/**
 * Let the old generation grow to (100 + percent)% of what the last full GC left alive before the next one (V8's
 * --heap-growing-percent, read at every limit computation, so setting it after start works). V8's own factor is up to
 * 4x on a machine with memory to spare: under load a proxy promotes the requests in flight at each scavenge (~0.3 MB/s
 * at 200 connections), all garbage soon after, and with ~13 MB alive no full GC came in a minute while old space grew
 * 15 -> 26.5 MB (and on towards ~50); at 20% it levels off at ~21-23 MB, one full GC every ~30 s of such load.
 */
export function capHeapGrowth(percent) {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** The growth for `rig proxy`: RIG_PROXY_HEAP_GROWING_PERCENT (default 20, 0 = V8's default); an explicit V8 flag wins. */
function proxyHeapGrowingPercent() {
  if (/heap[-_]growing/.test(v8FlagsGiven())) return 0;
  const p = Number(process.env.RIG_PROXY_HEAP_GROWING_PERCENT ?? 20);
  return Number.isInteger(p) && p > 0 ? p : 0;
}

function isEntry() {
  try { return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; }
}

// Imported (tests use capYoungGeneration), this file runs nothing.
if (isEntry()) await run();

async function run() {
  const proxy = process.argv[2] === 'proxy';
  if (proxy && proxySemiSpaceMb() > 0) capYoungGeneration(proxySemiSpaceMb(), 30_000, proxySemiSpaceBurstMb());
  if (proxy && proxyHeapGrowingPercent() > 0) capHeapGrowth(proxyHeapGrowingPercent());
  const useBundle = proxy && bundleUsable();
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
}
