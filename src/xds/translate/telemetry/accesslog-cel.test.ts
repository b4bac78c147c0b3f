// xds/translate/telemetry: tests for the CEL subset -> Envoy AccessLogFilter translation (shape per form, errors
// for everything else). test/golden/telemetry-tests/accesslog.test.ts evaluates the same filters in the proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { celToAccessLogFilter } from './accesslog-cel.ts';

const f = (e: string) => {
  const r = celToAccessLogFilter(e);
  assert.equal(r.error, undefined, `${e}: ${r.error}`);
  return r.filter as Record<string, any>;
};
const code = (op: string, v: number) => ({ status_code_filter: { comparison: { op, value: { default_value: v, runtime_key: 'access_log.status_code' } } } });
const dur = (op: string, v: number) => ({ duration_filter: { comparison: { op, value: { default_value: v, runtime_key: 'access_log.duration' } } } });

test('response.code comparisons map onto EQ / GE / LE (Envoy has no > < or !=)', () => {
  assert.deepEqual(f('response.code >= 400'), code('GE', 400));
  assert.deepEqual(f('response.code > 499'), code('GE', 500));
  assert.deepEqual(f('response.code < 300'), code('LE', 299));
  assert.deepEqual(f('response.code <= 204'), code('LE', 204));
  assert.deepEqual(f('response.code == 503'), code('EQ', 503));
  assert.deepEqual(f('response.code != 200'), { or_filter: { filters: [code('LE', 199), code('GE', 201)] } });
  assert.deepEqual(f('400 <= response.code'), code('GE', 400), 'a literal on the left flips the operator');
  assert.deepEqual(f('  (response.code>=500)  '), code('GE', 500));
});

test('response.duration in milliseconds, also as duration()', () => {
  assert.deepEqual(f('response.duration > 1000'), dur('GE', 1001));
  assert.deepEqual(f("response.duration >= duration('2s')"), dur('GE', 2000));
  assert.deepEqual(f('response.duration < duration("250ms")'), dur('LE', 249));
  assert.deepEqual(f("response.duration >= duration('1m30s')"), dur('GE', 90_000)); // Go syntax: several parts
});

test('response flags and request headers', () => {
  assert.deepEqual(f('has(response.flags)'), { response_flag_filter: {} });
  assert.deepEqual(f("response.flags != '-'"), { response_flag_filter: {} });
  assert.deepEqual(f('response.flags != 0'), { response_flag_filter: {} });
  assert.deepEqual(f("request.headers['X-Debug'] == 'on'"), { header_filter: { header: { name: 'x-debug', string_match: { exact: 'on' } } } });
  assert.deepEqual(f('request.headers["user"] != "bot"'), { header_filter: { header: { name: 'user', string_match: { exact: 'bot' }, invert_match: true } } });
});

test('&& binds tighter than ||; parentheses group', () => {
  assert.deepEqual(f('response.code >= 500 || response.code == 429 && response.duration > 10'), {
    or_filter: { filters: [code('GE', 500), { and_filter: { filters: [code('EQ', 429), dur('GE', 11)] } }] },
  });
  assert.deepEqual(f("(response.code >= 500 || has(response.flags)) && request.headers['x'] == 'y'"), {
    and_filter: { filters: [{ or_filter: { filters: [code('GE', 500), { response_flag_filter: {} }] } }, { header_filter: { header: { name: 'x', string_match: { exact: 'y' } } } }] },
  });
});

test('everything outside the subset is an error naming the expression, never a guess', () => {
  for (const e of ['', 'true', 'response.code >= 400 &&', "request.url_path.startsWith('/api')", 'response.code == "x"',
    'response.flags == 0', 'source.address == "1.2.3.4"', 'response.code >= 400 response.code', '!has(response.flags)', 'response.code in [500]',
    "response.duration > duration('abc')", "request.headers['x'] > 'a'"]) {
    const r = celToAccessLogFilter(e);
    assert.equal(r.filter, undefined, e);
    assert.match(r.error!, /^filter expression not supported: /, e);
    assert.ok(r.error!.includes(JSON.stringify(e)), e);
  }
});
