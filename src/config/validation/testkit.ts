// config/validation: helpers for the validators' unit tests — build an object of a kind and summarise its issues.
import type { ConfigObject, ValidationIssue } from '../types.ts';
import { validateObject } from '../validate.ts';
import { ISTIO_KINDS } from '../kinds.ts';

export function objectOf(kind: string, spec: unknown, name = 'x', namespace = 'default'): ConfigObject {
  const info = ISTIO_KINDS.find((k) => k.kind === kind);
  const apiVersion = info ? `${info.group}/${info.versions[0]}` : 'v1';
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

/** Issues of one severity as "path: message" lines, for readable assertions. */
export function issuesOf(kind: string, spec: unknown, severity: ValidationIssue['severity'] = 'error', name?: string): string[] {
  return validateObject(objectOf(kind, spec, name)).filter((i) => i.severity === severity).map((i) => `${i.path}: ${i.message}`);
}

/** The paths of the errors only. */
export function errorPaths(kind: string, spec: unknown, name?: string): string[] {
  return validateObject(objectOf(kind, spec, name)).filter((i) => i.severity === 'error').map((i) => i.path);
}
