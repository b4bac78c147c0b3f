// proxy/http/filters: tests for the HCM path normalization (normalize_path, merge_slashes) run before auth and routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestPath } from './path-normalize.ts';

const both = { normalizePath: true, mergeSlashes: true };
const norm = { normalizePath: true, mergeSlashes: false };

test('dot segments are removed, also when percent-encoded; the query is untouched', () => {
  assert.equal(normalizeRequestPath('/a/./b/../admin', norm), '/a/admin');
  assert.equal(normalizeRequestPath('/../../admin', norm), '/admin');
  assert.equal(normalizeRequestPath('/x/%2e%2e/admin?q=/../', norm), '/admin?q=/../');
  assert.equal(normalizeRequestPath('/a/b/.', norm), '/a/b/');
  assert.equal(normalizeRequestPath('/a/b/..', norm), '/a/');
});

test('unreserved characters are decoded, reserved ones (%2F, %3F) stay encoded', () => {
  assert.equal(normalizeRequestPath('/%61dmin', norm), '/admin');
  assert.equal(normalizeRequestPath('/a%2Fb%3f', norm), '/a%2Fb%3f');
  assert.equal(normalizeRequestPath('/%7euser', norm), '/~user');
});

test('merge_slashes collapses repeated slashes; without it they stay', () => {
  assert.equal(normalizeRequestPath('//admin///x', both), '/admin/x');
  assert.equal(normalizeRequestPath('//admin', norm), '//admin');
  assert.equal(normalizeRequestPath('//admin', { normalizePath: false, mergeSlashes: true }), '/admin');
});

test('unchanged paths come back as the same string; non-origin forms are left alone', () => {
  const p = '/plain/path?x=1';
  assert.equal(normalizeRequestPath(p, both), p);
  assert.equal(normalizeRequestPath('*', both), '*');
  assert.equal(normalizeRequestPath('http://h/a/../b', both), 'http://h/a/../b');
});
