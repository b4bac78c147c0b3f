// local: where a running `rig up` tells other rig commands how to reach it (a small JSON file per user).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface UpState { pid: number; api: string; debug: string; xds: string; ingress?: string; dir: string; startedAt: string }

export function stateFile(): string {
  return join(tmpdir(), `rigging-${userInfo().uid}`, 'up.json');
}

export function writeState(s: UpState): void {
  const f = stateFile();
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, JSON.stringify(s, null, 2));
}

/** The state of the running mesh, or undefined when none is running (or its process is gone). */
export function readState(): UpState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(), 'utf8')) as UpState;
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined;
  }
}

export function clearState(pid: number): void {
  try {
    const s = JSON.parse(readFileSync(stateFile(), 'utf8')) as UpState;
    if (s.pid === pid) rmSync(stateFile());
  } catch { /* nothing to clear */ }
}
