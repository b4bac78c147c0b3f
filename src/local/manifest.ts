// local: the `rig up` manifest (DIR/rig.yaml) — which workloads run on this machine, how to start them, and where
// the mesh's Istio config lives. Workloads reuse Istio's WorkloadEntry fields (labels, ports, serviceAccount).
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ErrorCodes } from '../common/errors.ts';
import type { ValidationIssue } from '../config/types.ts';

export interface LocalWorkload {
  name: string; // instance name, e.g. reviews-v1 (the proxy's pod name)
  namespace: string;
  serviceAccount: string;
  labels: Record<string, string>;
  /** Port name -> the port the workload serves on (as WorkloadEntry.ports); the sidecar listens there for it. */
  ports: Record<string, number>;
  command: string[];
  env: Record<string, string>;
  /** Working directory of the command, relative to the manifest's directory. */
  cwd: string;
  /** Set false to run the workload without a sidecar (it is then reached directly). Default true. */
  sidecar: boolean;
}

export interface LocalMesh {
  name: string;
  dir: string; // directory holding rig.yaml
  configDir: string; // Istio config, watched by the control plane
  workloads: LocalWorkload[];
  ingress?: { namespace: string; name: string; labels: Record<string, string> };
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function issue(file: string, path: string, message: string, name?: string): ValidationIssue {
  return { severity: 'error', code: ErrorCodes.CONFIG_INVALID, file, document: 0, kind: 'Mesh', name, path, message };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown, file: string, path: string, issues: ValidationIssue[]): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) { issues.push(issue(file, path, 'must be a map of strings')); return {}; }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else issues.push(issue(file, `${path}.${k}`, 'must be a string'));
  }
  return out;
}

/** Reads DIR/rig.yaml. Never throws on user input: every problem is returned with its field path. */
export function readManifest(dir: string): { mesh?: LocalMesh; issues: ValidationIssue[] } {
  const file = join(dir, 'rig.yaml');
  const shown = relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { issues: [{ severity: 'error', code: ErrorCodes.CONFIG_READ, file: shown, path: '', message: `cannot read the mesh manifest: ${(e as Error).message} (rig up DIR needs DIR/rig.yaml; see examples/bookinfo/rig.yaml)` }] };
  }
  const docs = parseAllDocuments(text);
  const issues: ValidationIssue[] = [];
  const first = Array.isArray(docs) ? docs[0] : undefined;
  if (!first || first.errors.length) {
    const err = first?.errors[0];
    return { issues: [{ severity: 'error', code: ErrorCodes.CONFIG_PARSE, file: shown, document: 0, path: '', message: err ? err.message : 'empty manifest' }] };
  }
  const doc = first.toJS() as unknown;
  if (!isObj(doc)) return { issues: [issue(shown, '', 'manifest must be a YAML map')] };
  if (doc.apiVersion !== 'local.rigging.dev/v1alpha1' || doc.kind !== 'Mesh') {
    issues.push(issue(shown, 'apiVersion', `expected apiVersion local.rigging.dev/v1alpha1 and kind Mesh, got ${String(doc.apiVersion)} ${String(doc.kind)}`));
  }
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const spec = isObj(doc.spec) ? doc.spec : {};
  if (!isObj(doc.spec)) issues.push(issue(shown, 'spec', 'required'));
  const configDir = typeof spec.config === 'string' ? spec.config : 'config';
  const workloads: LocalWorkload[] = [];
  const raw = spec.workloads;
  if (!Array.isArray(raw) || raw.length === 0) issues.push(issue(shown, 'spec.workloads', 'must list at least one workload'));
  const seen = new Set<string>();
  (Array.isArray(raw) ? raw : []).forEach((w: unknown, i: number) => {
    const p = `spec.workloads[${i}]`;
    if (!isObj(w)) { issues.push(issue(shown, p, 'must be a map')); return; }
    const name = typeof w.name === 'string' ? w.name : '';
    if (!DNS1123.test(name)) issues.push(issue(shown, `${p}.name`, `"${name}" is not a valid name (lower-case letters, digits and '-')`, name));
    if (seen.has(name)) issues.push(issue(shown, `${p}.name`, `duplicate workload name "${name}"`, name));
    seen.add(name);
    const namespace = typeof w.namespace === 'string' ? w.namespace : 'default';
    if (!DNS1123.test(namespace)) issues.push(issue(shown, `${p}.namespace`, `"${namespace}" is not a valid namespace`, name));
    let command: string[] = [];
    if (typeof w.command === 'string') command = w.command.split(/\s+/).filter(Boolean);
    else if (Array.isArray(w.command) && w.command.every((c) => typeof c === 'string')) command = w.command as string[];
    if (!command.length) issues.push(issue(shown, `${p}.command`, 'required: the command that starts the workload (a list or a string)', name));
    const ports: Record<string, number> = {};
    if (!isObj(w.ports) || !Object.keys(w.ports).length) issues.push(issue(shown, `${p}.ports`, 'required: port name -> port, e.g. {http: 9080}', name));
    else for (const [pn, pv] of Object.entries(w.ports)) {
      if (typeof pv !== 'number' || !Number.isInteger(pv) || pv < 1 || pv > 65535) issues.push(issue(shown, `${p}.ports.${pn}`, 'must be a port number 1-65535', name));
      else ports[pn] = pv;
    }
    const labels = stringMap(w.labels, shown, `${p}.labels`, issues);
    if (!labels.app) issues.push(issue(shown, `${p}.labels.app`, 'required: the app label selects the workload into services', name));
    workloads.push({
      name, namespace, ports, command, labels,
      serviceAccount: typeof w.serviceAccount === 'string' ? w.serviceAccount : 'default',
      env: stringMap(w.env, shown, `${p}.env`, issues),
      cwd: typeof w.cwd === 'string' ? w.cwd : '.',
      sidecar: w.sidecar !== false,
    });
  });
  let ingress: LocalMesh['ingress'];
  if (spec.ingress !== undefined && spec.ingress !== false) {
    const ing = isObj(spec.ingress) ? spec.ingress : {};
    ingress = {
      namespace: typeof ing.namespace === 'string' ? ing.namespace : 'istio-system',
      name: typeof ing.name === 'string' ? ing.name : 'istio-ingressgateway',
      labels: isObj(ing.labels) ? stringMap(ing.labels, shown, 'spec.ingress.labels', issues) : { istio: 'ingressgateway', app: 'istio-ingressgateway' },
    };
  }
  if (issues.some((x) => x.severity === 'error')) return { issues };
  return { mesh: { name: typeof meta.name === 'string' ? meta.name : 'mesh', dir, configDir: join(dir, configDir), workloads, ingress }, issues };
}
