// model: parse a connecting proxy's xDS node (Istio's id form + metadata) into a Proxy.
import { isIP } from 'node:net';
import { ErrorCodes, RigError } from '../common/errors.ts';
import type { Locality, Proxy, ProxyType } from './types.ts';

export interface NodeLike {
  id: string;
  /** Plain JSON, or a google.protobuf.Struct as decoded by proto-loader ({fields: {K: {string_value: ...}}}). */
  metadata?: Record<string, unknown> | null;
  locality?: { region?: string; zone?: string; sub_zone?: string; subZone?: string; subzone?: string } | null;
}

const TYPES: readonly ProxyType[] = ['sidecar', 'router'];

/**
 * Parse `TYPE~IP~NAME.NAMESPACE~NAMESPACE.svc.DOMAIN` plus metadata (NAMESPACE, LABELS, SERVICE_ACCOUNT,
 * WORKLOAD_NAME, GENERATOR, INSTANCE_IPS, CLUSTER_ID). Metadata wins over what the id implies.
 * Returns a RigError (XDS_BAD_NODE) naming what is wrong instead of throwing.
 */
export function parseProxy(node: NodeLike): Proxy | RigError {
  const bad = (why: string) => new RigError(ErrorCodes.XDS_BAD_NODE,
    `node id ${JSON.stringify(node?.id)}: ${why} (expected TYPE~IP~NAME.NAMESPACE~NAMESPACE.svc.cluster.local, TYPE sidecar or router)`,
    { nodeId: node?.id });
  if (!node || typeof node.id !== 'string' || node.id === '') return bad('is empty');
  const parts = node.id.split('~');
  if (parts.length !== 4) return bad(`has ${parts.length} "~"-separated parts, not 4`);
  const [type, ip, nameNs, dnsDomain] = parts as [string, string, string, string];
  if (!TYPES.includes(type as ProxyType)) return bad(`unknown proxy type "${type}"`);
  if (isIP(ip) === 0) return bad(`"${ip}" is not an IP address`);
  if (nameNs === '') return bad('has an empty NAME.NAMESPACE part');

  const md = normalizeMetadata(node.metadata);
  const dot = nameNs.indexOf('.');
  const name = dot >= 0 ? nameNs.slice(0, dot) : nameNs;
  const idNs = dot >= 0 ? nameNs.slice(dot + 1) : '';
  const domainNs = dnsDomain.split('.')[0] ?? '';
  const namespace = str(md.NAMESPACE) || idNs || domainNs;
  if (!namespace) return bad('names no namespace (neither NAME.NAMESPACE, the DNS domain, nor metadata NAMESPACE)');

  const ips: string[] = [ip];
  const extra = md.INSTANCE_IPS;
  const extraList = typeof extra === 'string' ? extra.split(',') : Array.isArray(extra) ? extra.map(String) : [];
  for (const raw of extraList) {
    const a = raw.trim();
    if (a === '') continue;
    if (isIP(a) === 0) return bad(`metadata INSTANCE_IPS holds "${a}", which is not an IP address`);
    if (!ips.includes(a)) ips.push(a);
  }

  let labels: Record<string, string> = {};
  if (md.LABELS !== undefined && md.LABELS !== null) {
    if (typeof md.LABELS !== 'object' || Array.isArray(md.LABELS)) return bad('metadata LABELS is not a map of strings');
    labels = Object.fromEntries(Object.entries(md.LABELS as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  }

  const proxy: Proxy = {
    id: node.id,
    type: type as ProxyType,
    ip,
    ips,
    name,
    namespace,
    dnsDomain: dnsDomain || `${namespace}.svc.cluster.local`,
    labels,
    locality: parseNodeLocality(node.locality, md),
    metadata: md,
  };
  const sa = str(md.SERVICE_ACCOUNT);
  if (sa) proxy.serviceAccount = sa;
  const wl = str(md.WORKLOAD_NAME);
  if (wl) proxy.workloadName = wl;
  const gen = str(md.GENERATOR);
  if (gen) proxy.generator = gen;
  const cid = str(md.CLUSTER_ID);
  if (cid) proxy.clusterId = cid;
  return proxy;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

function parseNodeLocality(loc: NodeLike['locality'], md: Record<string, unknown>): Locality {
  const out: Locality = {};
  if (loc) {
    if (loc.region) out.region = loc.region;
    if (loc.zone) out.zone = loc.zone;
    const sz = loc.sub_zone ?? loc.subZone ?? loc.subzone;
    if (sz) out.subzone = sz;
  }
  // Istio also accepts the locality as a label on the workload ("region/zone/subzone").
  if (!out.region && typeof md.LABELS === 'object' && md.LABELS) {
    const l = (md.LABELS as Record<string, unknown>)['istio-locality'];
    if (typeof l === 'string') return parseLocality(l.replace(/\./g, '/'));
  }
  return out;
}

/** "region/zone/subzone" (any part may be missing) -> Locality. */
export function parseLocality(s: string | undefined): Locality {
  const out: Locality = {};
  if (!s) return out;
  const [region, zone, subzone] = s.split('/');
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subzone) out.subzone = subzone;
  return out;
}

/**
 * Turn node metadata into plain JSON. proto-loader decodes google.protobuf.Struct as
 * {fields: {K: {string_value|number_value|bool_value|struct_value|list_value|null_value|kind}}}.
 */
function normalizeMetadata(md: unknown): Record<string, unknown> {
  if (!md || typeof md !== 'object') return {};
  const o = md as Record<string, unknown>;
  if (isStruct(o)) return structToJson(o);
  return { ...o };
}

function isStruct(o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  return keys.length === 1 && keys[0] === 'fields' && typeof o.fields === 'object' && o.fields !== null
    && Object.values(o.fields as object).every((v) => v && typeof v === 'object' && isValueShape(v as Record<string, unknown>));
}

const VALUE_KEYS = ['string_value', 'stringValue', 'number_value', 'numberValue', 'bool_value', 'boolValue',
  'struct_value', 'structValue', 'list_value', 'listValue', 'null_value', 'nullValue', 'kind'];

function isValueShape(v: Record<string, unknown>): boolean {
  return Object.keys(v).some((k) => VALUE_KEYS.includes(k));
}

function structToJson(s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((s.fields ?? {}) as Record<string, Record<string, unknown>>)) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: Record<string, unknown>): unknown {
  const kind = typeof v.kind === 'string' ? v.kind : undefined;
  const pick = (snake: string, camel: string) => (v[snake] !== undefined ? v[snake] : v[camel]);
  const key = kind ?? VALUE_KEYS.find((k) => k !== 'kind' && v[k] !== undefined && v[k] !== null);
  switch (key) {
    case 'string_value': case 'stringValue': return pick('string_value', 'stringValue');
    case 'number_value': case 'numberValue': return Number(pick('number_value', 'numberValue'));
    case 'bool_value': case 'boolValue': return Boolean(pick('bool_value', 'boolValue'));
    case 'struct_value': case 'structValue': return structToJson(pick('struct_value', 'structValue') as Record<string, unknown>);
    case 'list_value': case 'listValue': {
      const lv = pick('list_value', 'listValue') as { values?: Record<string, unknown>[] } | undefined;
      return (lv?.values ?? []).map(valueToJson);
    }
    default: return null;
  }
}
