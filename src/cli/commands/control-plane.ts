// cli: `rig control-plane` — serve xDS for a directory of Istio config, with the debug API beside it.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { startControlPlane } from '../../control-plane/control-plane.ts';
import { RigError, ErrorCodes } from '../../common/errors.ts';
import { statSync } from 'node:fs';

export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0-65535; 0 picks a free one)`);
  return n;
}

export function register(program: Command): void {
  program
    .command('control-plane')
    // main.ts sets exitOverride on the root after commands are added; set it here so usage errors exit 2.
    .exitOverride()
    .description('serve Envoy xDS (ADS over gRPC) for a directory of Istio config; edits apply live')
    .requiredOption('--config <dir>', 'directory of Istio YAML/JSON, watched recursively')
    .option('--xds-port <port>', 'xDS gRPC port (0 = any free port)', parsePort, 15010)
    .option('--debug-port <port>', 'debug HTTP port: /debug/syncz, /debug/config_dump, /debug/configz, /ready, /metrics (0 = any free port)', parsePort, 15014)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--ca-dir <dir>', 'plugged-in CA (root-cert.pem + root-key.pem, or ca-cert.pem + ca-key.pem, cert-chain.pem); default: a self-signed root made at start')
    .addHelpText('after', `
Examples:
  rig control-plane --config examples/bookinfo/config
  rig control-plane --config ./mesh --xds-port 0 --debug-port 0   # pick free ports, printed at start
  rig proxy-status --debug-addr 127.0.0.1:15014                   # who is connected and in sync`)
    .action(async (o: { config: string; xdsPort: number; debugPort: number; host: string; caDir?: string }) => {
      try {
        if (!statSync(o.config).isDirectory()) throw new Error('not a directory');
      } catch (e) {
        throw new RigError(ErrorCodes.CLI_USAGE, `--config ${o.config}: ${(e as Error).message}`);
      }
      let cp;
      try {
        cp = await startControlPlane({ configDir: o.config, xdsPort: o.xdsPort, debugPort: o.debugPort, host: o.host, caDir: o.caDir });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || /address already in use|No address added/i.test((e as Error).message)) {
          throw new RigError(ErrorCodes.UP_PORT_IN_USE, `cannot listen: ${(e as Error).message} (choose other ports with --xds-port / --debug-port, or 0 for free ones)`);
        }
        throw e;
      }
      const h = o.host.includes(':') ? `[${o.host}]` : o.host;
      process.stdout.write(`rig control-plane: xDS (ADS gRPC) listening on ${h}:${cp.xdsPort}\n`);
      process.stdout.write(`rig control-plane: debug API listening on http://${h}:${cp.debugPort} (/debug/syncz, /debug/config_dump, /debug/configz, /ready, /metrics)\n`);
      process.stdout.write(`rig control-plane: serving config from ${o.config}\n`);
      process.stdout.write(`rig control-plane: CA for trust domain ${cp.ca.trustDomain} (${o.caDir ? `plugged in from ${o.caDir}` : 'self-signed root'}); CertificateService on the xDS port\n`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: string) => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`rig control-plane: ${sig} received, closing streams\n`);
          void cp.close().finally(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      process.stdout.write('rig control-plane: stopped\n');
      process.exit(0);
    });
}
