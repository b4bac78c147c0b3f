// proxy/http: exchange-util's newRequestId gives distinct v4 UUIDs across pool refills.
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
