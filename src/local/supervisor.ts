// local: runs the processes of a local mesh — prefixes their logs, restarts a crashed one with backoff, and stops
// each by its pid (its whole process group), so Ctrl-C leaves no orphan behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { realClock } from '../common/clock.ts';

export interface ProcessSpec {
  name: string; // log prefix, e.g. "reviews-v1" or "reviews-v1/sidecar"
  command: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Restart when it exits unexpectedly. Default true. */
  restart?: boolean;
}

export interface Supervised {
  spec: ProcessSpec;
  child?: ChildProcess;
  pid?: number;
  restarts: number;
  state: 'starting' | 'running' | 'backoff' | 'stopped' | 'failed';
  lastExit?: { code: number | null; signal: NodeJS.Signals | null };
  lastError?: string;
}

export interface SupervisorOptions {
  clock?: Clock;
  /** Where prefixed log lines go. */
  log?: (line: string) => void;
  backoffBaseMs?: number; // first restart delay (default 500 ms), doubled per restart up to backoffMaxMs
  backoffMaxMs?: number; // default 10 s
  /** A process that ran this long is considered healthy again and its backoff resets (default 30 s). */
  resetAfterMs?: number;
  onExit?: (p: Supervised) => void;
}

const COLORS = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94];

export class Supervisor {
  private readonly procs = new Map<string, Supervised>();
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly timers = new Map<string, TimerHandle>();
  private stopping = false;
  private colorIndex = 0;
  private readonly colors = new Map<string, number>();

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? ((l) => process.stdout.write(l + '\n'));
  }

  list(): Supervised[] { return [...this.procs.values()]; }
  get(name: string): Supervised | undefined { return this.procs.get(name); }

  /** Starts a process; resolves once it has spawned, rejects if the command cannot be run at all. */
  start(spec: ProcessSpec): Promise<Supervised> {
    const s: Supervised = { spec, restarts: 0, state: 'starting' };
    this.procs.set(spec.name, s);
    this.colors.set(spec.name, COLORS[this.colorIndex++ % COLORS.length]);
    return this.launch(s);
  }

  private prefix(name: string): string {
    const c = this.colors.get(name) ?? 37;
    return process.stdout.isTTY ? `\x1b[${c}m${name.padEnd(22)}|\x1b[0m ` : `${name.padEnd(22)}| `;
  }

  private launch(s: Supervised): Promise<Supervised> {
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = s.spec.command;
      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { env: s.spec.env ?? process.env, cwd: s.spec.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      } catch (e) {
        s.state = 'failed';
        s.lastError = (e as Error).message;
        reject(e);
        return;
      }
      const startedAt = this.clock.now();
      s.child = child;
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        s.pid = child.pid;
        s.state = 'running';
        resolve(s);
      });
      child.once('error', (e) => {
        s.lastError = e.message;
        if (!spawned) { s.state = 'failed'; reject(e); }
      });
      const pre = this.prefix(s.spec.name);
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream }).on('line', (line) => this.log(pre + line));
      }
      child.once('exit', (code, signal) => {
        s.lastExit = { code, signal };
        s.child = undefined;
        s.pid = undefined;
        if (!spawned) return;
        this.opts.onExit?.(s);
        if (this.stopping || s.state === 'stopped') { s.state = 'stopped'; return; }
        if (s.spec.restart === false) { s.state = 'failed'; this.log(`${pre}exited (${signal ?? code}); not restarting`); return; }
        if (this.clock.now() - startedAt > (this.opts.resetAfterMs ?? 30_000)) s.restarts = 0;
        const base = this.opts.backoffBaseMs ?? 500;
        const delay = Math.min(this.opts.backoffMaxMs ?? 10_000, base * 2 ** s.restarts);
        s.restarts++;
        s.state = 'backoff';
        this.log(`${pre}exited (${signal ?? `code ${code}`}); restarting in ${delay} ms (restart #${s.restarts})`);
        this.timers.set(s.spec.name, this.clock.setTimeout(() => {
          this.timers.delete(s.spec.name);
          if (this.stopping || s.state !== 'backoff') return;
          this.launch(s).catch((e) => this.log(`${pre}cannot restart: ${(e as Error).message}`));
        }, delay));
      });
    });
  }

  /** Stops one process: SIGTERM to its process group, SIGKILL after graceMs. Resolves when it has exited. */
  async stop(name: string, graceMs = 5000): Promise<void> {
    const s = this.procs.get(name);
    if (!s) return;
    this.clock.clearTimeout(this.timers.get(name));
    this.timers.delete(name);
    s.state = 'stopped';
    const child = s.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    killGroup(child.pid, 'SIGTERM');
    const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
    // the group may hold grandchildren that ignored SIGTERM: make sure none is left
    killGroup(child.pid, 'SIGKILL');
  }

  /** Stops everything, in reverse start order (gateways and apps before the control plane they depend on). */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const names = [...this.procs.keys()].reverse();
    await Promise.all(names.map((n) => this.stop(n, graceMs)));
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}
