// test/proxy: `rig proxy` runs both from the esbuild bundle (scripts/build.mjs) and through tsx, and bin/rig.js
// never runs a bundle older than the sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rig = join(root, 'bin', 'rig.js');
mkdirSync(join(root, 'dist'), { recursive: true });
// Inside the repository (dist/ is gitignored) so the bundle resolves npm packages from node_modules.
const dir = mkdtempSync(join(root, 'dist', 'test-'));
const bundle = join(dir, 'rig-proxy.mjs');

function run(args: string[], env: Record<string, string>): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [rig, ...args], { cwd: root, encoding: 'utf8', timeout: 15000, env: { ...process.env, RIG_LOG_RUNTIME: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('scripts/build.mjs bundles the proxy command', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outfile', bundle], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(bundle));
});

test('rig proxy --help through the bundle', () => {
  const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /runtime bundle/);
  assert.match(r.out, /Usage: rig proxy/);
  assert.match(r.out, /--xds-address/);
});

test('the bundle keeps the CLI exit codes: a bad flag value is a usage error (2)', () => {
  const r = run(['proxy', '--io', 'fast'], { RIG_BUNDLE: bundle });
  assert.match(r.err, /runtime bundle/);
  assert.equal(r.code, 2);
  assert.match(r.err, /--io: expected auto, internal or documented/);
});

test('rig proxy --help through tsx (RIG_NO_BUNDLE=1)', () => {
  const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle, RIG_NO_BUNDLE: '1' });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /runtime tsx/);
  assert.match(r.out, /Usage: rig proxy/);
});

const stampFile = join(dir, 'rig-proxy.inputs.json');
interface Stamp { bundle: { size: number; mtimeMs: number }; inputs: string[] }
const readStamp = (): Stamp => JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp;

test('the build stamp lists the bundled sources (no tests, no control plane) and describes this bundle', () => {
  const s = readStamp();
  assert.ok(s.inputs.includes('src/proxy/main.ts'));
  assert.ok(s.inputs.includes('src/cli/commands/proxy.ts'));
  assert.ok(s.inputs.every((f) => f.startsWith('src/') && !f.endsWith('.test.ts')), s.inputs.join(' '));
  assert.ok(!s.inputs.some((f) => f.startsWith('src/control-plane/')));
  const st = statSync(bundle);
  assert.deepEqual(s.bundle, { size: st.size, mtimeMs: st.mtimeMs });
});

// The stamp's inputs are data: a stamp naming an extra file in the test directory checks rig.js against that file's
// mtime without touching the real sources other engineers edit. Each case restores the stamp the build wrote.
function withExtraInput(mtimeSec: number | undefined, f: () => void): void {
  const orig = readFileSync(stampFile, 'utf8');
  const extra = join(dir, 'extra.ts');
  try {
    if (mtimeSec !== undefined) { writeFileSync(extra, '// test input\n'); utimesSync(extra, mtimeSec, mtimeSec); }
    const s = readStamp();
    s.inputs.push(extra.slice(root.length + 1));
    writeFileSync(stampFile, JSON.stringify(s));
    f();
  } finally {
    writeFileSync(stampFile, orig);
    rmSync(extra, { force: true });
  }
}

test('a bundled source file newer than the bundle sends rig proxy to tsx', () => {
  const builtSec = statSync(bundle).mtimeMs / 1000;
  withExtraInput(builtSec + 60, () => {
    const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /runtime tsx/);
  });
  // The same stamp with that file older than the bundle: the bundle runs (so it was the file's mtime that decided).
  withExtraInput(builtSec - 60, () => {
    const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /runtime bundle/);
  });
});

test('a bundled source file that no longer exists makes the bundle stale', () => {
  withExtraInput(undefined, () => {
    const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /runtime tsx/);
  });
});

// Also covers a stamp that does not describe the bundle (its mtime changed): rig.js falls back to checking all of src/.
test('a bundle older than the sources is not used', () => {
  utimesSync(bundle, new Date(1000), new Date(1000));
  const r = run(['proxy', '--help'], { RIG_BUNDLE: bundle });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /runtime tsx/);
  assert.match(r.out, /Usage: rig proxy/);
});

test('other commands always run through tsx', () => {
  const r = run(['--help'], { RIG_BUNDLE: bundle });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /runtime tsx/);
  assert.match(r.out, /proxy/);
});
