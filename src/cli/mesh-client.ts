// cli: talks to a running `rig up` mesh's API (found through its state file, or --server URL).
import { RigError, ErrorCodes } from '../common/errors.ts';
import { readState, stateFile } from '../local/state.ts';

export function serverUrl(explicit?: string): string {
  if (explicit) return explicit.replace(/\/$/, '');
  const s = readState();
  if (!s) {
    throw new RigError(ErrorCodes.CLI_UNREACHABLE, `no running mesh found (looked for ${stateFile()}). Start one with "rig up DIR", or pass --server http://127.0.0.1:PORT`);
  }
  return s.api;
}

export async function call(server: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  let res: Response;
  try {
    res = await fetch(server + path, {
      method, headers: body ? { 'content-type': 'application/json' } : undefined, body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new RigError(ErrorCodes.CLI_UNREACHABLE, `cannot reach the mesh at ${server}: ${(e as Error).cause ? String((e as Error & { cause: Error }).cause.message) : (e as Error).message}. Is "rig up" running? (pass --server to choose another)`);
  }
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = { error: text }; }
  return { status: res.status, json };
}
