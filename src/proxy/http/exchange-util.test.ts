// proxy/http: exchange-util's newRequestId gives distinct, well-formed v4 UUIDs across pool refills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId } from './exchange-util.ts';

test('ids are v4 UUIDs (version and variant nibbles), distinct across several pool refills', () => {
  const seen = new Set<string>();
  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const variants = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newRequestId();
    assert.match(id, re);
    variants.add(id[19]!);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
  assert.equal(variants.size, 4, 'all four variant digits occur');
});

test('every digit position of the ids varies (each is written from fresh random bytes on every refill)', () => {
  const digits: Set<string>[] = Array.from({ length: 36 }, () => new Set<string>());
  for (let i = 0; i < 600; i++) { // several refills of 128
    const id = newRequestId();
    for (let k = 0; k < 36; k++) digits[k]!.add(id[k]!);
  }
  for (let k = 0; k < 36; k++) {
    if (k === 8 || k === 13 || k === 18 || k === 23) assert.deepEqual([...digits[k]!], ['-'], `position ${k}`);
    else if (k === 14) assert.deepEqual([...digits[k]!], ['4'], 'version digit');
    else if (k === 19) assert.equal(digits[k]!.size, 4, 'variant digit');
    else assert.equal(digits[k]!.size, 16, `position ${k} takes all 16 hex digits`);
  }
});
