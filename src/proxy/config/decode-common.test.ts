// proxy/config: header_value_option decoding refuses values and keys that would inject a line into an HTTP/1.1 head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, headerValueOptions } from './decode-common.ts';

test('a header to add with CR, LF or NUL in its value or key is a decode error naming the field; clean ones pass', () => {
  const ctx = new Ctx('route r1');
  const out = headerValueOptions([
    { header: { key: 'x-ok', value: 'fine value' } },
    { header: { key: 'x-bad', value: 'a\r\nset-cookie: evil=1' } },
    { header: { key: 'x-raw', raw_value: Buffer.from('b\nc').toString('base64') } },
    { header: { key: 'x-\rkey', value: 'v' } },
    { header: { key: 'x-nul', value: 'a\0b' } },
  ], ctx, 'response_headers_to_add');
  assert.equal(out[0]?.value, 'fine value');
  assert.deepEqual(ctx.errors.map((e) => e.field), [
    'response_headers_to_add[1].header.value',
    'response_headers_to_add[2].header.value',
    'response_headers_to_add[3].header.key',
    'response_headers_to_add[4].header.value',
  ]);
  for (const e of ctx.errors) assert.match(e.message, /CR, LF or NUL/);
});
