// test/proxy: the node:http2 fallback (RIG_PROXY_H2=node) stays working — the HTTP/2 engine tests run again in a child
// process with the variable set, so both codecs are exercised by every suite run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILES = ['test/proxy/engine-upgrade-h2.test.ts', 'test/proxy/h2-trailers.test.ts', 'test/proxy/h2-response-trailers.test.ts', 'test/proxy/h2-tls.test.ts'];

test('RIG_PROXY_H2=node: the HTTP/2 engine tests pass on node:http2 too', { timeout: 240_000 }, () => {
  // NODE_TEST_CONTEXT would make the child think it runs inside this test runner (and skip its files)
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...FILES], {
    cwd: root, env: { ...env, RIG_PROXY_H2: 'node' }, encoding: 'utf8', timeout: 230_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const pass = /^# pass (\d+)/m.exec(out), fail = /^# fail (\d+)/m.exec(out);
  assert.ok(pass && Number(pass[1]) > 0, out.slice(-2000));
  assert.equal(Number(fail?.[1] ?? -1), 0, out.slice(-4000));
  assert.equal(r.status, 0, out.slice(-2000));
});
