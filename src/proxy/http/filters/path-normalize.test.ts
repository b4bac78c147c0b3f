// proxy/http/filters: tests for the HCM path normalization (normalize_path, merge_slashes, escaped slashes) run before auth and routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeExchangePath, normalizePathAction, normalizeRequestPath, normalizesPath, type PathNormalizeOptions } from './path-normalize.ts';

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

test('a backslash is read as a slash under normalize_path (then dot segments and merging apply)', () => {
  assert.equal(normalizeRequestPath('/app\\admin', norm), '/app/admin');
  assert.equal(normalizeRequestPath('/x\\..\\admin', norm), '/admin');
  assert.equal(normalizeRequestPath('/a\\\\b', both), '/a/b');
  assert.equal(normalizeRequestPath('/a\\b', { normalizePath: false, mergeSlashes: false }), '/a\\b');
});

test('the fragment is dropped whatever else is configured', () => {
  assert.equal(normalizeRequestPath('/admin#x', norm), '/admin');
  assert.equal(normalizeRequestPath('/a?q=1#frag', both), '/a?q=1');
  assert.equal(normalizeRequestPath('/a/../b#/../c', norm), '/b');
});

const decodeMerge: PathNormalizeOptions = { normalizePath: true, mergeSlashes: true, pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' };

test('UNESCAPE_AND_FORWARD: %2F and %5C become separators before normalization (DECODE_AND_MERGE_SLASHES)', () => {
  assert.equal(normalizeRequestPath('/%2Fadmin', decodeMerge), '/admin');
  assert.equal(normalizeRequestPath('/x%2f%2e%2e%2fadmin', decodeMerge), '/admin');
  assert.equal(normalizeRequestPath('/a%5Cb%5c', decodeMerge), '/a/b/');
  assert.equal(normalizeRequestPath('/a?next=%2Fadmin', decodeMerge), '/a?next=%2Fadmin', 'the query is not unescaped');
  // KEEP_UNCHANGED (and BASE without the action) leave them encoded
  assert.equal(normalizeRequestPath('/%2Fadmin', { ...decodeMerge, pathWithEscapedSlashesAction: 'KEEP_UNCHANGED' }), '/%2Fadmin');
});

test('REJECT_REQUEST and UNESCAPE_AND_REDIRECT decide only when an escaped slash is present', () => {
  const reject = { ...decodeMerge, pathWithEscapedSlashesAction: 'REJECT_REQUEST' as const };
  const redirect = { ...decodeMerge, pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT' as const };
  assert.deepEqual(normalizePathAction('/a%2fb', reject), { action: 'reject' });
  assert.deepEqual(normalizePathAction('/a/./b', reject), { action: 'continue', path: '/a/b' });
  assert.deepEqual(normalizePathAction('/x/..%2Fadmin?y=1', redirect), { action: 'redirect', path: '/admin?y=1' });
  assert.deepEqual(normalizePathAction('/a%20b', redirect), { action: 'continue', path: '/a%20b' });
  // the string-only helper never lets an escaped slash through unexamined: it unescapes
  assert.equal(normalizeRequestPath('/a%2fb', reject), '/a/b');
});

test('normalizeExchangePath answers 400 / 307 with a location, or rewrites the path in place', () => {
  const replies: Array<{ status: number; location?: string }> = [];
  const ex = (path: string) => ({
    req: { path },
    localReply(status: number, _body: string, edits: { add: readonly { key: string; value: string }[] }) {
      replies.push({ status, location: edits.add.find((h) => h.key === 'location')?.value });
    },
  });
  const a = ex('/x/%2e%2e/admin');
  assert.equal(normalizeExchangePath(a, { ...decodeMerge, pathWithEscapedSlashesAction: 'REJECT_REQUEST' }), true);
  assert.equal(a.req.path, '/admin');
  assert.equal(normalizeExchangePath(ex('/%2Fadmin'), { ...decodeMerge, pathWithEscapedSlashesAction: 'REJECT_REQUEST' }), false);
  assert.equal(normalizeExchangePath(ex('/a%2F/b'), { ...decodeMerge, pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT' }), false);
  assert.deepEqual(replies, [{ status: 400, location: undefined }, { status: 307, location: '/a/b' }]);
  assert.equal(normalizesPath({ normalizePath: false, mergeSlashes: false, pathWithEscapedSlashesAction: 'KEEP_UNCHANGED' }), false);
  assert.equal(normalizesPath({ normalizePath: false, mergeSlashes: false, pathWithEscapedSlashesAction: 'REJECT_REQUEST' }), true);
});
