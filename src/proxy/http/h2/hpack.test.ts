// proxy/http/h2: HPACK decoder and encoder against RFC 7541 Appendix C's examples, malformed blocks, and fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder } from './hpack.ts';
import { huffmanDecode, huffmanEncode } from './huffman.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (flat: string[]): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};
function decodeOk(d: HpackDecoder, block: Buffer): Array<[string, string]> {
  const out: string[] = [];
  assert.equal(d.decode(block, 0, block.length, out), undefined);
  return pairs(out);
}

const REQ1: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: Array<[string, string]> = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const RES1: Array<[string, string]> = [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']];
const RES2: Array<[string, string]> = [[':status', '307'], ...RES1.slice(1)];
const RES3: Array<[string, string]> = [[':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']];

test('RFC 7541 C.3: requests without Huffman coding, one table across blocks', () => {
  const d = new HpackDecoder();
  assert.deepEqual(decodeOk(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), REQ1);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(decodeOk(d, hex('8286 84be 5808 6e6f 2d63 6163 6865')), REQ2);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(decodeOk(d, hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')), REQ3);
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.4: requests with Huffman coding', () => {
  const d = new HpackDecoder();
  assert.deepEqual(decodeOk(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), REQ1);
  assert.deepEqual(decodeOk(d, hex('8286 84be 5886 a8eb 1064 9cbf')), REQ2);
  assert.deepEqual(decodeOk(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), REQ3);
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.5: responses without Huffman coding, evicting in a 256-byte table', () => {
  const d = new HpackDecoder(256);
  assert.deepEqual(decodeOk(d, hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
    2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`)), RES1);
  assert.equal(d.tableSize, 222);
  assert.deepEqual(decodeOk(d, hex('4803 3330 37c1 c0bf')), RES2);
  assert.equal(d.tableSize, 222);
  const third = Buffer.concat([
    hex('88c1 611d'), Buffer.from('Mon, 21 Oct 2013 20:13:22 GMT', 'latin1'), hex('c0 5a04'), Buffer.from('gzip'),
    hex('7738'), Buffer.from('foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'),
  ]);
  assert.deepEqual(decodeOk(d, third), RES3);
  assert.equal(d.tableSize, 215);
});

test('RFC 7541 C.6: responses with Huffman coding', () => {
  const d = new HpackDecoder(256);
  assert.deepEqual(decodeOk(d, hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
    2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`)), RES1);
  assert.deepEqual(decodeOk(d, hex('4883 640e ffc1 c0bf')), RES2);
  assert.deepEqual(decodeOk(d, hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
    77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`)), RES3);
  assert.equal(d.tableSize, 215);
});

test('malformed blocks are refused with a reason', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['index 0', '80', /index 0/],
    ['index beyond the table', 'be', /beyond the table/],
    ['truncated integer', 'ff', /truncated/],
    ['integer overflow', 'ff ff ff ff ff ff 7f', /oversized/],
    ['string longer than the block', '40 05 61', /malformed name/],
    ['EOS padding of 8+ bits', '40 81 ff 00', /malformed name/], // one all-ones byte: padding only, 8 bits
    ['padding not all ones', '00 81 00 81 61', /malformed name/],
    ['size update above the limit', '3f e2 1f', /above the limit/],
  ];
  for (const [what, block, why] of cases) {
    const out: string[] = [];
    assert.match(new HpackDecoder().decode(hex(block), 0, hex(block).length, out) ?? 'ok', why, what);
  }
  // a size update after a field
  assert.match(new HpackDecoder().decode(hex('82 20'), 0, 2, []) ?? 'ok', /after a field/);
  // a size update first, within the limit, empties the table
  const d = new HpackDecoder();
  decodeOk(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  assert.equal(d.tableSize, 57);
  assert.deepEqual(decodeOk(d, hex('20 82')), [[':method', 'GET']]);
  assert.equal(d.tableSize, 0);
  assert.match(d.decode(hex('be'), 0, 1, []) ?? 'ok', /beyond the table/);
});

test('a header list over the limit is decoded to its end (table in step) and then refused', () => {
  const d = new HpackDecoder();
  const block = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
  assert.equal(d.decode(block, 0, block.length, [], 100), 'header list too large');
  assert.equal(d.tableSize, 57); // the :authority entry was still added
  assert.deepEqual(decodeOk(d, hex('82 be')), [[':method', 'GET'], [':authority', 'www.example.com']]);
});

test('lowering our table size evicts; the peer may not exceed it', () => {
  const d = new HpackDecoder();
  decodeOk(d, hex('8286 84be'.replace('be', '41 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')));
  d.setMaxTableSize(0);
  assert.equal(d.tableSize, 0);
  assert.match(d.decode(hex('21'), 0, 1, []) ?? 'ok', /above the limit/);
});

test('Huffman: every byte value round-trips; EOS inside a string is refused', () => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  const e = huffmanEncode(all);
  assert.equal(huffmanDecode(e, 0, e.length), all);
  // EOS is 30 ones: four 0xff bytes contain it whole
  assert.equal(huffmanDecode(hex('ffffffff'), 0, 4), undefined);
});

test('encoder: status, static names, literal names; round trip through the decoder', () => {
  const enc = new HpackEncoder();
  const d = new HpackDecoder();
  const headers = ['content-type', 'text/plain', 'x-envoy-upstream-service-time', '3', 'server', 'istio-envoy', 'x-long', 'v'.repeat(300)];
  for (const status of [200, 204, 304, 404, 500, 503, 201]) {
    const block = enc.encode(status, headers);
    assert.deepEqual(decodeOk(d, block), [[':status', String(status)], ...pairs(headers)]);
  }
  assert.equal(enc.encode(200, [])[0], 0x88);
  assert.deepEqual(decodeOk(d, enc.encode(undefined, ['grpc-status', '0'])), [['grpc-status', '0']]);
  // both tables hold the same entries: content-type, server, x-long, grpc-status (the timing is a literal)
  assert.equal(d.tableSize, enc.tableSize);
  assert.equal(enc.tableSize, 'content-type'.length + 'text/plain'.length + 'server'.length + 'istio-envoy'.length + 'x-long'.length + 300 + 'grpc-status'.length + 1 + 4 * 32);
  // a field too large to index (it would evict most of the table) is a literal
  const before = enc.tableSize;
  assert.deepEqual(decodeOk(d, enc.encode(undefined, ['x-huge', 'h'.repeat(2000)])), [['x-huge', 'h'.repeat(2000)]]);
  assert.equal(enc.tableSize, before);
});

test('encoder: repeated fields become one-byte references; per-request values and secrets stay literals', () => {
  const enc = new HpackEncoder();
  const d = new HpackDecoder();
  const meta = 'x'.repeat(400);
  const first = enc.encode(200, ['x-envoy-peer-metadata', meta, 'content-type', 'application/grpc', 'x-request-id', 'a1']);
  const second = enc.encode(200, ['x-envoy-peer-metadata', meta, 'content-type', 'application/grpc', 'x-request-id', 'b2']);
  assert.deepEqual(decodeOk(d, first), [[':status', '200'], ['x-envoy-peer-metadata', meta], ['content-type', 'application/grpc'], ['x-request-id', 'a1']]);
  assert.deepEqual(decodeOk(d, second), [[':status', '200'], ['x-envoy-peer-metadata', meta], ['content-type', 'application/grpc'], ['x-request-id', 'b2']]);
  // :status, two references (newest first: content-type is 62, the metadata 63), then the id as a literal
  assert.deepEqual([...second.subarray(0, 3)], [0x88, 0x80 | 63, 0x80 | 62]);
  // the id's literal: a literal name (1 + 13 bytes) and its value (3)
  assert.ok(second.length === 20 && first.length > 400, `${first.length} -> ${second.length} bytes`);
  // static entries with a value are references too; secrets are never added
  assert.deepEqual([...enc.encode(undefined, [':method', 'GET', ':scheme', 'http'])], [0x82, 0x86]);
  const before = enc.tableSize;
  decodeOk(d, enc.encode(undefined, ['authorization', 'Bearer x', 'cookie', 'a=b']));
  assert.equal(enc.tableSize, before);
});

test('encoder: a changed peer table setting is answered by a size update at the next block only', () => {
  const enc = new HpackEncoder();
  enc.setPeerMaxTableSize(0);
  const first = enc.encode(200, []);
  assert.deepEqual([...first], [0x20, 0x88]);
  assert.deepEqual([...enc.encode(200, [])], [0x88]);
  const d = new HpackDecoder();
  d.setMaxTableSize(0);
  assert.deepEqual(decodeOk(d, first), [[':status', '200']]);
  // with a 0-byte table nothing is indexed
  assert.deepEqual(decodeOk(d, enc.encode(undefined, ['x-a', 'b'])), [['x-a', 'b']]);
  assert.equal(enc.tableSize, 0);
});

test('encoder and decoder stay in step: random fields, evictions, entries too large to index, table size changes', () => {
  let seed = 11;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const names = ['x-a', 'x-b', 'content-type', 'server', 'x-envoy-peer-metadata', 'x-request-id', 'user-agent', ':authority', 'grpc-status'];
  const enc = new HpackEncoder();
  const d = new HpackDecoder();
  for (let block = 0; block < 3000; block++) {
    if (block % 500 === 250) {
      // the peer lowers or raises its setting: the encoder owes a size update, the decoder accepts up to the setting
      const n = [0, 100, 256, 4096, 8192][rand(5)]!;
      enc.setPeerMaxTableSize(n);
    }
    const fields: string[] = [];
    for (let k = rand(8); k > 0; k--) {
      const name = names[rand(names.length)]!;
      // a few values repeat often, some are long (beyond the indexing limit), some are new
      const r = rand(10);
      const value = r < 6 ? `v${rand(6)}` : r < 8 ? 'w'.repeat(200 + rand(1200)) : `u${block}-${k}`;
      fields.push(name, value);
    }
    const status = rand(3) === 0 ? undefined : [200, 404, 503][rand(3)];
    const got = decodeOk(d, enc.encode(status, fields));
    const want = [...(status === undefined ? [] : [[':status', String(status)]]), ...pairs(fields)];
    assert.deepEqual(got, want, `block ${block}`);
    assert.equal(d.tableSize, enc.tableSize, `table sizes after block ${block}`);
  }
});

test('fuzz: random and mutated blocks never throw, and a refused block leaves a reason', () => {
  let seed = 7;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const seeds = [
    hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
    hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6'),
    new HpackEncoder().encode(200, ['content-type', 'text/plain', 'x-a', 'b']),
  ];
  for (let i = 0; i < 20000; i++) {
    let b: Buffer;
    if (i % 2 === 0) {
      b = Buffer.alloc(rand(40));
      for (let k = 0; k < b.length; k++) b[k] = rand(256);
    } else {
      b = Buffer.from(seeds[rand(seeds.length)]!);
      for (let m = 0, n = 1 + rand(4); m < n; m++) b[rand(b.length)] = rand(256);
      if (rand(4) === 0) b = b.subarray(0, rand(b.length + 1));
    }
    const out: string[] = [];
    const r = new HpackDecoder(rand(2) ? 4096 : 64).decode(b, 0, b.length, out, 200);
    assert.ok(r === undefined || typeof r === 'string');
    assert.equal(out.length % 2, 0);
    for (const s of out) assert.equal(typeof s, 'string');
  }
});
