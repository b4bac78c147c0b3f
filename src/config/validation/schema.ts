// config/validation: a small structural-schema checker (types, required, enums, ranges, unknown fields, one-of groups)
// in the spirit of Kubernetes structural schemas; kind validators describe Istio's API with it.
import type { Issues } from './context.ts';
import { idx, isPlainObject, key, p, typeName } from './context.ts';
import { formatDurationNs, parseGoDuration } from '../../common/duration.ts';

export type Schema =
  | { t: 'string'; enum?: readonly string[]; minLength?: number; maxLength?: number; pattern?: RegExp; patternHint?: string; check?: (v: string) => string | undefined }
  | { t: 'duration'; minNs?: number; allowZero?: boolean }
  | { t: 'int'; min?: number; max?: number; port?: boolean }
  | { t: 'number'; min?: number; max?: number; exclusiveMin?: boolean }
  | { t: 'bool' }
  | { t: 'object'; fields: Record<string, Schema>; required?: readonly string[]; oneOf?: readonly string[]; oneOfGroups?: readonly (readonly string[])[]; minProperties?: number; open?: boolean; removed?: Record<string, string> }
  | { t: 'map'; values: Schema; minProperties?: number; maxProperties?: number; keyCheck?: (k: string) => string | undefined }
  | { t: 'array'; items: Schema; minItems?: number; maxItems?: number }
  | { t: 'intOrString' }
  | { t: 'any' }
  | { t: 'lazy'; get: () => Schema };

// Builders keep the kind schemas short and readable.
export const str = (o: Omit<Extract<Schema, { t: 'string' }>, 't'> = {}): Schema => ({ t: 'string', ...o });
export const enm = (values: readonly string[]): Schema => ({ t: 'string', enum: values });
export const int = (o: Omit<Extract<Schema, { t: 'int' }>, 't'> = {}): Schema => ({ t: 'int', ...o });
export const uint32: Schema = { t: 'int', min: 0, max: 4294967295 };
export const int32: Schema = { t: 'int', min: -2147483648, max: 2147483647 };
export const num = (o: Omit<Extract<Schema, { t: 'number' }>, 't'> = {}): Schema => ({ t: 'number', ...o });
export const bool: Schema = { t: 'bool' };
export const any: Schema = { t: 'any' };
export const intOrString: Schema = { t: 'intOrString' };
/** A duration at least 1ms, as Istio's CRDs require for most durations. */
export const dur: Schema = { t: 'duration', minNs: 1_000_000 };
/** At least 1ms, or exactly 0 where 0 means "disabled" (e.g. a TCP idle timeout). */
export const durOrZero: Schema = { t: 'duration', minNs: 1_000_000, allowZero: true };
/** A duration with no lower bound beyond being non-negative (e.g. a cookie TTL, where 0 has a meaning). */
export const durAny: Schema = { t: 'duration', allowZero: true };
export const obj = (fields: Record<string, Schema>, o: Omit<Extract<Schema, { t: 'object' }>, 't' | 'fields'> = {}): Schema => ({ t: 'object', fields, ...o });
export const arr = (items: Schema, o: Omit<Extract<Schema, { t: 'array' }>, 't' | 'items'> = {}): Schema => ({ t: 'array', items, ...o });
export const map = (values: Schema, o: Omit<Extract<Schema, { t: 'map' }>, 't' | 'values'> = {}): Schema => ({ t: 'map', values, ...o });
export const strs: Schema = arr(str());
export const strMap: Schema = map(str());
export const lazy = (get: () => Schema): Schema => ({ t: 'lazy', get });
/** A port number: uint32 in the API, 1..65535 in Istio's rules. */
export const port: Schema = { t: 'int', min: 0, max: 4294967295, port: true };

/** Check `value` against `schema`, reporting problems under `path`. Null object fields count as absent, as
 * Kubernetes prunes them; a null array item or map value is a type error. */
