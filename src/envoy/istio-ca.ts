// envoy (shared): the wire form of Istio's certificate signing API, istio.v1.auth.IstioCertificateService/
// CreateCertificate, defined by reflection (field numbers as Istio's API: csr 1, validity_duration 3 seconds,
// metadata 4 as a Struct; response cert_chain 1 = [leaf, ..., root]). Shared by the CA (server) and the proxy
// (client) so both speak the same bytes, and istio-agent compatible clients work against our control plane.
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';

const root = new protobuf.Root();
root.addJSON(protobuf.common.get('google/protobuf/struct.proto')!.nested!);
const ns = root.define('istio.v1.auth');
const Request = new protobuf.Type('IstioCertificateRequest')
  .add(new protobuf.Field('csr', 1, 'string'))
  .add(new protobuf.Field('validity_duration', 3, 'int64'))
  .add(new protobuf.Field('metadata', 4, 'google.protobuf.Struct'));
const Response = new protobuf.Type('IstioCertificateResponse')
  .add(new protobuf.Field('cert_chain', 1, 'string', 'repeated'));
ns.add(Request).add(Response);
root.resolveAll();

export interface CertificateRequest {
  csr: string;
  /** Requested lifetime in seconds (0: the CA's default). */
  validityDurationSeconds: number;
  /** Node metadata as plain JSON (string values in practice). */
  metadata: Record<string, unknown>;
}
export interface CertificateResponse { certChain: string[] }

type StructValue = { nullValue?: number; numberValue?: number; stringValue?: string; boolValue?: boolean; structValue?: { fields?: Record<string, StructValue> }; listValue?: { values?: StructValue[] } };

function fromValue(v: StructValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue) return fromStruct(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(fromValue);
  return null;
}
function fromStruct(s: { fields?: Record<string, StructValue> } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v);
  return out;
}
function toValue(v: unknown): StructValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (v && typeof v === 'object') return { structValue: toStruct(v as Record<string, unknown>) };
  return { nullValue: 0 };
}
function toStruct(o: Record<string, unknown>): { fields: Record<string, StructValue> } {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}

export function encodeRequest(r: CertificateRequest): Buffer {
  const msg = Request.fromObject({ csr: r.csr, validity_duration: Math.max(0, Math.floor(r.validityDurationSeconds)), metadata: toStruct(r.metadata) });
  return Buffer.from(Request.encode(msg).finish());
}
export function decodeRequest(b: Buffer): CertificateRequest {
  const o = Request.toObject(Request.decode(b), { longs: Number, defaults: true }) as { csr: string; validity_duration: number; metadata?: { fields?: Record<string, StructValue> } };
  return { csr: o.csr, validityDurationSeconds: Number(o.validity_duration) || 0, metadata: fromStruct(o.metadata) };
}
export function encodeResponse(r: CertificateResponse): Buffer {
  return Buffer.from(Response.encode(Response.fromObject({ cert_chain: r.certChain })).finish());
}
export function decodeResponse(b: Buffer): CertificateResponse {
  const o = Response.toObject(Response.decode(b), { defaults: true }) as { cert_chain: string[] };
  return { certChain: o.cert_chain };
}

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

/** grpc-js service definition (serializers included), for Server.addService and makeGenericClientConstructor. */
export const istioCertificateService: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
};
