// proxy/io: chooses the socket I/O path at start-up — the internal fast path when this Node provides what it
// needs (probe), else the documented one. RIG_IO / --io may force either.
import { documentedIO } from './documented.ts';
import { internalIO, probe } from './internal.ts';
import type { SocketIO } from './types.ts';

export type { SocketIO, Reader } from './types.ts';
export { relay } from './types.ts';
export { documentedIO } from './documented.ts';

export interface FastPath {
  mode: 'internal' | 'documented';
  io: SocketIO;
  /** Why the internal path is not used, when it is not. */
  reason?: string;
}

/** mode: 'auto' (internal if the probe passes), 'internal' (same, but say why not), 'documented'. */
export function installFastPath(mode: string): FastPath {
  if (mode === 'documented') return { mode: 'documented', io: documentedIO };
  const why = probe();
  if (why) return { mode: 'documented', io: documentedIO, reason: why };
  return { mode: 'internal', io: internalIO };
}
