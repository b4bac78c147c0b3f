// config: reading Istio/Kubernetes YAML or JSON into ConfigObjects (multi-document, Lists, directories) and validating them.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isScalar, isSeq, parseAllDocuments, Scalar, visit } from 'yaml';
import type { ConfigObject, ObjectMeta, ValidationIssue } from './types.ts';
import { ErrorCodes, errorMessage } from '../common/errors.ts';
import { validateObject } from './validate.ts';
import { isPlainObject } from './validation/context.ts';

export { validateObject } from './validate.ts';

export interface LoadResult { objects: ConfigObject[]; issues: ValidationIssue[] }

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];
/** Top-level fields every document may carry; anything else goes to `extra` (and is rejected for Istio kinds). */
const ENVELOPE_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec']);
/** Bound alias expansion so a hostile file cannot blow up memory ("billion laughs"). */
const MAX_ALIAS_COUNT = 100;

/**
 * Parse a file's text (multi-document YAML, JSON, a JSON/YAML array, or a `kind: List`) into objects.
 * Each object is validated; only objects without errors are returned, and every issue (errors, warnings,
 * notices) is returned alongside. Never throws.
 */
export function parseConfigText(text: string, file: string): LoadResult {
  const objects: ConfigObject[] = [];
  const issues: ValidationIssue[] = [];
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    // logLevel 'error': the library's own warnings go to process warnings; problems are reported as issues instead.
    docs = parseAllDocuments(text, { uniqueKeys: true, logLevel: 'error' });
  } catch (e) {
    issues.push(parseIssue(file, 0, `cannot parse: ${errorMessage(e)}`));
    return { objects, issues };
  }
  if (!Array.isArray(docs)) return { objects, issues }; // an empty stream: nothing to load
  let index = 0;
  for (const doc of docs) {
    const docIndex = index;
    if (doc.errors.length > 0) {
      // The first syntax error is the useful one; the rest usually follow from it.
      const first = doc.errors[0]!;
      const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more problem(s) after it)` : '';
      const msg = (first.message.split('\n')[0] ?? first.message).replace(/:\s*$/, '');
      issues.push(parseIssue(file, docIndex, `${msg}${more}`));
      index++;
      continue;
    }
    let value: unknown;
    try {
      fixFlowColons(doc, text);
      const badKey = collectionKeyLine(doc, text);
      if (badKey !== undefined) {
        issues.push(parseIssue(file, docIndex, `a mapping key must be a plain value, not a list or mapping (line ${badKey})`));
        index++;
        continue;
      }
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      issues.push(parseIssue(file, docIndex, errorMessage(e)));
      index++;
      continue;
    }
    if (value === null || value === undefined) {
      index++; // an empty document (e.g. a trailing "---") holds nothing, but keeps its place in the count
      continue;
    }
    // A JSON array, or a `kind: List`, carries several objects in one document: each item gets its own index.
    const items = Array.isArray(value) ? value : isList(value) ? (value.items as unknown[]) : [value];
    if (items.length === 0) index++;
    for (const item of items) {
      const di = index++;
      const made = toConfigObject(item, file, di);
      if ('issue' in made) {
        issues.push(made.issue);
        continue;
      }
      const found = validateObject(made.object);
      issues.push(...found);
      const skipped = found.some((i) => i.severity === 'notice' && i.code === ErrorCodes.CONFIG_UNKNOWN_KIND && i.path === '');
      if (!skipped && !found.some((i) => i.severity === 'error')) objects.push(made.object);
    }
  }
  return { objects, issues };
}

/**
 * Kubernetes reads YAML with go-yaml, where a ':' ends a plain scalar only when a space follows it. So in
 * `addresses: [2001:db8::]` the item is the string "2001:db8::", while YAML 1.2 reads a one-pair mapping
 * {"2001:db8:": null}. Turn such pairs (a key, a ':' directly followed by ',' or ']', no value) back into the
 * string Kubernetes sees.
 */
function fixFlowColons(doc: ReturnType<typeof parseAllDocuments> extends Array<infer D> ? D : never, text: string): void {
  visit(doc, {
    Map(_key, map, path) {
      const parent = path[path.length - 1];
      if (!isSeq(parent) || !parent.flow || map.items.length !== 1 || !map.range || text[map.range[0]] === '{') return undefined;
      const pair = map.items[0]!;
      if (!isScalar(pair.key) || !pair.key.range) return undefined;
      if (pair.value !== null && !(isScalar(pair.value) && pair.value.source === '' && pair.value.value === null)) return undefined;
      const start = pair.key.range[0];
      let end = pair.key.range[1];
      while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end++;
      if (text[end] !== ':') return undefined;
      const after = text[end + 1];
      if (after !== ',' && after !== ']') return undefined;
      return new Scalar(text.slice(start, end + 1));
    },
  });
}

/** JSON (and so Kubernetes) has only string keys: report the line of the first key that is a collection. */
function collectionKeyLine(doc: ReturnType<typeof parseAllDocuments> extends Array<infer D> ? D : never, text: string): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (pair.key !== null && typeof pair.key === 'object' && !isScalar(pair.key)) {
        const at = (pair.key as { range?: [number, number, number] }).range?.[0] ?? 0;
        line = text.slice(0, at).split('\n').length;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return line;
}

function isList(v: unknown): v is { items: unknown[] } {
  return isPlainObject(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items) && v.spec === undefined;
}

function parseIssue(file: string, document: number, message: string): ValidationIssue {
  return { severity: 'error', code: ErrorCodes.CONFIG_PARSE, file, document, path: '', message };
}

/** Shape a parsed document as a ConfigObject. Type problems in the envelope are left to validateObject, which reports them by path. */
function toConfigObject(doc: unknown, file: string, document: number): { object: ConfigObject } | { issue: ValidationIssue } {
  if (!isPlainObject(doc)) {
    return { issue: { severity: 'error', code: ErrorCodes.CONFIG_PARSE, file, document, path: '', message: `a document must be an object, got ${Array.isArray(doc) ? 'an array' : typeof doc}` } };
  }
  const rawMeta = isPlainObject(doc.metadata) ? doc.metadata : undefined;
  const metadata: ObjectMeta = { ...(rawMeta ?? {}) } as unknown as ObjectMeta;
  if (rawMeta && (metadata.namespace === undefined || metadata.namespace === null || (metadata.namespace as unknown) === '')) metadata.namespace = 'default';
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!ENVELOPE_FIELDS.has(k)) extra[k] = v;
  const object: ConfigObject = {
    apiVersion: doc.apiVersion as string,
    kind: doc.kind as string,
    metadata: (rawMeta ? metadata : doc.metadata) as ObjectMeta,
    spec: doc.spec,
    source: { file, document },
  };
  if (Object.keys(extra).length > 0) object.extra = extra;
  return { object };
}

/** Load a file, or every *.yaml / *.yml / *.json under a directory (recursively, in sorted order). Never throws. */
export async function loadPath(path: string): Promise<LoadResult> {
  const objects: ConfigObject[] = [];
  const issues: ValidationIssue[] = [];
  let files: string[];
  try {
    files = await listConfigFiles(path);
  } catch (e) {
    issues.push({ severity: 'error', code: ErrorCodes.CONFIG_READ, file: path, path: '', message: `cannot read: ${errorMessage(e)}` });
    return { objects, issues };
  }
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (e) {
      issues.push({ severity: 'error', code: ErrorCodes.CONFIG_READ, file: f, path: '', message: `cannot read: ${errorMessage(e)}` });
      continue;
    }
    const r = parseConfigText(text, f);
    objects.push(...r.objects);
    issues.push(...r.issues);
  }
  return { objects, issues };
}

/** The config files a path names: itself if a file (whatever its extension), else matching files below it. */
async function listConfigFiles(path: string): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 64) return; // bounded: symlink loops cannot recurse forever
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full, depth + 1);
      else if (CONFIG_EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(full);
    }
  };
  await walk(path, 0);
  return out;
}
