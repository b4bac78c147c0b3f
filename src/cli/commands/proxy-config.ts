// cli: `rig proxy-config PROXY listeners|routes|clusters|endpoints` — the config the control plane generated
// for one connected proxy, as istioctl proxy-config tables (or the raw resources with -o json|yaml).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { RigError, ErrorCodes } from '../../common/errors.ts';
import { parseOutputFormat, render, table, type OutputFormat } from '../format.ts';
import { DEFAULT_DEBUG_ADDR, fetchDebug } from './proxy-status.ts';

type R = Record<string, any>;
const KINDS = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets'] as const;
type Kind = (typeof KINDS)[number];

/** Istio writes the config object a resource came from into metadata filter_metadata.istio.config. */
function istioConfig(r: R | undefined): string {
  // Canonical JSON ({config: "..."}) or protobufjs Struct form ({fields: {config: {stringValue}}}).
  const istio = r?.metadata?.filter_metadata?.istio;
  const p = (istio?.config ?? istio?.fields?.config?.stringValue) as string | undefined;
  if (!p) return '-';
  const m = /namespaces\/([^/]+)\/[^/]+\/([^/]+)$/.exec(p);
  return m ? `${m[2]}.${m[1]}` : p;
}

export function clustersTable(cs: R[]): string {
  return table(['service fqdn', 'port', 'subset', 'direction', 'type', 'destination rule'], cs.map((c) => {
    const parts = String(c.name).split('|');
    const type = c.type ?? (c.cluster_type ? 'AGGREGATE' : 'EDS');
    return parts.length === 4 ? [parts[3] || '', parts[1], parts[2] || '-', parts[0], type, istioConfig(c)] : [c.name, '-', '-', '-', type, istioConfig(c)];
  }));
}

function matchOf(m: R | undefined): string {
  if (!m) return '/*';
  if (m.prefix !== undefined) return `${m.prefix || '/'}*`;
  if (m.path !== undefined) return m.path;
  if (m.safe_regex) return `regex ${m.safe_regex.regex}`;
  if (m.path_separated_prefix) return `${m.path_separated_prefix}/*`;
  return '/*';
}

export function routesTable(rcs: R[]): string {
  const rows: string[][] = [];
  for (const rc of rcs) {
    for (const vh of rc.virtual_hosts ?? []) {
      const domains = vh.domains ?? [];
      const d = domains.length > 1 ? `${domains[0]} + ${domains.length - 1} more...` : domains[0] ?? '';
      for (const r of vh.routes ?? []) {
        const m = r.match ?? {};
        const extra = (m.headers?.length ? ` +${m.headers.length} header` : '');
        let dest = '';
        if (r.route?.cluster) dest = r.route.cluster;
        else if (r.route?.weighted_clusters) dest = (r.route.weighted_clusters.clusters ?? []).map((w: R) => `${w.name} ${w.weight?.value ?? w.weight ?? ''}`).join(', ');
        else if (r.redirect) dest = 'redirect';
        else if (r.direct_response) dest = `direct ${r.direct_response.status}`;
        rows.push([rc.name, vh.name, d, matchOf(m) + extra, dest, istioConfig(r)]);
      }
    }
  }
  return table(['name', 'vhost name', 'domains', 'match', 'destination', 'virtual service'], rows);
}

function hcmDest(f: R): string {
  const tc = f.typed_config ?? {};
  if (tc.rds?.route_config_name) return `Route: ${tc.rds.route_config_name}`;
  if (tc.route_config) return `Inline Route: ${tc.route_config.name ?? ''}`;
  if (tc.cluster) return `Cluster: ${tc.cluster}`;
  if (tc.weighted_clusters) return `Clusters: ${(tc.weighted_clusters.clusters ?? []).map((c: R) => c.name).join(', ')}`;
  return f.name ?? '';
}

export function listenersTable(ls: R[]): string {
  const rows: string[][] = [];
  for (const l of ls) {
    const sa = l.address?.socket_address ?? {};
    if (l.api_listener) {
      const hcm = l.api_listener.api_listener ?? {};
      rows.push([l.name, '-', '-', 'api listener (proxyless gRPC)', hcm.rds?.route_config_name ? `Route: ${hcm.rds.route_config_name}` : 'Inline Route']);
      continue;
    }
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [{ ...l.default_filter_chain, _default: true }] : [])];
    if (!chains.length) rows.push([l.name, sa.address ?? '', String(sa.port_value ?? ''), '-', '-']);
    for (const fc of chains) {
      const m = fc.filter_chain_match ?? {};
      const match = fc._default ? 'default' : [
        m.server_names?.length ? `SNI: ${m.server_names.join(',')}` : '', m.destination_port ? `port ${m.destination_port}` : '',
        m.prefix_ranges?.length ? `dst ${m.prefix_ranges.map((p: R) => p.address_prefix).join(',')}` : '',
        m.transport_protocol ? `trans: ${m.transport_protocol}` : '', m.application_protocols?.length ? `app: ${m.application_protocols.join(',')}` : '',
      ].filter(Boolean).join('; ') || 'ALL';
      const last = (fc.filters ?? []).at(-1);
      rows.push([l.name, sa.address ?? '', String(sa.port_value ?? ''), match, last ? hcmDest(last) : '-']);
    }
  }
  return table(['name', 'address', 'port', 'match', 'destination'], rows);
}

