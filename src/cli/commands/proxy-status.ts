// cli: `rig proxy-status` — which proxies are connected to the control plane and whether each xDS type is
// in sync (SYNCED / STALE / NACKED / NOT SENT), read from the debug API like `istioctl proxy-status`.
import { readState } from '../../local/state.ts';
import type { Command } from 'commander';
import { RigError, ErrorCodes, errorMessage } from '../../common/errors.ts';
import { parseOutputFormat, render, table, type OutputFormat } from '../format.ts';
import type { ConnectionStatus } from '../../xds/server/connection.ts';

/** The running `rig up` mesh's control plane when there is one, else istiod's usual monitoring port. */
export const DEFAULT_DEBUG_ADDR = readState()?.debug ?? '127.0.0.1:15014';

/** GET a debug API path; an unreachable control plane is a RigError naming the address (exit 2). */
export async function fetchDebug(addr: string, path: string, timeoutMs = 5000): Promise<{ status: number; body: unknown }> {
  const url = `http://${addr}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? errorMessage(e);
    throw new RigError(ErrorCodes.CLI_UNREACHABLE, `cannot reach the control plane debug API at ${addr} (${cause}); is \`rig control-plane\` running? Point at it with --debug-addr HOST:PORT`, { addr });
  }
  const text = await res.text();
  try { return { status: res.status, body: JSON.parse(text) }; } catch { return { status: res.status, body: text }; }
}

const SHORT: Record<string, string> = { clusters: 'CDS', listeners: 'LDS', endpoints: 'EDS', routes: 'RDS', secrets: 'SDS' };

/** "name.namespace" from an Istio node id, as istioctl shows proxies. */
export function proxyName(id: string): string {
  return id.split('~')[2] || id;
}

export function statusTable(rows: ConnectionStatus[], addr: string): string {
  const cell = (s: ConnectionStatus, short: string) => {
    const t = s.types.find((x) => x.type === short);
    if (!t) return 'NOT SENT';
    return t.state === 'NACKED' ? `NACKED (${(t.error ?? '').slice(0, 60)})` : t.state;
  };
  return table(['name', 'type', 'cds', 'lds', 'eds', 'rds', 'sds', 'protocol', 'control plane', 'version'],
    rows.map((s) => [proxyName(s.proxyId), s.generator === 'grpc' ? 'proxyless' : s.proxyType ?? '', cell(s, 'clusters'), cell(s, 'listeners'), cell(s, 'endpoints'), cell(s, 'routes'), cell(s, 'secrets'), s.protocol, addr, s.configVersion ?? '']));
}

export function register(program: Command): void {
  program
    .command('proxy-status')
    // main.ts sets exitOverride on the root after commands are added; set it here so usage errors exit 2.
    .exitOverride()
    .description('show every connected proxy and whether its xDS config is in sync (like istioctl proxy-status)')
    .argument('[proxy]', 'only this proxy: node id, NAME.NAMESPACE or NAME')
    .option('--debug-addr <host:port>', 'control plane debug API address', DEFAULT_DEBUG_ADDR)
    .option('-o, --output <format>', 'table, json or yaml', parseOutputFormat, 'table' as OutputFormat)
    .addHelpText('after', `
States: SYNCED (last response ACKed), STALE (sent, not yet ACKed), NACKED (rejected: the proxy keeps its
previous config; the error is shown), NOT SENT (not subscribed / nothing sent yet).
Exit code 1 when a proxy has NACKED config, 2 when the control plane cannot be reached.`)
    .action(async (proxy: string | undefined, o: { debugAddr: string; output: OutputFormat }) => {
      const { status, body } = await fetchDebug(o.debugAddr, '/debug/syncz');
      if (status !== 200 || !Array.isArray(body)) throw new RigError(ErrorCodes.CLI_UNREACHABLE, `unexpected answer from ${o.debugAddr}/debug/syncz (HTTP ${status}); is it a Rigging control plane?`);
      let rows = body as ConnectionStatus[];
      if (proxy) rows = rows.filter((s) => s.proxyId === proxy || proxyName(s.proxyId) === proxy || proxyName(s.proxyId).split('.')[0] === proxy);
      if (proxy && rows.length === 0) {
        process.stderr.write(`proxy "${proxy}" is not connected to ${o.debugAddr}\n`);
        process.exitCode = 1;
        return;
      }
      if (o.output === 'table' && rows.length === 0) process.stdout.write(`no proxies connected to ${o.debugAddr}\n`);
      else process.stdout.write(render(o.output, rows, () => statusTable(rows, o.debugAddr)));
      if (rows.some((s) => s.types.some((t) => t.state === 'NACKED'))) process.exitCode = 1;
    });
}

export { SHORT as TYPE_ABBREVIATIONS };
