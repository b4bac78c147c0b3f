// test/helpers: port helpers for tests — ask the OS for a free loopback port.
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (prefer binding port 0 directly when the code allows it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
