// proxy/xds-client: the proxy's pre-built Envoy type descriptor — built by scripts/build.mjs into dist/ (generated,
// gitignored), loaded at start with protobufjs Root.fromJSON instead of parsing the .proto files.
//
// Why: parsing the data plane's .proto text costs the proxy ~100-200 ms and several MB of heap for good: every
// option value is a V8 sliced string that keeps its whole .proto source alive, and the validate/udpa option types come
// along. The descriptor holds only the types reachable from the data-plane files and the ADS messages, with no
// options but `packed`/`proto3_optional` (the only ones protobufjs's encode/decode read). A missing or stale file
// (other protobufjs / Envoy API version, other file list) is never used: the proxy parses the protos as before.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { dataPlaneProtoFiles, installDataPlaneRoot, loadProtoFiles } from '../../envoy/protos.ts';

/** The ADS messages (DiscoveryRequest/Response and their delta forms) the proxy's xDS stream encodes. */
export const ADS_PROTO_FILE = 'envoy/service/discovery/v3/discovery.proto';
const DESCRIPTOR_FILE_NAME = 'envoy-proxy-types.json';
/** Bump when the descriptor's shape or pruning changes, so older files count as stale. */
const GENERATOR_VERSION = 1;

export interface DescriptorFile {
  stamp: string;
  root: protobuf.INamespace;
}

const require = createRequire(import.meta.url);
function versionOf(pkg: string): string {
  try {
    return String((JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version?: string }).version);
  } catch {
    return '?';
  }
}

/** What the descriptor was built from: a file with another stamp is stale. */
function descriptorStamp(): string {
  return JSON.stringify({ g: GENERATOR_VERSION, protobufjs: versionOf('protobufjs'), xds: versionOf('@grpc/grpc-js-xds'), files: [...dataPlaneProtoFiles, ADS_PROTO_FILE] });
}

type Unit = protobuf.Type | protobuf.Enum;

/** The outermost message (or enum) that `o` is nested in: descriptors are emitted per top-level definition. */
function unitOf(o: protobuf.ReflectionObject): Unit {
  let u = o;
  while (u.parent && (u.parent instanceof protobuf.Type)) u = u.parent;
  return u as Unit;
}

function eachType(ns: protobuf.ReflectionObject, fn: (t: protobuf.Type) => void): void {
  if (ns instanceof protobuf.Type) fn(ns);
  if (ns instanceof protobuf.Namespace) for (const o of ns.nestedArray) eachType(o, fn);
}

/** Drop options (validation rules, annotations, comments) except the two protobufjs's codec reads. */
function strip(json: unknown, isField = false): unknown {
  if (Array.isArray(json) || json === null || typeof json !== 'object') return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k === 'comment') continue;
    if (k === 'options') {
      if (!isField) continue;
      const o = v as Record<string, unknown>;
      const keep: Record<string, unknown> = {};
      if ('packed' in o) keep.packed = o.packed;
      if ('proto3_optional' in o) keep.proto3_optional = o.proto3_optional;
      if (Object.keys(keep).length) out.options = keep;
      continue;
    }
    if (k === 'fields') {
      const f: Record<string, unknown> = {};
      for (const [name, field] of Object.entries(v as Record<string, unknown>)) f[name] = strip(field, true);
      out.fields = f;
      continue;
    }
    out[k] = strip(v);
  }
  return out;
}

/** Build the descriptor from the .proto files (build time): every definition of the data-plane and ADS files, and what they reach. */
export function buildDescriptor(): DescriptorFile {
  const files = [...dataPlaneProtoFiles, ADS_PROTO_FILE];
  const root = loadProtoFiles(files);
  const seeds = new Set<Unit>();
  const fromFiles = (t: protobuf.ReflectionObject): boolean => !!t.filename && files.some((f) => t.filename!.endsWith(f));
  const visit = (o: protobuf.ReflectionObject): void => {
    if ((o instanceof protobuf.Type || o instanceof protobuf.Enum) && fromFiles(o)) seeds.add(unitOf(o));
    if (o instanceof protobuf.Namespace) for (const c of o.nestedArray) visit(c);
  };
  visit(root);
  // Close over field types (messages, enums, map values), unit by unit.
  const keep = new Set<Unit>();
  const queue = [...seeds];
  while (queue.length) {
    const u = queue.pop()!;
    if (keep.has(u)) continue;
    keep.add(u);
    eachType(u, (t) => {
      for (const f of t.fieldsArray) if (f.resolvedType) queue.push(unitOf(f.resolvedType));
    });
  }
  const out: protobuf.INamespace = { nested: {} };
  for (const u of [...keep].sort((a, b) => a.fullName.localeCompare(b.fullName))) {
    const path = u.fullName.slice(1).split('.');
    let ns = out;
    for (const part of path.slice(0, -1)) {
      ns.nested ??= {};
      ns = (ns.nested[part] ??= {}) as protobuf.INamespace;
    }
    ns.nested ??= {};
    ns.nested[path[path.length - 1]] = strip(u.toJSON()) as protobuf.AnyNestedObject;
  }
  return { stamp: descriptorStamp(), root: out };
}

export function writeDescriptor(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(buildDescriptor()));
}

/** dist/envoy-proxy-types.json from here (src/proxy/xds-client/) or from the bundle (dist/rig-proxy.mjs). */
function defaultDescriptorPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, DESCRIPTOR_FILE_NAME);
  return existsSync(beside) ? beside : join(here, '..', '..', '..', 'dist', DESCRIPTOR_FILE_NAME);
}

export type DescriptorLoad = { root: protobuf.Root; path: string } | { reason: string; path: string };

/** Read and check a descriptor file; a missing, unreadable or stale file gives the reason instead of a root. */
export function loadDescriptor(path = defaultDescriptorPath()): DescriptorLoad {
  let file: DescriptorFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as DescriptorFile;
  } catch (e) {
    return { reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable: ${(e as Error).message}`, path };
  }
  if (file?.stamp !== descriptorStamp()) return { reason: 'stale (built from other protos or another generator)', path };
  try {
    const root = protobuf.Root.fromJSON(file.root);
    root.resolveAll();
    return { root, path };
  } catch (e) {
    return { reason: `invalid: ${(e as Error).message}`, path };
  }
}

let installed: DescriptorLoad | undefined;
/**
 * Use the pre-built descriptor for every data-plane type and the ADS messages, when it is there and fresh (once per
 * process). Returns how it went: `root` set = in use; else `reason` (the .proto files are parsed on first need).
 */
export function useProxyDescriptor(path?: string): DescriptorLoad {
  if (installed && 'root' in installed && path === undefined) return installed;
  installed = loadDescriptor(path);
  if ('root' in installed) installDataPlaneRoot(installed.root);
  return installed;
}

/** The descriptor root in use, if any (the ADS client takes its message types from it). */
export function proxyDescriptorRoot(): protobuf.Root | undefined {
  return installed && 'root' in installed ? installed.root : undefined;
}
