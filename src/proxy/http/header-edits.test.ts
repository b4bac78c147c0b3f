// proxy/http: header edits from config — Envoy's append actions, and values that could inject a line are never added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHeaderEdits, removeHeader, safeHeaderValue, setHeader } from './header-edits.ts';
import type { HeaderEdits } from './route-types.ts';
import { serializeResponseHead, serializeRequestHead } from './codec/serialize.ts';
import { parseResponseHead, parseRequestHead } from './codec/parser.ts';

const add = (key: string, value: string, action: HeaderEdits['add'][number]['action'] = 'APPEND_IF_EXISTS_OR_ADD'): HeaderEdits['add'][number] =>
  ({ key, value, action, keepEmptyValue: false });

test('append actions: append, add if absent, overwrite', () => {
  const h = ['a', '1', 'b', '2', 'a', '3'];
  applyHeaderEdits(h, { remove: ['b'], add: [add('a', '4'), add('c', '5', 'ADD_IF_ABSENT'), add('a', '6', 'ADD_IF_ABSENT'), add('d', '7', 'OVERWRITE_IF_EXISTS')] });
  assert.deepEqual(h, ['a', '1', 'a', '3', 'a', '4', 'c', '5']);
  applyHeaderEdits(h, { remove: [], add: [add('a', 'x', 'OVERWRITE_IF_EXISTS_OR_ADD')] });
  assert.deepEqual(h, ['a', 'x', 'c', '5']);
});

test('safeHeaderValue refuses CR, LF and NUL and accepts tabs and obs-text', () => {
  for (const v of ['a\r\nx-evil: 1', 'a\nb', 'a\rb', 'a\0b']) assert.equal(safeHeaderValue(v), false, JSON.stringify(v));
  for (const v of ['', 'plain', 'a\tb', '\xe9t\xe9', '%REQ(x)%']) assert.equal(safeHeaderValue(v), true, JSON.stringify(v));
});

test('a configured value or key holding CR/LF/NUL is skipped; the others of the same list still apply, every time', () => {
  const edits: HeaderEdits = { remove: [], add: [add('x-ok', '1'), add('x-bad', 'v\r\nx-injected: 1'), add('x-bad2', 'a\nb'), add('x-nul', 'a\0'), add('x-k\r\ny', 'v'), add('x-ok2', '2')] };
  for (let round = 0; round < 2; round++) { // the second round uses the list checked once
    const h: string[] = [];
    applyHeaderEdits(h, edits);
    assert.deepEqual(h, ['x-ok', '1', 'x-ok2', '2']);
    // What reaches the wire carries exactly the intended fields (request and response heads).
    const rb = Buffer.from(serializeResponseHead(200, '', h, 'length', 0 + 1), 'latin1');
    const r = parseResponseHead(rb, 0, rb.length, 'GET');
    assert.equal(r.kind, 'ok');
    assert.deepEqual((r as { head: { headers: string[] } }).head.headers, ['x-ok', '1', 'x-ok2', '2', 'content-length', '1']);
    const qb = Buffer.from(serializeRequestHead('GET', '/', ['host', 'a', ...h], 'none', 0), 'latin1');
    const q = parseRequestHead(qb, 0, qb.length);
    assert.equal(q.kind, 'ok');
    assert.deepEqual((q as { head: { headers: string[] } }).head.headers, ['host', 'a', 'x-ok', '1', 'x-ok2', '2']);
  }
});

test('removeHeader drops every entry of a name at or after `from` (none, one pair, several, the last), order kept', () => {
  const base = ['a', '1', 'peer', 'p', 'b', '2', 'peer', 'q', 'c', '3'];
  let h = base.slice(); removeHeader(h, 'none'); assert.deepEqual(h, base);
  h = ['a', '1', 'peer', 'p', 'b', '2']; removeHeader(h, 'peer'); assert.deepEqual(h, ['a', '1', 'b', '2']);
  h = ['a', '1', 'peer', 'p']; removeHeader(h, 'peer'); assert.deepEqual(h, ['a', '1']);
  h = base.slice(); removeHeader(h, 'peer'); assert.deepEqual(h, ['a', '1', 'b', '2', 'c', '3']);
  h = base.slice(); removeHeader(h, 'peer', 4); assert.deepEqual(h, ['a', '1', 'peer', 'p', 'b', '2', 'c', '3']);
  h = ['peer', 'p', 'peer', 'q']; removeHeader(h, 'peer'); assert.deepEqual(h, []);
  h = base.slice(); setHeader(h, 'peer', 'z'); assert.deepEqual(h, ['a', '1', 'peer', 'z', 'b', '2', 'c', '3']);
});
