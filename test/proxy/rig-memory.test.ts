// test/proxy: what keeps `rig proxy`'s memory down — bin/rig.js's young-generation cap (without V8 flags on the
// command line), and the pre-built Envoy descriptor being used by the bundle, with the .proto fallback when asked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, rigBin, startRig } from '../helpers/processes.ts';

/**
 * A child node that allocates in small rounds between event-loop turns (as a proxy does per batch of I/O), with
 * objects surviving a while (as requests in flight do), and prints new_space's size. GC observers are called a turn or
 * two after a scavenge, so one long synchronous run can still grow past the cap: the cap holds for I/O-sized runs.
 */
function youngGen(setup: string): { sizeMb: number; out: string } {
  const code = `
    import v8 from 'node:v8';
    const { capYoungGeneration } = await import(${JSON.stringify(pathToFileURL(rigBin).href)});
    ${setup}
    let keep = [];
    for (let round = 0; round < 500; round++) {
      for (let i = 0; i < 5000; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 60000) keep = []; }
      await new Promise((r) => setTimeout(r, 0));
    }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write('new_space ' + ns.space_size / 1048576 + '\\n');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /new_space ([\d.]+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { sizeMb: Number(m[1]), out: r.stdout };
}

test('without the cap the young generation grows past 4 MB under this allocation pattern (the control)', () => {
  assert.ok(youngGen('').sizeMb > 4, 'V8 grows new space when much survives a scavenge');
});

test('capYoungGeneration(2) keeps the young generation at 2 x 2 MB, set from inside the process', () => {
  const { sizeMb } = youngGen('capYoungGeneration(2, 0);');
  assert.ok(sizeMb <= 4, `new_space ${sizeMb} MB`);
  assert.ok(sizeMb >= 2, `new_space ${sizeMb} MB: growth below the cap is still allowed`);
});

test('before the proxy is configured (or the grace time passes) the young generation does not grow at all', () => {
  const held = youngGen('capYoungGeneration(4, 60000);').sizeMb;
  assert.ok(held <= 2, `new_space ${held} MB`);
  // Once the proxy says it is configured, growth resumes up to the cap.
  const { sizeMb } = youngGen("capYoungGeneration(4, 60000); process.emit('rig:proxy-configured');");
  assert.ok(sizeMb > held && sizeMb <= 8, `new_space ${sizeMb} MB`);
});

mkdirSync(join(repoRoot, 'dist'), { recursive: true });
const dir = mkdtempSync(join(repoRoot, 'dist', 'test-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, 'rig-proxy.mjs');

async function serverInfo(env: Record<string, string>): Promise<Record<string, unknown>> {
  // No control plane: the proxy starts, serves admin, and keeps retrying xDS; enough to read /server_info.
  const p = startRig(['proxy', '--xds-address', '127.0.0.1:1', '--admin-port', '0', '--metrics-port', '0', '--node-id', 'sidecar~127.0.0.2~m.default~default.svc.cluster.local'],
    { env: { RIG_LOG_LEVEL: 'error', RIG_LOG_RUNTIME: '1', RIG_BUNDLE: bundle, ...env } });
  try {
    const port = (await p.waitFor(/admin on 127\.0\.0\.1:(\d+)/, 15000))[1];
    return await (await fetch(`http://127.0.0.1:${port}/server_info`)).json() as Record<string, unknown>;
  } finally {
    await p.stop();
  }
}

test('scripts/build.mjs writes the descriptor beside the bundle; rig proxy uses it, or parses the protos when told', async () => {
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--outfile', bundle], { encoding: 'utf8', timeout: 30000 });
  assert.equal(b.status, 0, b.stderr);
  assert.ok(existsSync(join(dir, 'envoy-proxy-types.json')));
  const withDescriptor = await serverInfo({});
  assert.equal(withDescriptor.proto_descriptor, join(dir, 'envoy-proxy-types.json'));
  assert.ok((withDescriptor.heap_spaces as Record<string, number>).new_space > 0);
  const without = await serverInfo({ RIG_PROTO_DESCRIPTOR: 'none' });
  assert.match(String(without.proto_descriptor), /^none/);
});
