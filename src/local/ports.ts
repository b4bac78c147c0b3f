// local: port and address helpers for a mesh on one machine — free ports from the OS, checks before binding, and
// a private loopback block (127.X.Y.0/24) so every workload has its own address, like a pod IP.
import net from 'node:net';
import { accessSync, constants, readFileSync } from 'node:fs';
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

/** The kernel's ephemeral port range (Linux ip_local_port_range; IANA's 49152-65535 elsewhere). */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch { /* not Linux */ }
  return [49152, 65535];
}

/**
 * Hands out the ports of one local mesh. A port from freePort() is only free the moment it is read: it is closed
 * again, and the kernel may give the same number to the next bind(0) or to any outgoing connection on the machine
 * before the app that was told to use it has started (a tsx app takes seconds). So ports come from below the
 * ephemeral range, where the kernel never picks by itself, each is checked free on 127.0.0.1 and never handed out
 * twice by this allocator. The start is random so two meshes on one machine rarely probe the same numbers.
 */
export class PortAllocator {
  private readonly taken = new Set<number>();
  private next: number;
  private readonly lo: number;
  private readonly hi: number;
  constructor(opts: { range?: [number, number]; random?: () => number; isFree?: (port: number) => Promise<boolean> } = {}) {
    const [eLo] = ephemeralRange();
    // [10000, ephemeral start) by default; a machine whose ephemeral range starts low gets the ports above it
    [this.lo, this.hi] = opts.range ?? (eLo > 12000 ? [10000, eLo - 1] : [61000, 65535]);
    this.next = this.lo + Math.floor((opts.random ?? Math.random)() * (this.hi - this.lo + 1));
    if (opts.isFree) this.isFree = opts.isFree;
  }
  private isFree = (port: number) => portIsFree(port);
  /** Marks ports handed out elsewhere (flags given by the user) so they are never chosen. */
  reserve(...ports: number[]): void { for (const p of ports) if (p) this.taken.add(p); }
  /** A port free on 127.0.0.1 now, never handed out before by this allocator. */
  async take(): Promise<number> {
    const size = this.hi - this.lo + 1;
    for (let i = 0; i < size; i++) {
      const p = this.next;
      this.next = p >= this.hi ? this.lo : p + 1;
      // 15000-15100 are Istio's well-known proxy and control-plane ports (15001, 15006, 15010, 15090, ...): a
      // `rig proxy` or `rig control-plane` started by hand next to this mesh expects them free
      if (this.taken.has(p) || (p >= 15000 && p <= 15100)) continue;
      this.taken.add(p);
      if (await this.isFree(p)) return p;
    }
    throw new Error(`no free port left in ${this.lo}-${this.hi}`);
  }
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
