// config/validation: the issue collector every kind validator writes into, with field-path helpers.
import type { Severity, ValidationIssue } from '../types.ts';
import { ErrorCodes } from '../../common/errors.ts';

export class Issues {
  readonly list: ValidationIssue[] = [];
  constructor(readonly base: Omit<ValidationIssue, 'severity' | 'code' | 'path' | 'message'> = {}) {}

  add(severity: Severity, path: string, message: string, code: string = ErrorCodes.CONFIG_INVALID): void {
    this.list.push({ severity, code, ...this.base, path, message });
  }
  error(path: string, message: string): void { this.add('error', path, message); }
  warn(path: string, message: string): void { this.add('warning', path, message); }
  notice(path: string, message: string): void { this.add('notice', path, message); }
  get errorCount(): number { return this.list.filter((i) => i.severity === 'error').length; }
}

/** Join a field path: p('spec', 'http') → "spec.http"; idx('spec.http', 0) → "spec.http[0]". */
export function p(base: string, field: string): string {
  return base ? `${base}.${field}` : field;
}
export function idx(base: string, i: number): string {
  return `${base}[${i}]`;
}
/** Map keys that are not plain identifiers are written as base[key]. */
export function key(base: string, k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? `${base}.${k}` : `${base}[${JSON.stringify(k)}]`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

// Defensive accessors for semantic rules: the schema pass reports wrong types, so rules read what they can.
export function asObj(v: unknown): Record<string, any> {
  return isPlainObject(v) ? v : {};
}
export function asArr(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}
export function asStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function asNum(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
/** Set in the proto sense: present and not null. */
export function has(o: Record<string, unknown>, f: string): boolean {
  return o[f] !== undefined && o[f] !== null;
}
/** A repeated/map field that holds at least one element. */
export function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return false;
}
