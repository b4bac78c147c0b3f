// config/validation: object metadata rules (Kubernetes names, labels, annotations).
import type { Issues } from './context.ts';
import { isPlainObject, key } from './context.ts';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}
function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}
/** A Kubernetes label key: optional DNS subdomain prefix and a name of at most 63 characters. */
export function labelKeyProblem(k: string): string | undefined {
  const parts = k.split('/');
  if (parts.length > 2) return 'a label key has at most one "/"';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return `label key prefix "${prefix}" is not a DNS subdomain`;
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) return `label key name "${name}" is not a valid qualified name`;
  return undefined;
}
export function labelValueProblem(v: string): string | undefined {
  if (v.length > 63 || !LABEL_VALUE.test(v)) return `label value "${v}" is invalid (at most 63 alphanumerics, "-", "_", "." starting and ending alphanumeric)`;
  return undefined;
}

function validateLabelMap(m: unknown, path: string, issues: Issues): void {
  if (m === undefined || m === null) return;
  if (!isPlainObject(m)) {
    issues.error(path, 'must be a map of string to string');
    return;
  }
  for (const [k, v] of Object.entries(m)) {
    const kp = labelKeyProblem(k);
    if (kp) issues.error(key(path, k), kp);
    if (typeof v !== 'string') issues.error(key(path, k), 'label value must be a string');
    else {
      const vp = labelValueProblem(v);
      if (vp) issues.error(key(path, k), vp);
    }
  }
}

export function validateMetadata(meta: unknown, istioKind: boolean, issues: Issues): void {
  if (!isPlainObject(meta)) {
    issues.error('metadata', 'metadata is required');
    return;
  }
  const name = meta.name;
  if (typeof name !== 'string' || name === '') issues.error('metadata.name', 'metadata.name is required');
  else if (istioKind && !isDns1123Subdomain(name)) issues.error('metadata.name', `name "${name}" must be a DNS-1123 subdomain (lower case alphanumerics, "-" and ".")`);
  const ns = meta.namespace;
  if (ns !== undefined && (typeof ns !== 'string' || !isDns1123Label(ns))) issues.error('metadata.namespace', `namespace "${String(ns)}" must be a DNS-1123 label`);
  validateLabelMap(meta.labels, 'metadata.labels', issues);
  if (meta.annotations !== undefined && meta.annotations !== null) {
    if (!isPlainObject(meta.annotations)) issues.error('metadata.annotations', 'must be a map of string to string');
    else for (const [k, v] of Object.entries(meta.annotations)) if (typeof v !== 'string') issues.error(key('metadata.annotations', k), 'annotation value must be a string');
  }
}
