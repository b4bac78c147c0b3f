// test/conformance: Istio's own validation corpus and sample configuration, run through Rigging's config API.
// Data lives outside the repo (../shared/conformance); the test skips, saying why, when it is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { ISTIO_KINDS, KUBERNETES_USED_KINDS, MESH_CONFIGMAP_NAME } from '../../src/config/kinds.ts';
import type { ValidationIssue } from '../../src/config/types.ts';

const ROOT = resolve(process.cwd(), '../shared/conformance/istio');
const missing = existsSync(ROOT) ? false : `conformance data not found at ${ROOT}`;

function yamlFiles(dir: string, suffix = '.yaml'): string[] {
  return readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(suffix)).sort().map((f) => join(ROOT, dir, f));
}

/** Every YAML document of a file with its index, as parseConfigText numbers them (empty documents keep their place). */
function documents(file: string): { index: number; value: Record<string, unknown> | null }[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d, index) => ({ index, value: d.toJS() as Record<string, unknown> | null }));
}

const errorsOf = (issues: ValidationIssue[]) => issues.filter((i) => i.severity === 'error');
const fmt = (i: ValidationIssue) => `${i.path || '(document)'}: ${i.message}`;

// --- validation/*-valid.yaml: every document accepted with no error ---
test('Istio validation corpus: every *-valid.yaml document is accepted', { skip: missing }, () => {
  const failures: string[] = [];
  let checked = 0;
  for (const file of yamlFiles('validation', '-valid.yaml')) {
    // Parse the whole file as a user would; then account for each document by its index.
    const r = parseConfigText(readFileSync(file, 'utf8'), file);
    for (const doc of documents(file)) {
      if (doc.value === null) continue;
      checked++;
      const errs = errorsOf(r.issues).filter((i) => i.document === doc.index);
      const loaded = r.objects.filter((o) => o.source?.document === doc.index).length;
      if (errs.length > 0 || loaded !== 1) failures.push(`${file.split('/').pop()} doc ${doc.index}: ${errs.map(fmt).join('; ') || 'not loaded'}`);
    }
  }
  assert.ok(checked > 0, 'no valid documents found');
  assert.deepEqual(failures, [], `rejected valid documents:\n${failures.join('\n')}`);
});

/** Istio's error, when it starts with a field path ("spec.x.y: Required value", "audiences[0] in body ..."). */
function istioPath(err: string): string | undefined {
  const m = /^([A-Za-z_][\w]*(?:\[\d+\])*(?:\.[A-Za-z_][\w]*(?:\[\d+\])*)*)(?=: | in body )/.exec(err);
  return m?.[1];
}

/** Does our path name the field Istio's path names? A full path ("spec...") must be a prefix of ours (ours may
 * point deeper, e.g. at a map key); a partial path ("audiences[0]") must appear as whole segments of ours. */
function pathMatches(ours: string, istio: string): boolean {
  if (istio === 'spec' || istio.startsWith('spec.') || istio.startsWith('spec[')) {
    return ours === istio || ours.startsWith(`${istio}.`) || ours.startsWith(`${istio}[`);
  }
  const o = `.${ours}`;
  return o.endsWith(`.${istio}`) || o.includes(`.${istio}.`) || o.includes(`.${istio}[`);
}

function keysOf(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => keysOf(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
    out.add(k.toLowerCase());
    keysOf(x, out);
  }
  return out;
}

/** Words of Istio's message that are field names of this document: the fields its prose names. */
function namedFields(err: string, doc: Record<string, unknown>): string[] {
  const keys = keysOf(doc.spec ?? {});
  return [...new Set(err.split(/[^A-Za-z0-9_]+/).map((w) => w.toLowerCase()).filter((w) => keys.has(w)))];
}

function mentions(i: ValidationIssue, field: string): boolean {
  const segs = i.path.toLowerCase().split(/[.\[\]"]+/);
  return segs.includes(field) || new RegExp(`\\b${field}\\b`, 'i').test(i.message);
}

// --- validation/*-invalid.yaml: every document rejected, with an error on the field Istio names ---
test('Istio validation corpus: every *-invalid.yaml document is rejected on the field Istio names', { skip: missing }, () => {
  const failures: string[] = [];
  let checked = 0;
  for (const file of yamlFiles('validation', '-invalid.yaml')) {
    const src = readFileSync(file, 'utf8');
    parseAllDocuments(src).forEach((d, index) => {
      const value = d.toJS() as Record<string, unknown> | null;
      if (value === null) return;
      const where = `${file.split('/').pop()} doc ${index} (${String((value.metadata as { name?: string } | undefined)?.name)})`;
      const err = value._err;
      if (typeof err !== 'string') {
        failures.push(`${where}: no _err key`);
        return;
      }
      checked++;
      d.delete('_err');
      const r = parseConfigText(d.toString(), file);
      const errs = errorsOf(r.issues);
      if (errs.length === 0 || r.objects.length > 0) {
        failures.push(`${where}: accepted, but Istio rejects it with "${err}"`);
        return;
      }
      const path = istioPath(err);
      if (path !== undefined) {
        if (!errs.some((i) => pathMatches(i.path, path))) failures.push(`${where}: Istio names ${path} ("${err}"), we said ${errs.map(fmt).join('; ')}`);
        return;
      }
      const fields = namedFields(err, value);
      if (fields.length > 0 && !errs.some((i) => fields.some((f) => mentions(i, f)))) {
        failures.push(`${where}: Istio's error "${err}" concerns ${fields.join('/')}, we said ${errs.map(fmt).join('; ')}`);
      }
    });
  }
  assert.ok(checked > 0, 'no invalid documents found');
  assert.deepEqual(failures, [], `per-document failures:\n${failures.join('\n')}`);
});

// --- config/ and bookinfo/: Istio documents accepted unchanged; Kubernetes kinds used or skipped with a notice ---
const istioKinds = new Set(ISTIO_KINDS.map((k) => k.kind));
const usedKinds = new Set(KUBERNETES_USED_KINDS.map((k) => k.kind));

for (const dir of ['config', 'bookinfo']) {
  test(`Istio ${dir}/ samples: every Istio document accepted, Kubernetes kinds used or skipped with a notice`, { skip: missing }, () => {
    const failures: string[] = [];
    let istioDocs = 0;
    for (const file of yamlFiles(dir)) {
      const name = file.split('/').pop();
      const r = parseConfigText(readFileSync(file, 'utf8'), file);
      for (const e of errorsOf(r.issues)) failures.push(`${name} doc ${e.document}: ${e.kind ?? ''} ${fmt(e)}`);
      for (const doc of documents(file)) {
        if (doc.value === null) continue;
        const kind = String(doc.value.kind);
        const meta = doc.value.metadata as { name?: string } | undefined;
        const loaded = r.objects.some((o) => o.source?.document === doc.index);
        const noticed = r.issues.some((i) => i.document === doc.index && i.severity === 'notice');
        const used = istioKinds.has(kind) || (usedKinds.has(kind) && (kind !== 'ConfigMap' || meta?.name === MESH_CONFIGMAP_NAME));
        if (istioKinds.has(kind)) istioDocs++;
        if (used && !loaded) failures.push(`${name} doc ${doc.index}: ${kind} ${meta?.name} was not loaded`);
        if (!used && (loaded || !noticed)) failures.push(`${name} doc ${doc.index}: ${kind} ${meta?.name} should be skipped with a notice`);
      }
    }
    assert.ok(istioDocs > 0, `no Istio documents in ${dir}/`);
    assert.deepEqual(failures, [], `failures:\n${failures.join('\n')}`);
  });
}
