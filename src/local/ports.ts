// local: port and address helpers for a mesh on one machine — free ports from the OS, checks before binding, and
// a private loopback block (127.X.Y.0/24) so every workload has its own address, like a pod IP.
import net from 'node:net';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** Asks the OS for a free TCP port on host (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

/** Resolves true when host:port can be bound right now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen(port, host, () => s.close(() => res(true)));
  });
}

/** Picks a /24 inside 127.0.0.0/8 (never 127.0.0.x) for this mesh's workload addresses. */
export function loopbackBlock(random: () => number = Math.random): string {
  const a = 100 + Math.floor(random() * 150);
  const b = 1 + Math.floor(random() * 250);
  return `127.${a}.${b}`;
}

/** Finds an executable the way a shell would: a path (relative to cwd) or a name on PATH. */
export function resolveCommand(cmd: string, cwd: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = cmd.includes('/') ? [isAbsolute(cmd) ? cmd : resolve(cwd, cmd)] : path.split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  for (const c of candidates) {
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  return undefined;
}
