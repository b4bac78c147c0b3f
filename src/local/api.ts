// local: the HTTP API of a running `rig up` mesh on 127.0.0.1, used by `rig apply`, `rig delete`, `rig get` and
// `rig up`'s own status: GET/POST/DELETE /v1/config, GET /v1/status. JSON in and out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigKey, ConfigObject, ValidationIssue } from '../config/types.ts';
import type { OverlayStore } from './overlay-store.ts';

export interface ApiDeps {
  store: OverlayStore;
  status: () => unknown;
}

async function body(req: http.IncomingMessage, limit = 8 << 20): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function startApi(deps: ApiDeps, port: number, host = '127.0.0.1'): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    try {
      if (url.pathname === '/v1/status' && req.method === 'GET') return send(res, 200, deps.status());
      if (url.pathname !== '/v1/config') return send(res, 404, { error: `no such path ${url.pathname}` });
      if (req.method === 'GET') {
        const kind = url.searchParams.get('kind') ?? undefined;
        const ns = url.searchParams.get('namespace') ?? undefined;
        const name = url.searchParams.get('name') ?? undefined;
        const items = deps.store.list(kind, ns).filter((o) => !name || o.metadata.name === name)
          .sort((a, b) => (a.kind + a.metadata.namespace + a.metadata.name).localeCompare(b.kind + b.metadata.namespace + b.metadata.name));
        return send(res, 200, { items });
      }
      const parsed = JSON.parse(await body(req)) as unknown;
      if (req.method === 'POST') {
        if (!isObj(parsed) || !Array.isArray(parsed.objects)) return send(res, 400, { error: 'expected {"objects": [...]}' });
        const objects = parsed.objects as ConfigObject[];
        const issues: ValidationIssue[] = await deps.store.apply(objects);
        if (issues.length) return send(res, 422, { issues });
        return send(res, 200, { applied: objects.map((o) => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })) });
      }
      if (req.method === 'DELETE') {
        if (!isObj(parsed) || !Array.isArray(parsed.keys)) return send(res, 400, { error: 'expected {"keys": [...]}' });
        const keys = parsed.keys as ConfigKey[];
        const missing = keys.filter((k) => !deps.store.has(k));
        await deps.store.delete(keys.filter((k) => deps.store.has(k)));
        return send(res, 200, { deleted: keys.filter((k) => !missing.includes(k)), notFound: missing });
      }
      return send(res, 405, { error: `method ${req.method} not allowed` });
    } catch (e) {
      return send(res, 400, { error: (e as Error).message });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}
