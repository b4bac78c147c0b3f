// proxy/http/codec: unit tests for the streaming chunked decoder/encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder, encodeChunked } from './chunked.ts';

function decodeAll(wire: string, split = 0): { data: string; consumed: number; d: ChunkedDecoder } {
  const buf = Buffer.from(wire, 'latin1');
  const d = new ChunkedDecoder();
  let data = '';
  let consumed = 0;
  const sink = (b: Buffer, s: number, e: number) => { data += b.toString('latin1', s, e); };
  if (split > 0) {
    for (let i = 0; i < buf.length && !d.done && !d.failed; i += split) {
      const part = Buffer.from(buf.subarray(i, Math.min(buf.length, i + split)));
      const n = d.feed(part, 0, part.length, sink);
      consumed += n;
      if (d.done) break;
    }
  } else consumed = d.feed(buf, 0, buf.length, sink);
  return { data, consumed, d };
}

test('decodes chunks with extensions and trailers, leaving following bytes', () => {
  const wire = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Check: abc\r\n\r\nNEXT';
  const r = decodeAll(wire);
  assert.equal(r.d.done, true);
  assert.equal(r.data, 'hello world');
  assert.equal(r.consumed, wire.length - 4);
  assert.deepEqual(r.d.trailers, ['x-check', 'abc']);
});

test('byte-at-a-time feeding gives the same result', () => {
  const wire = 'a\r\n0123456789\r\n0\r\nT: 1\r\n\r\n';
  for (const split of [1, 2, 3, 7]) {
    const r = decodeAll(wire, split);
    assert.equal(r.d.done, true, `split ${split}`);
    assert.equal(r.data, '0123456789');
    assert.equal(r.consumed, wire.length);
    assert.deepEqual(r.d.trailers, ['t', '1']);
  }
});

test('rejects malformed chunk framing', () => {
  for (const bad of ['x\r\n', '5\r\nhelloX\r\n', '5\nhello\r\n', '-1\r\n', '1111111111111\r\n', '5 x\r\n', '0\r\nBad Name: x\r\n\r\n', '0\r\nX: a\nY: b\r\n\r\n']) {
    const r = decodeAll(bad);
    assert.equal(r.d.failed, true, JSON.stringify(bad));
    assert.ok(r.d.error.length > 0);
  }
});

test('encode then decode round-trips bodies and trailers', () => {
  const body = Buffer.from('payload-'.repeat(100));
  const wire = encodeChunked(body, ['grpc-status', '0']);
  const r = decodeAll(wire.toString('latin1'));
  assert.equal(r.d.done, true);
  assert.equal(r.data, body.toString());
  assert.deepEqual(r.d.trailers, ['grpc-status', '0']);
  assert.equal(decodeAll(encodeChunked(Buffer.alloc(0)).toString('latin1')).d.done, true);
});
