// registry: tests for Istio's protocol selection from protocol / appProtocol / port name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProtocol, protocolFromPortName, resolveProtocol } from './protocol.ts';

test('port-name prefixes', () => {
  const cases: [string, string][] = [
    ['http', 'HTTP'], ['http-web', 'HTTP'], ['http2', 'HTTP2'], ['grpc', 'GRPC'], ['grpc-web', 'GRPC-WEB'], ['grpc-web-x', 'GRPC-WEB'],
    ['grpc-api', 'GRPC'], ['https-admin', 'HTTPS'], ['tls', 'TLS'], ['tcp-db', 'TCP'], ['mongo', 'MONGO'], ['redis-main', 'REDIS'],
    ['mysql', 'MYSQL'], ['HTTP-Upper', 'HTTP'], ['web', 'UNKNOWN'], ['httpx', 'UNKNOWN'], ['', 'UNKNOWN'],
  ];
  for (const [name, want] of cases) assert.equal(protocolFromPortName(name), want, name);
});

test('explicit protocol beats appProtocol beats name', () => {
  assert.equal(resolveProtocol({ protocol: 'TCP', appProtocol: 'http', name: 'grpc' }), 'TCP');
  assert.equal(resolveProtocol({ appProtocol: 'grpc', name: 'http' }), 'GRPC');
  assert.equal(resolveProtocol({ appProtocol: 'kubernetes.io/h2c', name: 'http' }), 'HTTP2');
  assert.equal(resolveProtocol({ protocol: 'bogus', name: 'http-x' }), 'HTTP');
  assert.equal(parseProtocol('Https'), 'HTTPS');
});
