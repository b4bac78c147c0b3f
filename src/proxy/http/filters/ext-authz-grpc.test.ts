// proxy/http/filters: ext_authz over gRPC — the CheckRequest's attributes (through a real proto encode) and what a
// CheckResponse means (OK -> allow with headers; denied -> its status (403 default), body, headers; malformed -> none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupType } from '../../../envoy/protos.ts';
import type { IncomingRequest } from '../exchange-types.ts';
import { checkRequestObject, decodeCheckResponse, grpcFrame } from './ext-authz-grpc.ts';

const req = (path: string, headers: string[]): IncomingRequest => ({
  method: 'POST', path, authority: 'web:9080', scheme: 'http', headers, bodyLength: 0, upgrade: '',
  get: (n) => { const i = headers.indexOf(n); return i >= 0 ? headers[i + 1] : undefined; },
});

test('CheckRequest: method, path, query, host, headers (repeated ones joined), peers — and it encodes', () => {
  const o = checkRequestObject(req('/a?b=1', ['x-request-id', 'r1', 'x-a', '1', 'x-a', '2']), { source: { address: '10.0.0.1', port: 5555 }, destination: { address: '10.0.0.2', port: 9080 } });
  const t = lookupType('envoy.service.auth.v3.CheckRequest');
  const back = t.toObject(t.decode(t.encode(t.fromObject(o)).finish()), { longs: Number, defaults: false }) as Record<string, any>;
  const http = back.attributes.request.http;
  assert.equal(http.method, 'POST');
  assert.equal(http.path, '/a?b=1');
  assert.equal(http.query, 'b=1');
  assert.equal(http.host, 'web:9080');
  assert.equal(http.id, 'r1');
  assert.equal(http.headers['x-a'], '1,2');
  assert.equal(http.headers[':authority'], 'web:9080');
  assert.deepEqual(back.attributes.source.address.socket_address, { address: '10.0.0.1', port_value: 5555 });
});

const resp = (o: Record<string, unknown>) => {
  const t = lookupType('envoy.service.auth.v3.CheckResponse');
  return grpcFrame(t.encode(t.fromObject(o)).finish());
};

test('CheckResponse: OK allows with ok_response headers; denied uses its status or 403; malformed is undefined', () => {
  assert.deepEqual(decodeCheckResponse(resp({ status: { code: 0 }, ok_response: { headers: [{ header: { key: 'X-User', value: 'a' } }] } })), { kind: 'allow', upstreamHeaders: [['x-user', 'a']], downstreamHeaders: [] });
  // response_headers_to_add: to the client's response (framing never)
  assert.deepEqual(decodeCheckResponse(resp({ status: { code: 0 }, ok_response: { response_headers_to_add: [{ header: { key: 'x-session', value: 's' } }, { header: { key: 'content-length', value: '9' } }] } })), { kind: 'allow', upstreamHeaders: [], downstreamHeaders: [['x-session', 's']] });
  assert.deepEqual(decodeCheckResponse(resp({ status: { code: 7 }, denied_response: { status: { code: 'Unauthorized' }, body: 'no', headers: [{ header: { key: 'x-r', value: 'v' } }] } })),
    { kind: 'deny', status: 401, body: 'no', headers: ['x-r', 'v'] });
  assert.deepEqual(decodeCheckResponse(resp({ status: { code: 7 } })), { kind: 'deny', status: 403, body: '', headers: [] });
  assert.equal(decodeCheckResponse(Buffer.from([0, 0, 0])), undefined);
  assert.equal(decodeCheckResponse(Buffer.from([0, 0, 0, 0, 9, 1])), undefined, 'length beyond the body');
});
