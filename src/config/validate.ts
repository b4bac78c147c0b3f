// config: validateObject — checks one ConfigObject (metadata, then its kind's schema and Istio's semantic rules).
import type { ConfigObject, ValidationIssue } from './types.ts';
import { ErrorCodes } from '../common/errors.ts';
import { lookupKind, MESH_CONFIGMAP_NAME } from './kinds.ts';
import { Issues, isPlainObject } from './validation/context.ts';
import { validateMetadata } from './validation/metadata.ts';
import { KIND_VALIDATORS } from './validation/registry.ts';

/** Validate one object. Never throws: every problem becomes an issue carrying the object's source and name. */
export function validateObject(obj: ConfigObject): ValidationIssue[] {
  const ns = obj?.metadata?.namespace;
  const name = obj?.metadata?.name;
  const issues = new Issues({
    ...(obj?.source ? { file: obj.source.file, document: obj.source.document } : {}),
    ...(obj?.kind ? { kind: obj.kind } : {}),
    ...(name ? { name: ns ? `${ns}/${name}` : name } : {}),
  });
  try {
    validateInto(obj, issues);
  } catch (e) {
    // A validator bug must not take down the caller; report it against the object instead.
    issues.error('', `internal validation failure: ${e instanceof Error ? e.message : String(e)}`);
  }
  return issues.list;
}

function validateInto(obj: ConfigObject, issues: Issues): void {
  if (!isPlainObject(obj)) {
    issues.error('', 'document is not an object');
    return;
  }
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') issues.add('error', 'apiVersion', 'apiVersion is required', ErrorCodes.CONFIG_UNKNOWN_KIND);
  if (typeof obj.kind !== 'string' || obj.kind === '') issues.add('error', 'kind', 'kind is required', ErrorCodes.CONFIG_UNKNOWN_KIND);
  if (issues.errorCount > 0) return;
  const found = lookupKind(obj.apiVersion, obj.kind);
  if (found.status === 'unknown') {
    issues.add('error', 'kind', found.reason, ErrorCodes.CONFIG_UNKNOWN_KIND);
    return;
  }
  if (found.status === 'skip') {
    issues.add('notice', '', found.reason, ErrorCodes.CONFIG_UNKNOWN_KIND);
    return;
  }
  validateMetadata(obj.metadata, found.info.cls === 'istio', issues);
  if (obj.kind === 'ConfigMap' && obj.metadata?.name !== MESH_CONFIGMAP_NAME) {
    issues.add('notice', '', `ConfigMap ${obj.metadata?.name} is not Istio's mesh config ("${MESH_CONFIGMAP_NAME}"); skipped`, ErrorCodes.CONFIG_UNKNOWN_KIND);
    return;
  }
  if (found.info.cls === 'istio') {
    // Istio's CRDs are structural: a top-level field other than the envelope and status is rejected.
    for (const k of Object.keys(obj.extra ?? {})) if (k !== 'status') issues.error(k, `unknown field "${k}"`);
    if (obj.spec !== undefined && obj.spec !== null && !isPlainObject(obj.spec)) {
      issues.error('spec', 'spec must be an object');
      return;
    }
  }
  if (found.info.cls === 'istio') checkIstioAnnotations(obj, issues);
  const v = KIND_VALIDATORS[obj.kind];
  if (v) v(obj, issues);
}

const RESERVED_ANNOTATIONS = ['internal.istio.io/webhook-always-reject', 'internal.istio.io/parents', 'internal.istio.io/parent-namespace'];
const GO_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Istio's annotation rules: internal annotations may not be set by users; istio.io/dry-run only on ALLOW/DENY
 * AuthorizationPolicies, with a boolean value. */
function checkIstioAnnotations(obj: ConfigObject, issues: Issues): void {
  const ann = isPlainObject(obj.metadata?.annotations) ? obj.metadata.annotations : {};
  for (const a of RESERVED_ANNOTATIONS) {
    if (a in ann) issues.error(`metadata.annotations["${a}"]`, `"${a}" annotation found; it is internal to Istio and may not be set by users`);
  }
  const dryRun = ann['istio.io/dry-run'];
  if (dryRun === undefined) return;
  const path = 'metadata.annotations["istio.io/dry-run"]';
  if (obj.kind !== 'AuthorizationPolicy') issues.error(path, `${obj.kind} does not support the istio.io/dry-run annotation; remove it`);
  else {
    const action = (isPlainObject(obj.spec) && typeof obj.spec.action === 'string' ? obj.spec.action : 'ALLOW') as string;
    if (action !== 'ALLOW' && action !== 'DENY') issues.error(path, `istio.io/dry-run only supports action ALLOW or DENY, found ${action}`);
    else if (!GO_BOOL.has(dryRun)) issues.error(path, `istio.io/dry-run must be true or false, got "${dryRun}"`);
  }
}