export function checkSchema(value: unknown, schema: Schema, path: string, issues: Issues): void {
  switch (schema.t) {
    case 'lazy':
      return checkSchema(value, schema.get(), path, issues);
    case 'any':
      return;
    case 'string': {
      if (typeof value !== 'string') return typeError(value, 'string', path, issues);
      if (schema.enum && !schema.enum.includes(value)) {
        issues.error(path, `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
        return;
      }
      if (schema.minLength !== undefined && value.length < schema.minLength) issues.error(path, `should be at least ${schema.minLength} chars long`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) issues.error(path, `may not be more than ${schema.maxLength} chars long`);
      if (schema.pattern && !schema.pattern.test(value)) issues.error(path, `${JSON.stringify(value)} should match ${schema.patternHint ?? schema.pattern.source}`);
      const msg = schema.check?.(value);
      if (msg) issues.error(path, msg);
      return;
    }
    case 'duration': {
      if (typeof value !== 'string') return typeError(value, 'string (a duration such as "5s")', path, issues);
      const ns = parseGoDuration(value);
      if (ns === undefined) {
        issues.error(path, `${JSON.stringify(value)} is not a valid duration (e.g. "1.5s", "300ms", "1m")`);
        return;
      }
      if (ns < 0) issues.error(path, 'duration must not be negative');
      else if (schema.minNs !== undefined && ns < schema.minNs && !(schema.allowZero && ns === 0)) issues.error(path, `must be a valid duration greater than ${formatDurationNs(schema.minNs)}`);
      else if (schema.minNs !== undefined && ns % 1_000_000 !== 0) issues.error(path, 'only durations to ms precision are supported');
      return;
    }
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return typeError(value, 'integer', path, issues);
      if (schema.port && (value < 1 || value > 65535)) issues.error(path, `port must be between 1-65535 (got ${value})`);
      else if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
        issues.error(path, `Invalid value: ${value}: must be between ${schema.min ?? '-inf'} and ${schema.max ?? 'inf'}`);
      }
      return;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return typeError(value, 'number', path, issues);
      if (schema.min !== undefined && (schema.exclusiveMin ? value <= schema.min : value < schema.min)) issues.error(path, `Invalid value: ${value}: should be ${schema.exclusiveMin ? 'greater than' : 'greater than or equal to'} ${schema.min}`);
      if (schema.max !== undefined && value > schema.max) issues.error(path, `Invalid value: ${value}: should be less than or equal to ${schema.max}`);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') typeError(value, 'boolean', path, issues);
      return;
    case 'intOrString':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) typeError(value, 'integer or string', path, issues);
      return;
    case 'array': {
      if (!Array.isArray(value)) return typeError(value, 'array', path, issues);
      if (schema.minItems !== undefined && value.length < schema.minItems) issues.error(path, `should have at least ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) issues.error(path, `must have at most ${schema.maxItems} items`);
      value.forEach((item, i) => checkSchema(item, schema.items, idx(path, i), issues));
      return;
    }
    case 'map': {
      if (!isPlainObject(value)) return typeError(value, 'object', path, issues);
      const n = Object.keys(value).length;
      if (schema.minProperties !== undefined && n < schema.minProperties) issues.error(path, `should have at least ${schema.minProperties} properties`);
      if (schema.maxProperties !== undefined && n > schema.maxProperties) issues.error(path, `should have at most ${schema.maxProperties} properties`);
      for (const [k, v] of Object.entries(value)) {
        const kp = key(path, k);
        const km = schema.keyCheck?.(k);
        if (km) issues.error(kp, km);
        checkSchema(v, schema.values, kp, issues);
      }
      return;
    }
    case 'object': {
      if (!isPlainObject(value)) return typeError(value, 'object', path, issues);
      for (const [k, v] of Object.entries(value)) {
        const f = schema.fields[k];
        if (!f) {
          const removed = schema.removed?.[k];
          if (removed !== undefined) issues.warn(p(path, k), `field "${k}" is no longer part of Istio's API and is ignored${removed ? `: ${removed}` : ''}`);
          else if (!schema.open) issues.error(p(path, k), `unknown field "${k}"`);
          continue;
        }
        if (v === null) continue; // pruned, as Kubernetes does for null fields
        checkSchema(v, f, p(path, k), issues);
      }
      for (const r of schema.required ?? []) if (value[r] === undefined || value[r] === null) issues.error(p(path, r), 'Required value');
      if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) issues.error(path, `should have at least ${schema.minProperties} properties`);
      for (const group of [...(schema.oneOf ? [schema.oneOf] : []), ...(schema.oneOfGroups ?? [])]) {
        const set = group.filter((f) => value[f] !== undefined && value[f] !== null);
        if (set.length > 1) issues.error(p(path, set[1]!), `only one of ${group.join(', ')} may be set (found ${set.join(' and ')})`);
      }
      return;
    }
  }
}

function typeError(value: unknown, want: string, path: string, issues: Issues): void {
  issues.error(path, `must be of type ${want}, got ${typeName(value)}${typeof value === 'string' || typeof value === 'number' ? ` ${JSON.stringify(value)}` : ''}`);
}
