// proxy/xds-client: the ADS gRPC service for the proxy's xDS stream — grpc-js method definitions whose (de)serializers are
// protobufjs types (Envoy's snake_case names), without @grpc/proto-loader: the messages come from the proxy's pre-built
// descriptor when it is in use (descriptor.ts), else from a small root parsing discovery.proto alone.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { loadProtoFiles, type AnyMessage } from '../../envoy/protos.ts';
import { ADS_PROTO_FILE, proxyDescriptorRoot } from './descriptor.ts';

/** How messages become objects: as @grpc/proto-loader did for this client (keepCase, longs/enums as strings, Any kept packed). */
export const adsObjectOptions: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, oneofs: true };

/** google.protobuf.Value as protobufjs encodes it: its bundled struct.proto uses camelCase names. */
export interface WireValue {
  nullValue?: 'NULL_VALUE'; numberValue?: number; stringValue?: string; boolValue?: boolean;
  structValue?: WireStruct; listValue?: { values: WireValue[] };
}
export interface WireStruct { fields: Record<string, WireValue> }

export interface WireNode {
  id: string;
  cluster: string;
  metadata?: WireStruct;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: WireNode;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export interface DiscoveryResponse {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
}

export interface DeltaDiscoveryRequest {
  node?: WireNode;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: { name?: string; version?: string; resource?: AnyMessage }[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
}

export type AdsStream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaAdsStream = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
export interface AdsClient extends grpc.Client {
  StreamAggregatedResources(): AdsStream;
  DeltaAggregatedResources(): DeltaAdsStream;
}

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';

function method(name: string, req: protobuf.Type, res: protobuf.Type): grpc.MethodDefinition<object, object> {
  const serialize = (t: protobuf.Type) => (o: object): Buffer => {
    const b = t.encode(t.fromObject(o)).finish();
    return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  };
  const deserialize = (t: protobuf.Type) => (b: Buffer): object => t.toObject(t.decode(b), adsObjectOptions);
  return {
    path: SERVICE + name, requestStream: true, responseStream: true, originalName: name,
    requestSerialize: serialize(req), requestDeserialize: deserialize(req), responseSerialize: serialize(res), responseDeserialize: deserialize(res),
  };
}

let definition: grpc.ServiceDefinition | undefined;

/** The AggregatedDiscoveryService's two bidi methods (StreamAggregatedResources, DeltaAggregatedResources). */
function adsServiceDefinition(): grpc.ServiceDefinition {
  if (definition) return definition;
  const root = proxyDescriptorRoot() ?? loadProtoFiles([ADS_PROTO_FILE]);
  const t = (n: string): protobuf.Type => root.lookupType(`envoy.service.discovery.v3.${n}`);
  definition = {
    StreamAggregatedResources: method('StreamAggregatedResources', t('DiscoveryRequest'), t('DiscoveryResponse')),
    DeltaAggregatedResources: method('DeltaAggregatedResources', t('DeltaDiscoveryRequest'), t('DeltaDiscoveryResponse')),
  };
  return definition;
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** The AggregatedDiscoveryService client constructor (its `.service` serves tests' fake servers too). */
export function adsServiceClient(): grpc.ServiceClientConstructor {
  ctor ??= grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
  return ctor;
}

export function jsToWireValue(v: unknown): WireValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsToWireValue) } };
  return { structValue: jsToWireStruct(v as Record<string, unknown>) };
}

export function jsToWireStruct(o: Record<string, unknown>): WireStruct {
  const fields: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsToWireValue(v);
  return { fields };
}
