// test/helpers: start `node bin/rig.js ...` as a child process the way a user would, read its output
// line by line, wait (bounded) for a line, and stop it (SIGTERM, then SIGKILL) — every test cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const rigBin = join(repoRoot, 'bin', 'rig.js');

export interface RigProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout/stderr line matching (already seen or later); rejects after ms. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (or the given signal), wait for exit; SIGKILL after ms. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export function startRig(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RigProcess {
  const child = spawn(process.execPath, [rigBin, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers = new Set<() => void>();
  const feed = (into: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      into.push(...lines);
      for (const w of watchers) w();
    };
  };
  child.stdout!.on('data', feed(stdout));
  child.stderr!.on('data', feed(stderr));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { for (const w of watchers) w(); resolve(code); }));
  const find = (re: RegExp) => {
    for (const l of [...stdout, ...stderr]) { const m = l.match(re); if (m) return m; }
    return undefined;
  };
  return {
    child, stdout, stderr, exited,
    waitFor(re, ms = 15000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = find(re);
          if (m) { done(); resolve(m); } else if (child.exitCode !== null) { done(); reject(new Error(`rig exited (${child.exitCode}) before printing ${re}\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`)); }
        };
        const t = setTimeout(() => { done(); reject(new Error(`timed out after ${ms} ms waiting for ${re}\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.slice(-30).join('\n')}`)); }, ms);
        const done = () => { clearTimeout(t); watchers.delete(check); };
        watchers.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', ms = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Prints the last `lines` lines rig printed (stdout, then stderr) to stderr: the first thing to read when a test fails. */
export function printTail(p: RigProcess, lines = 80): void {
  console.error(`--- rig output (last ${lines} lines) ---\n${[...p.stdout, ...p.stderr].slice(-lines).join('\n')}`);
}

/** Run `rig ARGS` to completion (bounded) and collect its output. */
export async function runRig(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startRig(args, opts);
  const t = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
  const code = await p.exited;
  clearTimeout(t);
  // Give the pipes a moment to drain.
  await new Promise((r) => setImmediate(r));
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}

/** `rig apply -f FILE --server API`, asserting it succeeded (the failure names the file and rig's stderr). */
export async function rigApply(api: string, file: string): Promise<void> {
  const r = await runRig(['apply', '-f', file, '--server', api]);
  assert.equal(r.code, 0, `rig apply -f ${file}: ${r.stderr}`);
}

/** `rig up` flags that let the OS pick every port it listens on (ingress, control plane, debug). */
export const RIG_UP_ANY_PORTS = ['--ingress-port', '0', '--control-plane-port', '0', '--debug-port', '0'];

/** Waits (bounded by readyMs) for `rig up` to report ready, then returns the ingress and mesh API URLs it printed. */
export async function rigUpAddresses(up: RigProcess, readyMs: number): Promise<{ ingress: string; api: string }> {
  await up.waitFor(/ready\. Try:/, readyMs);
  const ingress = (await up.waitFor(/ingress\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const api = (await up.waitFor(/mesh API\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  return { ingress, api };
}

/** Poll fn until it returns a truthy value; bounded by ms. */
export async function poll<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 10000, everyMs = 100): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
