// proxy/bootstrap: the proxy's start-up identity and addresses, from an Envoy-shaped bootstrap (YAML/JSON) and/or CLI flags.
//
// Reads node {id, cluster, metadata, locality}, dynamic_resources.ads_config -> a static cluster (e.g. "xds-grpc")
// -> its first endpoint address, and admin.address. Flags override the file. Problems are collected with the field
// they concern; loadBootstrap() turns them into one RigError for the CLI.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCodes, RigError } from '../common/errors.ts';
import type { NodeInfo } from './xds-client/client.ts';

export interface ProxyBootstrap {
  node: NodeInfo;
  xds: { host: string; port: number };
  /** ads_config.api_type GRPC (state of the world, default) or DELTA_GRPC (incremental). */
  protocol: 'sotw' | 'delta';
  /** Admin server; port 0 picks a free port. Default 127.0.0.1:15000 (Istio's). */
  admin: { address: string; port: number };
  /** Where the bootstrap came from, for /server_info. */
  source: string;
}

export interface BootstrapFlags {
  /** Path of a bootstrap file (YAML or JSON). */
  bootstrap?: string;
  /** HOST:PORT of the ADS server. */
  xdsAddress?: string;
  nodeId?: string;
  /** Envoy's --service-cluster. */
  cluster?: string;
  /** k=v pairs; a value that parses as a JSON object or array is used as such (e.g. LABELS={"app":"a"}). */
  metadata?: string[];
  adminPort?: number;
}

