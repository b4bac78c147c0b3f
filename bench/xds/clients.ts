// bench/xds: the simulated proxies, run in a child process so the parent's RSS is the control plane's.
// Each is a raw grpc-js SotW ADS stream that subscribes like Envoy (CDS + LDS wildcard, then EDS/RDS for
// the names those carry) and ACKs everything. Reports on stdout as JSON lines.
import { RawAdsClient, makeNode } from '../../src/xds/server/ads-client.ts';
import { TypeUrl, unpack } from '../../src/envoy/protos.ts';
import { nodeId } from './mesh.ts';

const [addr, countS] = process.argv.slice(2);
const count = Number(countS);
const clients: RawAdsClient[] = [];
let names: { eds: string[]; rds: string[] } | undefined;

function derive(cds: { resources?: { type_url: string; value: Uint8Array }[] }, lds: { resources?: { type_url: string; value: Uint8Array }[] }) {
  const eds = (cds.resources ?? []).map((a) => unpack(a)).filter((c) => c.type === 'EDS').map((c) => String(c.name));
  const rds = new Set<string>();
  for (const l of (lds.resources ?? []).map((a) => unpack(a))) {
    const visit = (x: unknown): void => {
      if (!x || typeof x !== 'object') return;
      const o = x as Record<string, unknown>;
      const r = o.rds as { route_config_name?: string } | undefined;
      if (r?.route_config_name) rds.add(r.route_config_name);
      for (const v of Object.values(o)) visit(v);
    };
    visit(l);
  }
  return { eds, rds: [...rds] };
}

let received = 0;
async function start(k: number): Promise<void> {
  const c = new RawAdsClient(addr!);
  clients.push(c);
  c.onResponse = () => { received++; };
  c.send({ node: makeNode(nodeId(k), { NAMESPACE: 'bench' }), type_url: TypeUrl.Cluster });
  const cds = await c.next(60000);
  c.ack(cds!);
  c.send({ type_url: TypeUrl.Listener });
  const lds = await c.next(60000);
  c.ack(lds!);
  // Every client sees the same names; decoding once is enough.
  names ??= derive(cds!, lds!);
  c.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: names.eds });
  c.ack((await c.next(60000))!);
  c.send({ type_url: TypeUrl.RouteConfiguration, resource_names: names.rds });
  c.ack((await c.next(60000))!);
  c.autoAck = true;
}

await start(0);
for (let k = 1; k < count; k += 20) await Promise.all(Array.from({ length: Math.min(20, count - k) }, (_, j) => start(k + j)));
process.stdout.write(JSON.stringify({ ready: count, eds: names?.eds.length, rds: names?.rds.length }) + '\n');
process.stdin.on('data', () => {});
process.stdin.on('end', () => { for (const c of clients) c.close(); process.exit(0); });
setInterval(() => process.stdout.write(JSON.stringify({ received }) + '\n'), 5000).unref();
