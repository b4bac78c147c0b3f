// xds/translate/routes: unit tests for delegate VirtualService merging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasConflict, mergeMatches, mergeRoute } from './delegate.ts';

test('a child match must narrow the root match', () => {
  assert.ok(!hasConflict({ uri: { prefix: '/api' } }, { uri: { prefix: '/api/v1' } }));
  assert.ok(hasConflict({ uri: { prefix: '/api/v1' } }, { uri: { prefix: '/api' } }));
  assert.ok(!hasConflict({ uri: { prefix: '/api' } }, { uri: { exact: '/api/x' } }));
  assert.ok(hasConflict({ uri: { exact: '/a' } }, { uri: { prefix: '/a' } }));
  assert.ok(!hasConflict({ uri: { exact: '/a' } }, { uri: { exact: '/a' } }));
  assert.ok(hasConflict({ uri: { regex: '/a.*' } }, { uri: { prefix: '/a' } }), 'regexes cannot be compared');
  assert.ok(!hasConflict({}, { uri: { regex: '.*' } }), 'unset root accepts anything');
  assert.ok(hasConflict({ headers: { a: { exact: '1' } } }, { headers: { a: { exact: '2' } } }));
  assert.ok(hasConflict({ port: 80 }, { port: 81 }));
  assert.ok(hasConflict({ sourceLabels: { app: 'a' } }, { sourceLabels: { app: 'b' } }));
  assert.ok(hasConflict({ ignoreUriCase: true }, {}));
});

test('merged matches combine root and child conditions; names joined with "-"', () => {
  const out = mergeMatches(
    [{ name: 'r', uri: { prefix: '/api' }, headers: { a: { exact: '1' } } }],
    [{ name: 'c', uri: { prefix: '/api/v2' }, headers: { b: { exact: '2' } } }],
  );
  assert.deepEqual(out, [{ name: 'r-c', uri: { prefix: '/api/v2' }, headers: { a: { exact: '1' }, b: { exact: '2' } } }]);
  assert.equal(mergeMatches([{ uri: { prefix: '/api' } }], [{ uri: { prefix: '/x' } }]), undefined);
  assert.deepEqual(mergeMatches(undefined, [{ uri: { prefix: '/x' } }]), [{ uri: { prefix: '/x' } }]);
});

test('mergeRoute: the child wins, the root fills unset policies', () => {
  const m = mergeRoute(
    { name: 'root', match: [{ uri: { prefix: '/a' } }], timeout: '5s', retries: { attempts: 1 }, delegate: { name: 'c' } },
    { name: 'child', timeout: '1s', route: [{ destination: { host: 'x' } }] },
  )!;
  assert.equal(m.name, 'root-child');
  assert.equal(m.timeout, '1s');
  assert.deepEqual(m.retries, { attempts: 1 });
  assert.deepEqual(m.match, [{ uri: { prefix: '/a' } }]);
  assert.equal(mergeRoute({ match: [{ uri: { exact: '/a' } }] }, { match: [{ uri: { exact: '/b' } }] }), undefined);
});
