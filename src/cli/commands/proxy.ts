// cli: `rig proxy` — run the data-plane proxy, configured only through xDS from the given control plane.
import type { Command } from 'commander';
import { ErrorCodes, RigError } from '../../common/errors.ts';

function collect(v: string, prev: string[]): string[] { return [...prev, v]; }

/** A port flag's value (absent: undefined); anything but an integer 0-65535 is a usage error naming the flag. */
function portFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RigError(ErrorCodes.CLI_USAGE, `${flag}: expected a port number 0-65535, got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description('Run the Rigging proxy (sidecar or gateway), configured by xDS (ADS) from a control plane')
    .option('--xds-address <host:port>', 'ADS server address (e.g. 127.0.0.1:15010)')
    .option('--node-id <id>', "node id in Istio's form sidecar~IP~NAME.NAMESPACE~NAMESPACE.svc.cluster.local")
    .option('--cluster <name>', "service cluster (Envoy's --service-cluster)")
    .option('--metadata <k=v>', 'node metadata entry, repeatable (a JSON object/array value is parsed)', collect, [])
    .option('--admin-port <n>', 'admin API port on 127.0.0.1 (0 picks a free one; default 15000)')
    .option('--metrics-port <n>', "Prometheus scrape port serving /stats/prometheus (Istio's 15090; 0 picks a free one; default 15090, free in local mode)")
    .option('--bootstrap <file>', 'Envoy-shaped bootstrap file (YAML or JSON); flags override it')
    .option('--drain-ms <ms>', 'how long SIGTERM waits for in-flight requests', '5000')
    .option('--bind-address <addr>', 'local mode: bind wildcard (0.0.0.0 / ::) listeners to this address instead')
    .option('--port-map <from=to>', 'local mode: listen on port TO where the config says FROM (repeatable)', collect, [])
    .option('--io <mode>', 'socket I/O path: auto | internal | documented', 'auto')
    .addHelpText('after', `
Examples:
  rig proxy --xds-address 127.0.0.1:15010 --node-id sidecar~127.0.0.2~reviews-v1.default~default.svc.cluster.local
  rig proxy --bootstrap bootstrap.yaml --admin-port 15000`)
    .action(async (opts: { xdsAddress?: string; nodeId?: string; cluster?: string; metadata: string[]; adminPort?: string; metricsPort?: string; bootstrap?: string; drainMs: string; io: string; bindAddress?: string; portMap: string[] }) => {
      const portMap = new Map<number, number>();
      for (const m of opts.portMap) {
        const mm = /^(\d{1,5})=(\d{1,5})$/.exec(m);
        if (!mm || Number(mm[1]) > 65535 || Number(mm[2]) > 65535) throw new RigError(ErrorCodes.CLI_USAGE, `--port-map: expected FROM=TO port numbers, got ${JSON.stringify(m)}`);
        portMap.set(Number(mm[1]), Number(mm[2]));
      }
      const adminPort = portFlag('--admin-port', opts.adminPort);
      const metricsPort = portFlag('--metrics-port', opts.metricsPort);
      const drainMs = Number(opts.drainMs);
      if (!Number.isFinite(drainMs) || drainMs < 0) throw new RigError(ErrorCodes.CLI_USAGE, `--drain-ms: expected milliseconds, got ${JSON.stringify(opts.drainMs)}`);
      if (!['auto', 'internal', 'documented'].includes(opts.io)) throw new RigError(ErrorCodes.CLI_USAGE, `--io: expected auto, internal or documented, got ${JSON.stringify(opts.io)}`);
      const { runProxy } = await import('../../proxy/main.ts');
      const p = await runProxy({
        xdsAddress: opts.xdsAddress, nodeId: opts.nodeId, cluster: opts.cluster, metadata: opts.metadata, adminPort, metricsPort,
        bootstrap: opts.bootstrap, drainMs, io: opts.io, handleSignals: true, bindAddress: opts.bindAddress, portMap,
      });
      process.stdout.write(`rig proxy: admin on 127.0.0.1:${p.adminPort}, metrics on ${p.metricsPort}, xDS ${p.bootstrap.xds.host}:${p.bootstrap.xds.port}, io ${p.ioMode}\n`);
      // Keep running until a signal drains and exits.
      await new Promise<never>(() => {});
    });
}
