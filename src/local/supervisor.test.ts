// local: tests for the process supervisor on real child processes — log prefixes, restart with backoff after a
// crash, and stop() leaving no process of the group behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Supervisor } from './supervisor.ts';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const until = async (fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) { if (Date.now() > end) throw new Error('condition not met'); await new Promise((r) => setTimeout(r, 25)); }
};

test('prefixes each output line with the process name', async () => {
  const lines: string[] = [];
  const s = new Supervisor({ log: (l) => lines.push(l) });
  await s.start({ name: 'echoer', command: [process.execPath, '-e', 'console.log("hello"); console.error("oops"); setInterval(() => {}, 1000)'] });
  await until(() => lines.length >= 2);
  assert.ok(lines.some((l) => /^echoer\s+\| hello$/.test(l)));
  assert.ok(lines.some((l) => /^echoer\s+\| oops$/.test(l)));
  await s.stopAll();
});

test('restarts a crashed process with growing backoff', async () => {
  const lines: string[] = [];
  const s = new Supervisor({ log: (l) => lines.push(l), backoffBaseMs: 50 });
  const p = await s.start({ name: 'crasher', command: [process.execPath, '-e', 'setTimeout(() => process.exit(3), 50)'] });
  await until(() => p.restarts >= 2);
  const delays = lines.filter((l) => l.includes('restarting in')).map((l) => Number(/restarting in (\d+) ms/.exec(l)![1]));
  assert.deepEqual(delays.slice(0, 2), [50, 100]);
  assert.ok(lines.some((l) => /exited \(code 3\)/.test(l)));
  await s.stopAll();
  assert.equal(p.state, 'stopped');
});

test('stop() ends the whole process group, grandchildren included', async () => {
  const s = new Supervisor({ log: () => {} });
  // the child starts a grandchild that ignores SIGTERM, and prints its pid
  const script = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log('grandchild ' + g.pid);
    setInterval(() => {}, 1000);`;
  const lines: string[] = [];
  const s2 = new Supervisor({ log: (l) => lines.push(l) });
  const p = await s2.start({ name: 'parent', command: [process.execPath, '-e', script] });
  await until(() => lines.some((l) => l.includes('grandchild')));
  const gpid = Number(/grandchild (\d+)/.exec(lines.find((l) => l.includes('grandchild'))!)![1]);
  const pid = p.pid!;
  assert.ok(alive(pid) && alive(gpid));
  await s2.stopAll(500);
  await until(() => !alive(pid) && !alive(gpid), 5000);
  await s.stopAll();
});

test('a command that does not exist rejects start() and is not restarted', async () => {
  const s = new Supervisor({ log: () => {} });
  await assert.rejects(s.start({ name: 'nope', command: ['rig-no-such-command-xyz'] }), /ENOENT/);
  assert.equal(s.get('nope')?.state, 'failed');
  await s.stopAll();
});
