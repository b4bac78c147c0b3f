// test/helpers: tiny HTTP test applications for end-to-end mesh tests — each answers with its identity and the
// headers it saw (JSON), counts requests, can fail the first N requests with a status, answer slowly, and records
// what it received (e.g. mirrored copies). Behaviour is mutable while it runs, so one app serves several checks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  host: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface AppBehaviour {
  /** Answer the next N requests with failStatus (counted from when it was set). */
  failFirst?: number;
  failStatus?: number;
  /** Answer every request with this status (an endpoint that is "down" but reachable). */
  alwaysStatus?: number;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** The JSON body every app answers with. */
export interface AppReply {
  app: string;
  method: string;
  url: string;
  host: string;
  headers: Record<string, string | string[] | undefined>;
  n: number;
}

export interface TestApp {
  readonly name: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly seen: SeenRequest[];
  /** Requests received so far. */
  readonly count: number;
  /** Requests being answered right now (slow answers hold them). */
  readonly inFlight: number;
  /** Most requests in flight at once. */
  readonly maxInFlight: number;
  set(b: AppBehaviour): void;
  reset(): void;
  close(): Promise<void>;
}

/** Starts an app on 127.0.0.1 (port 0 unless given). */
export async function startApp(name: string, behaviour: AppBehaviour = {}, port = 0): Promise<TestApp> {
  let b: AppBehaviour = { ...behaviour };
  let failsLeft = b.failFirst ?? 0;
  const seen: SeenRequest[] = [];
  let inFlight = 0, maxInFlight = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let status = b.alwaysStatus ?? 200;
      if (failsLeft > 0) { failsLeft--; status = b.failStatus ?? 503; }
      const reply: AppReply = { app: name, method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: { ...req.headers }, n };
      const answer = () => {
        inFlight--;
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'x-app': name });
        res.end(JSON.stringify(reply));
      };
      if (b.delayMs) {
        const t = setTimeout(() => { timers.delete(t); answer(); }, b.delayMs);
        timers.add(t);
      } else answer();
    });
  };
  const server: Server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    seen,
    get count() { return seen.length; },
    get inFlight() { return inFlight; },
    get maxInFlight() { return maxInFlight; },
    set(nb: AppBehaviour) { b = { ...nb }; failsLeft = b.failFirst ?? 0; },
    reset() { seen.length = 0; maxInFlight = inFlight; },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