export function endpointsTable(clas: R[]): string {
  const rows: string[][] = [];
  for (const cla of clas) {
    for (const loc of cla.endpoints ?? []) {
      for (const e of loc.lb_endpoints ?? []) {
        const sa = e.endpoint?.address?.socket_address ?? {};
        const status = e.health_status && e.health_status !== 'UNKNOWN' && e.health_status !== 'HEALTHY' ? 'UNHEALTHY' : 'HEALTHY';
        const l = loc.locality ?? {};
        const locality = [l.region, l.zone, l.sub_zone].filter(Boolean).join('/') || '-';
        rows.push([`${sa.address}:${sa.port_value}`, status, String(e.load_balancing_weight?.value ?? 1), locality, String(loc.priority ?? 0), cla.cluster_name]);
      }
    }
    if (!(cla.endpoints ?? []).some((l: R) => (l.lb_endpoints ?? []).length)) rows.push(['(none)', '-', '-', '-', '-', cla.cluster_name]);
  }
  return table(['endpoint', 'status', 'weight', 'locality', 'priority', 'cluster'], rows);
}

function secretsTable(ss: R[]): string {
  return table(['resource name', 'type'], ss.map((s) => [s.name, s.tls_certificate ? 'Cert Chain' : s.validation_context ? 'CA' : '-']));
}

export const tables: Record<Kind, (rs: R[]) => string> = {
  listeners: listenersTable, routes: routesTable, clusters: clustersTable, endpoints: endpointsTable, secrets: secretsTable,
};

function parseKind(v: string): Kind {
  const alias: Record<string, Kind> = { listener: 'listeners', route: 'routes', cluster: 'clusters', endpoint: 'endpoints', secret: 'secrets', lds: 'listeners', rds: 'routes', cds: 'clusters', eds: 'endpoints', sds: 'secrets' };
  const k = (KINDS as readonly string[]).includes(v) ? (v as Kind) : alias[v];
  if (!k) throw new InvalidArgumentError(`"${v}" is not one of ${KINDS.join(', ')}`);
  return k;
}

export function register(program: Command): void {
  program
    .command('proxy-config')
    // main.ts sets exitOverride on the root after commands are added; set it here so usage errors exit 2.
    .exitOverride()
    .description('show the xDS config the control plane generated for one proxy (like istioctl proxy-config)')
    .argument('<proxy>', 'node id, NAME.NAMESPACE or NAME of a connected proxy (see rig proxy-status)')
    .argument('<type>', `one of ${KINDS.join(', ')}`, parseKind)
    .option('--debug-addr <host:port>', 'control plane debug API address', DEFAULT_DEBUG_ADDR)
    .option('-o, --output <format>', 'table, json or yaml (json/yaml print the full resources)', parseOutputFormat, 'table' as OutputFormat)
    .option('--name <name>', 'only the resource with this name')
    .addHelpText('after', `
Examples:
  rig proxy-config client.default clusters
  rig proxy-config client.default routes -o yaml
Exit code 1 when the proxy is not connected, 2 when the control plane cannot be reached.`)
    .action(async (proxy: string, kind: Kind, o: { debugAddr: string; output: OutputFormat; name?: string }) => {
      const { status, body } = await fetchDebug(o.debugAddr, `/debug/config_dump?proxyID=${encodeURIComponent(proxy)}`);
      if (status === 404) {
        const known = ((body as R).proxies ?? []) as string[];
        process.stderr.write(`proxy "${proxy}" is not connected to ${o.debugAddr}${known.length ? `; connected: ${known.join(', ')}` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      if (status !== 200) throw new RigError(ErrorCodes.CLI_UNREACHABLE, `unexpected answer from ${o.debugAddr}/debug/config_dump (HTTP ${status})`);
      let resources = (((body as R).resources ?? {})[kind] ?? []) as R[];
      if (o.name) resources = resources.filter((r) => (r.name ?? r.cluster_name) === o.name);
      process.stdout.write(render(o.output, resources, () => tables[kind](resources)));
    });
}
