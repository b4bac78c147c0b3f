// test/proxy: ConnectionOrigin -> passthrough destination; explicit listeners never loop back to themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originalDestination } from '../../src/proxy/http/exchange.ts';
import type { ConnectionOrigin } from '../../src/proxy/listener/origin.ts';

const base: ConnectionOrigin = {
  kind: 'listener', listenerName: 'l', localAddress: '127.0.0.1', localPort: 15001, remoteAddress: '127.0.0.9', remotePort: 5555,
  destination: { address: '127.0.0.1', port: 15001 }, tls: false,
};

test('explicit listener: the authority is the destination (HTTP_PROXY mode), default port 80, IPv6 literal', () => {
  assert.deepEqual(originalDestination(base, 'reviews:9080'), { address: 'reviews', port: 9080 });
  assert.deepEqual(originalDestination(base, 'example.com'), { address: 'example.com', port: 80 });
  assert.deepEqual(originalDestination(base, '[::1]:8080'), { address: '::1', port: 8080 });
  assert.equal(originalDestination(base, '127.0.0.1:15001'), undefined, 'loop to itself refused');
  assert.equal(originalDestination(base, 'bad host:1'), undefined);
});

test('captured connection: the original destination wins over the authority', () => {
  const cap: ConnectionOrigin = { ...base, kind: 'original-dst', destination: { address: '10.0.0.7', port: 9080 } };
  assert.deepEqual(originalDestination(cap, 'whatever:1'), { address: '10.0.0.7', port: 9080 });
});
