// examples/bookinfo: the little HTTP toolkit the Bookinfo apps share — no mesh code, only what any app does:
// listen on $PORT, call other services by name through the standard HTTP_PROXY setting, and pass trace headers on.
import http from 'node:http';

/** Headers a mesh app must copy from the incoming request to its outgoing calls (as Istio's Bookinfo does). */
export const PROPAGATED = [
  'x-request-id', 'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid',
  'x-b3-sampled', 'x-b3-flags', 'x-ot-span-context', 'x-datadog-trace-id', 'x-datadog-parent-id',
  'x-datadog-sampling-priority', 'x-cloud-trace-context', 'grpc-trace-bin', 'sw8', 'end-user', 'user-agent', 'cookie',
];

export function propagate(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PROPAGATED) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

export interface CallResult { status: number; body: string; headers: http.IncomingHttpHeaders }

/**
 * GET http://service:port/path. With HTTP_PROXY set (as `rig up` sets it), the request goes to the proxy in
 * absolute form, exactly as curl or Python's requests would send it; without, it goes direct.
 */
export function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<CallResult> {
  const target = new URL(url);
  const proxy = process.env.HTTP_PROXY ?? process.env.http_proxy;
  const noProxy = (process.env.NO_PROXY ?? process.env.no_proxy ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const viaProxy = proxy && !noProxy.includes(target.hostname);
  const p = viaProxy ? new URL(proxy) : target;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: p.hostname, port: Number(p.port || 80), method: 'GET',
      path: viaProxy ? target.href : target.pathname + target.search,
      headers: { ...headers, host: target.host }, agent: keepAlive,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }); });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms calling ${url}`)), timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end();
  });
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

export type Handler = (req: http.IncomingMessage, url: URL) => Promise<{ status?: number; json?: unknown; html?: string; headers?: Record<string, string> }>;

/** Listen on $HOST:$PORT (127.0.0.1 and 9080 by default) and log one line per request. */
export function serve(name: string, handler: Handler): http.Server {
  const port = Number(process.env.PORT ?? 9080);
  const host = process.env.HOST ?? '127.0.0.1';
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    try {
      const r = await handler(req, url);
      const body = r.html ?? JSON.stringify(r.json ?? {});
      res.writeHead(r.status ?? 200, { 'content-type': r.html !== undefined ? 'text/html; charset=utf-8' : 'application/json', ...r.headers });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (e as Error).message }));
    }
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, host, () => console.log(`${name} listening on ${host}:${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

/** Name of this instance as the mesh knows it (Bookinfo prints the pod name). */
export const instance = process.env.WORKLOAD_NAME ?? process.env.HOSTNAME ?? 'local';
