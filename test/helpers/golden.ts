// test helper: golden files for translation — load a feature's input.yaml into a PushContext, build
// proxies from Istio node ids, check every emitted resource is lossless protobuf, and compare (or, with
// RIG_UPDATE_GOLDEN=1, rewrite) <feature>/<proxy>.golden.json.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { objectsFromYaml } from '../../src/model/test-helpers.ts';
import type { ConfigObject } from '../../src/config/types.ts';
import { settings } from '../../src/common/settings.ts';
import { lookupType, normalize, TypeUrl, resourceName } from '../../src/envoy/protos.ts';
import { buildSnapshot } from '../../src/model/snapshot.ts';
import { PushContext } from '../../src/model/push-context.ts';
import { parseProxy } from '../../src/model/proxy.ts';
import { isRigError } from '../../src/common/errors.ts';
import type { Proxy } from '../../src/model/types.ts';
import type { EnvoyResource, GeneratedConfig } from '../../src/xds/translate/types.ts';
import { buildRouteConfiguration } from '../../src/xds/translate/routes/index.ts';

export const GOLDEN_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/**
 * Parse Istio/Kubernetes YAML into config objects as the loader shapes them. Validation is deliberately
 * not run here so translation tests do not break while validation evolves; routes-inputs.test.ts checks
 * separately that every golden input is valid config.
 */
export function parseValidConfig(text: string, file: string): ConfigObject[] {
  return objectsFromYaml(text, file);
}

export function loadConfigFile(path: string): ConfigObject[] {
  return parseValidConfig(readFileSync(path, 'utf8'), path);
}

export function loadGoldenInput(feature: string): ConfigObject[] {
  return loadConfigFile(join(GOLDEN_ROOT, feature, 'input.yaml'));
}

export function contextFor(objects: ConfigObject[], version = 'test'): PushContext {
  return new PushContext(buildSnapshot(objects, version));
}

export interface ProxySpec {
  type?: 'sidecar' | 'router';
  ip?: string;
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/**
 * The proxies the routes-* goldens are generated for; the route simulator tests walk the same proxies' configs, so
 * both read them from here.
 */
export const routeProxies = {
  productpage: { name: 'productpage-v1-abc', ip: '10.1.0.10', labels: { app: 'productpage', version: 'v1' } },
  ratings: { name: 'ratings-v1-abc', ip: '10.1.0.30', labels: { app: 'ratings', version: 'v1' } },
  otherNs: { name: 'client', namespace: 'other', ip: '10.1.0.40', labels: { app: 'client' } },
  ingress: { type: 'router', name: 'istio-ingressgateway-1', namespace: 'istio-system', ip: '10.1.0.2', labels: { istio: 'ingressgateway' } },
  grpcClient: { name: 'echo-client', ip: '10.1.0.60', labels: { app: 'client' }, metadata: { GENERATOR: 'grpc' } },
} satisfies Record<string, ProxySpec>;

/** A Proxy as parseProxy() makes it from an Istio node id + metadata. */
export function makeProxy(p: ProxySpec): Proxy {
  const ns = p.namespace ?? 'default';
  const node = {
    id: `${p.type ?? 'sidecar'}~${p.ip ?? '10.0.0.1'}~${p.name}.${ns}~${ns}.svc.cluster.local`,
    metadata: { NAMESPACE: ns, LABELS: p.labels ?? {}, ...p.metadata },
  };
  const proxy = parseProxy(node);
  if (isRigError(proxy)) throw proxy;
  return proxy;
}

const urlOf: Record<keyof GeneratedConfig, string> = {
  listeners: TypeUrl.Listener,
  routes: TypeUrl.RouteConfiguration,
  clusters: TypeUrl.Cluster,
  endpoints: TypeUrl.ClusterLoadAssignment,
  secrets: TypeUrl.Secret,
};

/**
 * Every key of `obj` must be a field of its protobuf type (recursively, through Anys by "@type"), and
 * at most one member of each oneof may be set: otherwise pack() would silently drop data.
 */
export function unknownFields(url: string, obj: unknown): string[] {
  const errors: string[] = [];
  const walk = (type: protobuf.Type, o: Record<string, unknown>, path: string): void => {
    const oneofSeen = new Map<string, string>();
    for (const [k, v] of Object.entries(o)) {
      if (k === '@type') continue;
      const f = type.fields[k];
      if (!f) { errors.push(`${path}.${k}: ${type.name} has no such field`); continue; }
      if (v === undefined || v === null) continue;
      if (f.partOf) {
        const prev = oneofSeen.get(f.partOf.name);
        if (prev) errors.push(`${path}: ${prev} and ${k} are both in oneof ${f.partOf.name}`);
        oneofSeen.set(f.partOf.name, k);
      }
      f.resolve();
      const rt = f.resolvedType;
      if (!(rt instanceof protobuf.Type)) continue;
      const items = f.map ? Object.values(v as object) : f.repeated ? (v as unknown[]) : [v];
      items.forEach((it, i) => {
        const p = `${path}.${k}${f.repeated ? `[${i}]` : f.map ? `[${Object.keys(v as object)[i]}]` : ''}`;
        if (typeof it !== 'object' || it === null) return;
        if (rt.fullName === '.google.protobuf.Any') {
          const t = (it as Record<string, unknown>)['@type'];
          if (typeof t !== 'string') { errors.push(`${p}: Any without @type`); return; }
          walk(lookupType(t), it as Record<string, unknown>, p);
        } else if (rt.fullName === '.google.protobuf.Struct' || rt.fullName === '.google.protobuf.Value') {
          // free-form
        } else walk(rt, it as Record<string, unknown>, p);
      });
    }
  };
  walk(lookupType(url), obj as Record<string, unknown>, resourceName(obj as Record<string, unknown>) || '<resource>');
  return errors;
}

export function assertLossless(url: string, obj: EnvoyResource): void {
  assert.deepEqual(unknownFields(url, obj), [], 'resource has fields protobuf would drop');
}

/** Normalized (encode/decode round trip) resources of each type, sorted by name; empty types omitted. */
export function normalizeConfig(cfg: Partial<GeneratedConfig>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const k of Object.keys(urlOf) as (keyof GeneratedConfig)[]) {
    const list = cfg[k];
    if (!list || list.length === 0) continue;
    for (const r of list) assertLossless(urlOf[k], r);
    out[k] = [...list]
      .sort((a, b) => (resourceName(a) < resourceName(b) ? -1 : resourceName(a) > resourceName(b) ? 1 : 0))
      .map((r) => normalize(urlOf[k], r));
  }
  return out;
}

