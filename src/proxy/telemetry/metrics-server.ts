// proxy/telemetry: the Prometheus scrape port (Istio's 15090, /stats/prometheus), apart from the admin API so a
// scraper never reaches admin actions (drain, quit). Serves the same stats the admin's /stats/prometheus does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stat } from '../admin/types.ts';
import { statsPrometheus } from '../admin/stats-format.ts';

/** Istio's port for the proxy's merged Prometheus metrics. */
export const ISTIO_METRICS_PORT = 15090;

export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly stats: () => Iterable<Stat>) {}

  /** Listens; returns the bound port (pass 0 for a free one). */
  async start(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/stats/prometheus' && path !== '/metrics')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('try /stats/prometheus\n');
        return;
      }
      let body: string;
      try { body = statsPrometheus(this.stats()); } catch (e) { res.writeHead(500); res.end(String(e)); return; }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