export interface BootstrapError { field: string; message: string }
export type BootstrapResult = { value: ProxyBootstrap; errors?: undefined } | { value?: undefined; errors: BootstrapError[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse "host:port" or "[v6]:port". */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

function socketAddress(v: unknown): { address?: string; port?: number } | undefined {
  const sa = isObj(v) && isObj(v.socket_address) ? v.socket_address : undefined;
  if (!sa) return undefined;
  const port = sa.port_value === undefined ? undefined : Number(sa.port_value);
  return { address: typeof sa.address === 'string' ? sa.address : undefined, port };
}

/** The xDS server address from dynamic_resources.ads_config (envoy_grpc -> static cluster, or google_grpc target_uri). */
function adsAddress(doc: Obj, errors: BootstrapError[]): { host: string; port: number } | undefined {
  const dyn = doc.dynamic_resources;
  if (dyn === undefined) return undefined;
  if (!isObj(dyn)) {
    errors.push({ field: 'dynamic_resources', message: 'must be an object' });
    return undefined;
  }
  const ads = dyn.ads_config;
  if (!isObj(ads)) {
    errors.push({ field: 'dynamic_resources.ads_config', message: 'missing: the proxy only speaks ADS' });
    return undefined;
  }
  if (ads.api_type !== undefined && ads.api_type !== 'GRPC' && ads.api_type !== 'DELTA_GRPC') errors.push({ field: 'dynamic_resources.ads_config.api_type', message: `must be GRPC or DELTA_GRPC, got ${String(ads.api_type)}` });
  const svc = Array.isArray(ads.grpc_services) ? ads.grpc_services[0] : undefined;
  if (!isObj(svc)) {
    errors.push({ field: 'dynamic_resources.ads_config.grpc_services', message: 'needs one grpc service' });
    return undefined;
  }
  if (isObj(svc.google_grpc)) {
    const target = String(svc.google_grpc.target_uri ?? '');
    const hp = parseHostPort(target);
    if (!hp) errors.push({ field: 'dynamic_resources.ads_config.grpc_services[0].google_grpc.target_uri', message: `expected HOST:PORT, got ${JSON.stringify(target)}` });
    return hp;
  }
  const name = isObj(svc.envoy_grpc) ? String(svc.envoy_grpc.cluster_name ?? '') : '';
  if (!name) {
    errors.push({ field: 'dynamic_resources.ads_config.grpc_services[0]', message: 'needs envoy_grpc.cluster_name or google_grpc.target_uri' });
    return undefined;
  }
  const clusters = isObj(doc.static_resources) && Array.isArray(doc.static_resources.clusters) ? doc.static_resources.clusters : [];
  const idx = clusters.findIndex((c) => isObj(c) && c.name === name);
  if (idx < 0) {
    errors.push({ field: 'static_resources.clusters', message: `no static cluster named ${JSON.stringify(name)} (referenced by dynamic_resources.ads_config)` });
    return undefined;
  }
  const c = clusters[idx] as Obj;
  const field = `static_resources.clusters[${idx}].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address`;
  const la = isObj(c.load_assignment) ? c.load_assignment : undefined;
  const loc = la && Array.isArray(la.endpoints) ? la.endpoints[0] : undefined;
  const lbe = isObj(loc) && Array.isArray(loc.lb_endpoints) ? loc.lb_endpoints[0] : undefined;
  const ep = isObj(lbe) && isObj(lbe.endpoint) ? socketAddress(lbe.endpoint.address) : undefined;
  if (!ep?.address || !ep.port || !Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) {
    errors.push({ field, message: `cluster ${JSON.stringify(name)} needs an endpoint with address and port_value 1-65535` });
    return undefined;
  }
  return { host: ep.address, port: ep.port };
}

function metadataFlag(kv: string, errors: BootstrapError[], i: number): [string, unknown] | undefined {
  const eq = kv.indexOf('=');
  if (eq <= 0) {
    errors.push({ field: `--metadata[${i}]`, message: `expected KEY=VALUE, got ${JSON.stringify(kv)}` });
    return undefined;
  }
  const k = kv.slice(0, eq);
  const raw = kv.slice(eq + 1);
  let v: unknown = raw;
  if (raw.startsWith('{') || raw.startsWith('[')) {
    try {
      v = JSON.parse(raw);
    } catch {
      errors.push({ field: `--metadata[${i}]`, message: `${k}: value looks like JSON but does not parse` });
    }
  }
  return [k, v];
}

/** Combine a bootstrap document (already parsed, may be undefined) with flags. Never throws. */
export function resolveBootstrap(doc: unknown, flags: BootstrapFlags = {}, source = 'flags'): BootstrapResult {
  const errors: BootstrapError[] = [];
  const d: Obj = isObj(doc) ? doc : {};
  if (doc !== undefined && !isObj(doc)) errors.push({ field: '', message: 'bootstrap must be an object' });
  const node = isObj(d.node) ? d.node : {};
  if (d.node !== undefined && !isObj(d.node)) errors.push({ field: 'node', message: 'must be an object' });
  const metadata: Record<string, unknown> = {};
  if (node.metadata !== undefined) {
    if (isObj(node.metadata)) Object.assign(metadata, node.metadata);
    else errors.push({ field: 'node.metadata', message: 'must be an object' });
  }
  (flags.metadata ?? []).forEach((kv, i) => {
    const p = metadataFlag(kv, errors, i);
    if (p) metadata[p[0]] = p[1];
  });
  const id = flags.nodeId ?? (typeof node.id === 'string' ? node.id : '');
  if (!id) errors.push({ field: flags.bootstrap ? 'node.id' : '--node-id', message: 'the proxy needs a node id (Istio form: sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local)' });
  const loc = isObj(node.locality) ? node.locality : undefined;

  let xds: { host: string; port: number } | undefined;
  if (flags.xdsAddress !== undefined) {
    xds = parseHostPort(flags.xdsAddress);
    if (!xds) errors.push({ field: '--xds-address', message: `expected HOST:PORT, got ${JSON.stringify(flags.xdsAddress)}` });
  } else {
    xds = adsAddress(d, errors);
    if (!xds && !errors.some((e) => e.field.startsWith('dynamic_resources') || e.field.startsWith('static_resources'))) {
      errors.push({ field: 'dynamic_resources.ads_config', message: 'no xDS server: give --xds-address HOST:PORT or a bootstrap with ads_config' });
    }
  }

  let admin = { address: '127.0.0.1', port: 15000 };
  if (d.admin !== undefined) {
    const sa = isObj(d.admin) ? socketAddress(d.admin.address) : undefined;
    if (!sa || sa.port === undefined || !Number.isInteger(sa.port) || sa.port < 0 || sa.port > 65535) errors.push({ field: 'admin.address.socket_address', message: 'needs port_value 0-65535' });
    else admin = { address: sa.address ?? '127.0.0.1', port: sa.port };
  }
  if (flags.adminPort !== undefined) {
    if (!Number.isInteger(flags.adminPort) || flags.adminPort < 0 || flags.adminPort > 65535) errors.push({ field: '--admin-port', message: `must be 0-65535, got ${flags.adminPort}` });
    else admin = { ...admin, port: flags.adminPort };
  }
  if (errors.length) return { errors };
  const info: NodeInfo = { id, cluster: flags.cluster ?? (typeof node.cluster === 'string' ? node.cluster : ''), metadata };
  if (loc) info.locality = { region: str(loc.region), zone: str(loc.zone), subZone: str(loc.sub_zone) };
  const dyn = isObj(d.dynamic_resources) ? d.dynamic_resources : {};
  const protocol = isObj(dyn.ads_config) && dyn.ads_config.api_type === 'DELTA_GRPC' ? 'delta' : 'sotw';
  return { value: { node: info, xds: xds!, protocol, admin, source } };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

// The yaml package (~1 MB of heap with its sources) loads only for a bootstrap that is not JSON: rig up writes JSON.
const requireLazy = createRequire(import.meta.url);

/** Parse bootstrap text (YAML is a superset of JSON: JSON is tried first). */
export function parseBootstrapText(text: string): { doc?: unknown; error?: string } {
  try {
    return { doc: JSON.parse(text) };
  } catch { /* not JSON: YAML */ }
  try {
    const { parse } = requireLazy('yaml') as typeof import('yaml');
    return { doc: parse(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** For the CLI: read the file named by flags.bootstrap (if any), merge flags, throw one RigError naming every bad field. */
export function loadBootstrap(flags: BootstrapFlags): ProxyBootstrap {
  let doc: unknown;
  if (flags.bootstrap) {
    let text: string;
    try {
      text = readFileSync(flags.bootstrap, 'utf8');
    } catch (e) {
      throw new RigError(ErrorCodes.PROXY_BOOTSTRAP, `bootstrap ${flags.bootstrap}: cannot read: ${(e as Error).message}`, { file: flags.bootstrap });
    }
    const p = parseBootstrapText(text);
    if (p.error) throw new RigError(ErrorCodes.PROXY_BOOTSTRAP, `bootstrap ${flags.bootstrap}: not YAML/JSON: ${p.error}`, { file: flags.bootstrap });
    doc = p.doc;
  }
  const r = resolveBootstrap(doc, flags, flags.bootstrap ?? 'flags');
  if (r.errors) {
    const where = flags.bootstrap ? `bootstrap ${flags.bootstrap}` : 'proxy flags';
    throw new RigError(ErrorCodes.PROXY_BOOTSTRAP, `${where}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors: r.errors });
  }
  return r.value;
}
