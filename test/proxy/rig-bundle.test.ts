// test/proxy: `rig proxy` runs both from the esbuild bundle (scripts/build.mjs) and through tsx, and bin/rig.js
// never runs a bundle older than the sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, existsSync } from 'node:fs';
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
