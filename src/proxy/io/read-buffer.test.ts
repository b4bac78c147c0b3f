// proxy/io: the internal path's per-socket read buffer grows when a read fills it (a 16 KB body and its head arrive
// in one read, not two), doubling up to 64 KB; reads that do not fill it keep its size; a grown buffer is a new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readerFor } from './internal.ts';

test('a read that fills the buffer doubles it for the next read, up to 64 KB; partial reads keep the size', () => {
  const seen: number[] = [];
  const r = readerFor({ reader: (_b, _s, e) => { seen.push(e); } });
  const first = r.buffer();
  assert.equal(first.length, 16 * 1024);
  r.callback(100, first); // partial: same buffer again
  assert.equal(r.buffer(), first);
  r.callback(first.length, first); // full: the next buffer is a new one, twice as large
  const second = r.buffer();
  assert.notEqual(second, first);
  assert.equal(second.length, 32 * 1024);
  r.callback(second.length, second);
  const third = r.buffer();
  assert.equal(third.length, 64 * 1024);
  r.callback(third.length, third); // at the cap: stays
  assert.equal(r.buffer(), third);
  assert.deepEqual(seen, [100, 16 * 1024, 32 * 1024, 64 * 1024]);
});