/** Compare `actual` (normalized JSON) with <feature>/<name>.golden.json; RIG_UPDATE_GOLDEN=1 rewrites it. */
export function assertGolden(feature: string, name: string, actual: unknown): void {
  const file = join(GOLDEN_ROOT, feature, `${name}.golden.json`);
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (settings.updateGolden || !existsSync(file)) {
    if (!settings.updateGolden) assert.fail(`${file} is missing; run with RIG_UPDATE_GOLDEN=1 to create it`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return;
  }
  const expected = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(JSON.parse(text), expected, `${file} differs; if the change is intended, rerun with RIG_UPDATE_GOLDEN=1 and review the diff`);
}

/**
 * Minimal listeners so the simulator can reach route configs before (or without) the listener
 * generator: one HCM listener per route name, bound like the contract's listeners ("0.0.0.0_<port>",
 * "127.0.0.1_<port>" for http_proxy, api listeners "host:port" for proxyless gRPC).
 */
export function hcmListener(name: string, address: string, port: number, routeName: string, api = false): EnvoyResource {
  const hcm = {
    '@type': TypeUrl.HttpConnectionManager,
    stat_prefix: name,
    rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: { '@type': TypeUrl.Fault } },
      { name: 'envoy.filters.http.cors', typed_config: { '@type': TypeUrl.Cors } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } },
    ],
  };
  const base: EnvoyResource = { name, address: { socket_address: { address, port_value: port } } };
  if (api) return { ...base, api_listener: { api_listener: hcm } };
  return { ...base, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] };
}

export function emptyConfig(): GeneratedConfig {
  return { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
}

/**
 * Route configurations for `routeNames` plus a minimal listener reaching each, so the simulator can walk
 * routes without the listener generator: "9080" -> 0.0.0.0:9080, "http_proxy" -> 127.0.0.1:15080,
 * "http.8080" / "https.8443...." -> 0.0.0.0:<port>, gRPC names -> api listener "host:port".
 */
export function routesOnlyConfig(ctx: PushContext, proxy: Proxy, routeNames: string[]): GeneratedConfig {
  const cfg = emptyConfig();
  for (const name of routeNames) {
    const rc = buildRouteConfiguration(ctx, proxy, name);
    if (!rc) continue;
    cfg.routes.push(rc);
    let m: RegExpExecArray | null;
    if (/^\d+$/.test(name)) cfg.listeners.push(hcmListener(`0.0.0.0_${name}`, '0.0.0.0', Number(name), name));
    else if (name === 'http_proxy') cfg.listeners.push(hcmListener('127.0.0.1_15080', '127.0.0.1', 15080, name));
    else if ((m = /^https?\.(\d+)/.exec(name))) cfg.listeners.push(hcmListener(`0.0.0.0_${m[1]}`, '0.0.0.0', Number(m[1]), name));
    else if ((m = /^outbound\|(\d+)\|\|(.+)$/.exec(name))) cfg.listeners.push(hcmListener(`${m[2]}:${m[1]}`, '0.0.0.0', Number(m[1]), name, true));
  }
  return cfg;
}
