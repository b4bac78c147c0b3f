// proxy/io: coalesce / coalesceBytes build head + body slice + tail in the shared scratch; retainScratch retires it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COALESCE_LIMIT, coalesce, coalesceBytes, retainScratch } from './types.ts';

const body = Buffer.from('..0123456789..', 'latin1');

test('coalesce and coalesceBytes give head, the body slice and tail, byte for byte', () => {
  const head = 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n';
  const want = Buffer.from(head + '0123456789' + '\r\n', 'latin1');
  const a = coalesce(head, body, 2, 12, '\r\n');
  assert.ok(Buffer.isBuffer(a));
  assert.deepEqual(Buffer.from(a), want);
  const b = coalesceBytes(head, body, 2, 12, '\r\n');
  assert.equal(b.length, want.length);
  assert.deepEqual(Buffer.from(b), want);
  // head only, no body, latin1 bytes above 0x7f kept as single bytes
  const c = coalesceBytes('x\u00e9y', undefined, 0, 0, '');
  assert.deepEqual([...c], [0x78, 0xe9, 0x79]);
});

test('both views share the scratch until retainScratch retires it; a retired view keeps its bytes', () => {
  const first = coalesceBytes('first', undefined, 0, 0, '');
  const again = coalesceBytes('other', undefined, 0, 0, '');
  assert.equal(first.buffer, again.buffer, 'the scratch is reused');
  retainScratch(again);
  const next = coalesceBytes('third', body, 2, 4, '');
  assert.notEqual(next.buffer, again.buffer, 'a retained scratch is not written again');
  assert.equal(Buffer.from(again).toString('latin1'), 'other');
  assert.equal(Buffer.from(next).toString('latin1'), 'third01');
  // retaining a buffer that is not the current scratch changes nothing
  retainScratch(Buffer.from('x'));
  assert.equal(coalesce('y', undefined, 0, 0, '').buffer, next.buffer);
});

test('a message larger than the scratch gets its own buffer', () => {
  const big = Buffer.alloc(2 * COALESCE_LIMIT + 10, 0x61);
  const out = coalesceBytes('h', big, 0, big.length, 't');
  assert.equal(out.length, big.length + 2);
  assert.equal(out[0], 0x68);
  assert.equal(out[out.length - 1], 0x74);
  const small = coalesceBytes('s', undefined, 0, 0, '');
  assert.notEqual(out.buffer, small.buffer);
});

test('coalesceBytes reuses its view for a message of the same length, never across a retired scratch', () => {
  const a = coalesceBytes('abc', body, 2, 4, '');
  const b = coalesceBytes('xyz', body, 4, 6, '');
  assert.equal(a, b, 'same length: the same view object');
  assert.equal(Buffer.from(b).toString('latin1'), 'xyz23');
  const c = coalesceBytes('xy', body, 4, 6, '');
  assert.notEqual(c, b);
  assert.equal(Buffer.from(c).toString('latin1'), 'xy23');
  retainScratch(c);
  const d = coalesceBytes('pq', body, 2, 4, '');
  assert.notEqual(d, c, 'a retained scratch: a new view on the new scratch');
  assert.notEqual(d.buffer, c.buffer);
  assert.equal(Buffer.from(c).toString('latin1'), 'xy23', 'the retained bytes are untouched');
});

test('coalesceBytes copies the body with the copier it is given', () => {
  const calls: number[][] = [];
  const out = coalesceBytes('h:', body, 2, 5, '!', (src, dst, at, start, n) => { calls.push([at, start, n]); src.copy(dst, at, start, start + n); });
  assert.deepEqual(calls, [[2, 2, 3]]);
  assert.equal(Buffer.from(out).toString('latin1'), 'h:012!');
});
