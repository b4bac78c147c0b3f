// cli: `rig get KIND [NAME]` — list the configuration a running `rig up` mesh is serving, as kubectl get would.
import type { Command } from 'commander';
import { ISTIO_KINDS, KUBERNETES_USED_KINDS } from '../../config/kinds.ts';
import type { ConfigObject } from '../../config/types.ts';
import { RigError, ErrorCodes } from '../../common/errors.ts';
import { call, serverUrl } from '../mesh-client.ts';
import { parseOutputFormat, table, toJson, toYaml, type OutputFormat } from '../format.ts';

const SHORT: Record<string, string> = {
  vs: 'VirtualService', dr: 'DestinationRule', se: 'ServiceEntry', gw: 'Gateway', we: 'WorkloadEntry', wg: 'WorkloadGroup',
  pa: 'PeerAuthentication', ra: 'RequestAuthentication', ap: 'AuthorizationPolicy', svc: 'Service', ep: 'Endpoints', cm: 'ConfigMap',
};

function resolveKind(input: string): string {
  const lower = input.toLowerCase();
  if (SHORT[lower]) return SHORT[lower];
  for (const k of [...ISTIO_KINDS, ...KUBERNETES_USED_KINDS]) {
    const n = k.kind.toLowerCase();
    if (lower === n || lower === n + 's' || lower === n + 'es' || (n.endsWith('y') && lower === n.slice(0, -1) + 'ies')) return k.kind;
  }
  const all = [...ISTIO_KINDS, ...KUBERNETES_USED_KINDS].map((k) => k.kind.toLowerCase()).join(', ');
  throw new RigError(ErrorCodes.CLI_USAGE, `unknown kind "${input}"; use one of: ${all} (or vs, dr, se, gw, we, wg, pa, ra, ap)`);
}

const list = (v: unknown): string => (Array.isArray(v) ? v.join(',') : v === undefined ? '' : String(v));

function columns(kind: string): [string, (o: ConfigObject) => string][] {
  switch (kind) {
    case 'VirtualService': return [['GATEWAYS', (o) => list(o.spec?.gateways)], ['HOSTS', (o) => list(o.spec?.hosts)]];
    case 'DestinationRule': return [['HOST', (o) => String(o.spec?.host ?? '')], ['SUBSETS', (o) => list((o.spec?.subsets ?? []).map((s: { name: string }) => s.name))]];
    case 'ServiceEntry': return [['HOSTS', (o) => list(o.spec?.hosts)], ['LOCATION', (o) => String(o.spec?.location ?? '')], ['RESOLUTION', (o) => String(o.spec?.resolution ?? '')]];
    case 'Gateway': return [['SERVERS', (o) => list((o.spec?.servers ?? []).map((s: { port?: { number?: number; protocol?: string } }) => `${s.port?.protocol}/${s.port?.number}`))]];
    case 'WorkloadEntry': return [['ADDRESS', (o) => String(o.spec?.address ?? '')], ['LABELS', (o) => Object.entries(o.spec?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')]];
    default: return [];
  }
}

export function register(program: Command): void {
  program.command('get')
    .description('list the configuration the running mesh serves')
    .argument('<kind>', 'kind, plural or short name: virtualservices, vs, dr, se, gw, ...')
    .argument('[name]', 'one object by name')
    .option('-n, --namespace <ns>', 'only this namespace')
    .option('-o, --output <format>', 'table, json or yaml', parseOutputFormat, 'table' as OutputFormat)
    .option('--server <url>', 'API of the running mesh (default: the one `rig up` started)')
    .addHelpText('after', '\nExamples:\n  rig get vs\n  rig get destinationrule reviews -o yaml')
    .action(async (kindArg: string, name: string | undefined, opts: { namespace?: string; output: OutputFormat; server?: string }) => {
      const kind = resolveKind(kindArg);
      const q = new URLSearchParams({ kind });
      if (opts.namespace) q.set('namespace', opts.namespace);
      if (name) q.set('name', name);
      const r = await call(serverUrl(opts.server), 'GET', `/v1/config?${q}`);
      if (r.status !== 200) throw new RigError(ErrorCodes.CLI_UNREACHABLE, `mesh API answered ${r.status}: ${r.json.error ?? ''}`);
      const items = (r.json.items as ConfigObject[]).map(({ source: _s, ...o }) => o as ConfigObject);
      if (name && !items.length) {
        process.stderr.write(`${kind} "${name}" not found${opts.namespace ? ` in namespace ${opts.namespace}` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.output === 'json') { process.stdout.write(toJson(name ? items[0] : items)); return; }
      if (opts.output === 'yaml') { process.stdout.write(items.map((o) => toYaml(o)).join('---\n')); return; }
      if (!items.length) { process.stdout.write(`No ${kind} objects found.\n`); return; }
      const cols = columns(kind);
      process.stdout.write(table(['name', 'namespace', ...cols.map((c) => c[0])], items.map((o) => [o.metadata.name, o.metadata.namespace, ...cols.map((c) => c[1](o))])));
    });
}
