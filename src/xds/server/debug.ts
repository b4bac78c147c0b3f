// xds/server (serving): the debug HTTP API — /debug/syncz (istioctl proxy-status), /debug/config_dump,
// /debug/configz, /ready and /metrics (Prometheus text). Read-only; JSON unless noted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { XdsServer } from './server.ts';

export interface DebugOptions {
  xds: XdsServer;
  /** Config objects in force and current issues (what /debug/configz shows). */
  configz?: () => unknown;
  /** True once the first config has been loaded and the xDS port is serving. */
  ready?: () => boolean;
  /** Extra Prometheus text appended to /metrics. */
  extraMetrics?: () => string;
}

export interface DebugServer { listen(port: number, host?: string): Promise<number>; close(): Promise<void>; readonly port: number }

export function createDebugServer(opts: DebugOptions): DebugServer {
  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body, null, 2) + '\n');
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://debug');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'only GET is supported' });
    switch (url.pathname) {
      case '/debug/syncz':
        return json(res, 200, opts.xds.status());
      case '/debug/config_dump': {
        const id = url.searchParams.get('proxyID') ?? url.searchParams.get('proxyId');
        if (!id) return json(res, 400, { error: 'query parameter proxyID is required', proxies: opts.xds.proxyIds() });
        const dump = opts.xds.configDump(id) ?? opts.xds.configDump(resolveProxy(opts.xds.proxyIds(), id) ?? '');
        if (!dump) return json(res, 404, { error: `proxy ${JSON.stringify(id)} is not connected`, proxies: opts.xds.proxyIds() });
        return json(res, 200, dump);
      }
      case '/debug/configz':
        return json(res, 200, opts.configz ? opts.configz() : { objects: [], issues: [] });
      case '/ready': {
        const ok = opts.ready ? opts.ready() : true;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        return res.end(ok ? 'ready\n' : 'not ready\n');
      }
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return res.end(opts.xds.metrics.render() + (opts.extraMetrics?.() ?? ''));
      default:
        return json(res, 404, { error: 'not found', endpoints: ['/debug/syncz', '/debug/config_dump?proxyID=ID', '/debug/configz', '/ready', '/metrics'] });
    }
  };
  const server: Server = createServer((req, res) => {
    try { handle(req, res); } catch (e) { json(res, 500, { error: e instanceof Error ? e.message : String(e) }); }
  });
  let port = 0;
  return {
    get port() { return port; },
    listen(p: number, host = '127.0.0.1') {
      return new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, host, () => { server.off('error', reject); port = (server.address() as AddressInfo).port; resolve(port); });
      });
    },
    close() {
      return new Promise<void>((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); });
    },
  };
}

/** istioctl accepts a pod name or "name.namespace" for a proxy; find the one connected id it names. */
export function resolveProxy(ids: string[], q: string): string | undefined {
  if (ids.includes(q)) return q;
  const hits = ids.filter((id) => {
    const nameNs = id.split('~')[2] ?? '';
    return nameNs === q || nameNs.split('.')[0] === q;
  });
  return hits.length === 1 ? hits[0] : undefined;
}
