// proxy/xds-client: loads the ADS gRPC service definition (proto-loader, Envoy's snake_case names) for the proxy's xDS stream.
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { protoIncludeDirs, type AnyMessage } from '../../envoy/protos.ts';

export const adsLoaderOptions: protoLoader.Options = {
  keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: protoIncludeDirs,
};

/** google.protobuf.Value as proto-loader encodes it: its bundled struct.proto uses camelCase names. */
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

let ctor: grpc.ServiceClientConstructor | undefined;

/** The AggregatedDiscoveryService client constructor (its `.service` serves tests' fake servers too). */
export function adsServiceClient(): grpc.ServiceClientConstructor {
  if (ctor) return ctor;
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', adsLoaderOptions);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } } };
  ctor = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
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
