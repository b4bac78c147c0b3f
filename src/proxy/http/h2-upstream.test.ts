// proxy/http: unit tests of the HTTP/2 header conversions (flat list <-> node:http2 headers object).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromH2Headers, toH2Headers } from './h2-upstream.ts';

test('toH2Headers: drops connection-specific headers and pseudo-headers, keeps te: trailers, repeats become arrays', () => {
  const h = toH2Headers([
    ':path', '/x', 'connection', 'keep-alive', 'keep-alive', 'timeout=5', 'transfer-encoding', 'chunked', 'host', 'a.b',
    'upgrade', 'websocket', 'proxy-connection', 'close', 'te', 'Trailers', 'set-cookie', 'a=1', 'set-cookie', 'b=2',
    'set-cookie', 'c=3', 'x-one', 'v',
  ], { ':status': 204 });
  assert.deepEqual({ ...h }, { ':status': 204, te: 'trailers', 'set-cookie': ['a=1', 'b=2', 'c=3'], 'x-one': 'v' });
  // te other than trailers is dropped (HTTP/2 allows no other value)
  assert.deepEqual({ ...toH2Headers(['te', 'gzip', 'x', '1'], {}) }, { x: '1' });
});

test('fromH2Headers: skips pseudo-headers, flattens arrays, stringifies numbers', () => {
  assert.deepEqual(fromH2Headers({ ':status': 200, 'content-length': 5, 'set-cookie': ['a=1', 'b=2'], 'x-u': undefined, via: 'p' }),
    ['content-length', '5', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'via', 'p']);
});
