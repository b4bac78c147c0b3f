// test/proxy: SIGTERM drain end to end — a proxy child process under load stops accepting, finishes every
// in-flight request and exits; no request that reached it is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { backend } from './engine-fixtures.ts';

const script = fileURLToPath(new URL('../../bench/proxy/static-proxy.ts', import.meta.url));

test('SIGTERM under load: in-flight requests complete, then the process exits 0', async () => {
  const be = await backend((req, res) => setTimeout(() => res.end(`ok ${req.url}`), 30));
  const child = spawn(process.execPath, ['--import', 'tsx', script, '0', String(be.port), '3000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`proxy did not start: ${out}`)), 10_000);
      child.stdout.on('data', (b) => { out += b; const m = /ready (\d+)/.exec(out); if (m) { clearTimeout(t); resolve(Number(m[1])); } });
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    let ok = 0, refused = 0, sentAfterTerm = 0;
    const failures: string[] = [];
    let stop = false;
    let termAt = 0;
    const one = (i: number): Promise<void> => new Promise((resolve) => {
      const r = request({ host: '127.0.0.1', port, path: `/r${i}`, agent }, (res) => {
        let b = '';
        res.on('data', (c) => { b += c; });
        res.on('end', () => { if (res.statusCode === 200 && b === `ok /r${i}`) ok++; else failures.push(`${res.statusCode} ${b}`); resolve(); });
        res.on('error', (e) => { failures.push(`response error ${e.message}`); resolve(); });
      });
      r.on('error', (e: NodeJS.ErrnoException) => {
        // Refused = the request never reached the proxy (listener closed): not lost, the client may retry elsewhere.
        if (e.code === 'ECONNREFUSED') { refused++; stop = true; } else failures.push(`${e.code ?? e.message}`);
        resolve();
      });
      if (termAt) sentAfterTerm++;
      r.end();
    });
    const workers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 400 && !stop; i++) await one(w * 1000 + i);
    });
    await new Promise((r) => setTimeout(r, 400));
    termAt = Date.now();
    child.kill('SIGTERM');
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await Promise.all(workers);
    agent.destroy();
    const code = await exit;
    assert.deepEqual(failures, [], 'no request lost or reset');
    assert.ok(ok > 50, `served ${ok} requests`);
    assert.equal(code, 0);
    assert.ok(refused >= 1 || sentAfterTerm === 0, 'after draining, new connections are refused');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await be.close();
  }
});
