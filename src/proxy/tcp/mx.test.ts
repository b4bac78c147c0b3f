// proxy/tcp: the metadata exchange frame — bytes checked against protobufjs's google.protobuf.Any/Struct (what Envoy
// parses), a frame from protobufjs decodes, split delivery, and fallback on bytes that are not an exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupType } from '../../envoy/protos.ts';
import { decodeMxPayload, encodeMxFrame, MX_MAGIC, MxReader } from './mx.ts';

const node = {
  id: 'sidecar~10.0.0.7~echo-1.default~default.svc.cluster.local',
  metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'echo', LABELS: { app: 'echo', version: 'v1' }, CLUSTER_ID: 'Kubernetes', INSTANCE_IPS: '10.0.0.7', PROXY_CONFIG: { big: true }, APP_CONTAINERS: ['a', 'b'], n: 3 },
};

test('our frame is magic, big-endian length, and an Any of a Struct that protobufjs reads as Istio lays it out', () => {
  const f = encodeMxFrame(node);
  assert.equal(f.readUInt32BE(0), MX_MAGIC);
  assert.equal(f.readUInt32BE(4), f.length - 8);
  const Any = lookupType('google.protobuf.Any');
  const any = Any.toObject(Any.decode(f.subarray(8))) as { type_url: string; value: Uint8Array };
  assert.equal(any.type_url, 'type.googleapis.com/google.protobuf.Struct');
  const Struct = lookupType('google.protobuf.Struct');
  const st = Struct.toObject(Struct.decode(any.value)) as { fields: Record<string, { stringValue?: string; structValue?: { fields: Record<string, Record<string, unknown>> } }> };
  assert.equal(st.fields['x-envoy-peer-metadata-id']!.stringValue, node.id);
  const md = st.fields['x-envoy-peer-metadata']!.structValue!.fields;
  assert.equal(md.WORKLOAD_NAME!.stringValue, 'echo');
  assert.equal(md.NAMESPACE!.stringValue, 'default');
  assert.deepEqual(Object.keys(md).sort(), ['APP_CONTAINERS', 'CLUSTER_ID', 'INSTANCE_IPS', 'LABELS', 'NAMESPACE', 'WORKLOAD_NAME']); // not PROXY_CONFIG
});

test('a frame built by protobufjs (an Envoy peer) decodes to the peer, including nested labels, lists, numbers, bools', () => {
  const Struct = lookupType('google.protobuf.Struct');
  const Any = lookupType('google.protobuf.Any');
  const s = (v: string) => ({ stringValue: v });
  const inner = { fields: { WORKLOAD_NAME: s('sleep'), NAMESPACE: s('foo'), LABELS: { structValue: { fields: { app: s('sleep'), version: s('v2') } } }, N: { numberValue: 2.5 }, B: { boolValue: true }, L: { listValue: { values: [s('x'), { nullValue: 0 }] } } } };
  const value = Struct.encode(Struct.fromObject({ fields: { 'x-envoy-peer-metadata': { structValue: inner }, 'x-envoy-peer-metadata-id': s('sidecar~1.2.3.4~sleep-1.foo~foo.svc.cluster.local') } })).finish();
  const any = Buffer.from(Any.encode(Any.fromObject({ type_url: 'type.googleapis.com/google.protobuf.Struct', value })).finish());
  const peer = decodeMxPayload(any);
  assert.equal(peer.id, 'sidecar~1.2.3.4~sleep-1.foo~foo.svc.cluster.local');
  assert.deepEqual(peer.metadata, { WORKLOAD_NAME: 'sleep', NAMESPACE: 'foo', LABELS: { app: 'sleep', version: 'v2' }, N: 2.5, B: true, L: ['x', null] });
  // and our own encoder round-trips through the same decoder
  assert.deepEqual(decodeMxPayload(encodeMxFrame(node).subarray(8)).metadata.LABELS, { app: 'echo', version: 'v1' });
});

test('MxReader: a frame split byte by byte, with data after it; plain bytes fall back whole; oversize fails', () => {
  const frame = Buffer.concat([encodeMxFrame(node), Buffer.from('payload')]);
  const r = new MxReader();
  let out: ReturnType<MxReader['push']>;
  for (let i = 0; i < frame.length && !out; i++) out = r.push(frame.subarray(i, i + 1));
  assert.ok(out?.peer);
  assert.equal(out.peer.metadata.WORKLOAD_NAME, 'echo');
  // byte-by-byte delivery ends at the frame's last byte; the rest arrives later as ordinary data
  assert.equal(out.rest.length, 0);
  const r2 = new MxReader();
  const all = r2.push(frame)!;
  assert.equal(all.rest.toString(), 'payload');

  const plain = new MxReader().push(Buffer.from('GET / HTTP/1.1\r\n'))!;
  assert.equal(plain.peer, undefined);
  assert.equal(plain.rest.toString(), 'GET / HTTP/1.1\r\n');
  const short = new MxReader();
  assert.equal(short.push(Buffer.from([0x3d, 0x23])), undefined); // could still be the magic
  assert.equal(short.push(Buffer.from([0x05]))!.rest.length, 3); // was not

  const big = Buffer.alloc(8);
  big.writeUInt32BE(MX_MAGIC, 0);
  big.writeUInt32BE(10_000_000, 4);
  assert.match(new MxReader().push(big)!.error!, /frame of 10000000 bytes/);
});
