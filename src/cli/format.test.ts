// cli: output helpers — table alignment and format selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table, render, parseOutputFormat } from './format.ts';

test('table aligns columns under upper-case headers', () => {
  const t = table(['name', 'cds'], [['a-long-name', 'SYNCED'], ['b', 'STALE']]);
  assert.equal(t, 'NAME          CDS\na-long-name   SYNCED\nb             STALE\n');
});

test('render picks json/yaml/table', () => {
  assert.equal(render('json', { a: 1 }, () => 'T'), '{\n  "a": 1\n}\n');
  assert.equal(render('yaml', { a: 1 }, () => 'T'), 'a: 1\n');
  assert.equal(render('table', { a: 1 }, () => 'T'), 'T');
  assert.throws(() => parseOutputFormat('xml'), /not an output format/);
});
