// xds/server (serving): loads the ADS gRPC service definition and converts the wire shapes it
// carries (google.protobuf.Struct node metadata) into plain objects. Loaded once per process.
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { protoIncludeDirs } from '../../envoy/protos.ts';

export interface WireAny { type_url: string; value: Uint8Array }
export interface WireStatus { code?: number; message?: string }
export interface WireNode {
  id?: string;
  cluster?: string;
  metadata?: WireStruct;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
}
export interface DiscoveryRequest {
  version_info?: string;
  node?: WireNode;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: WireStatus;
}
export interface DiscoveryResponse {
  version_info: string;
  resources: WireAny[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}
export interface DeltaDiscoveryRequest {
  node?: WireNode;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: WireStatus;
}
export interface DeltaResource { name: string; version: string; resource: WireAny }
export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane?: { identifier: string };
}

// google.protobuf.Struct/Value come from protobufjs's built-in descriptors, whose field names are
// camelCase even with keepCase (stringValue, not string_value).
export interface WireStruct { fields?: Record<string, WireValue> }
export interface WireValue {
  nullValue?: unknown; numberValue?: number; stringValue?: string; boolValue?: boolean;
  structValue?: WireStruct; listValue?: { values?: WireValue[] }; kind?: string;
}

// The options both the server and our raw test/bench clients use, so field names stay Envoy's.
const loaderOptions: protoLoader.Options = {
  keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: protoIncludeDirs,
};

let adsCache: grpc.ServiceClientConstructor | undefined;

/** The envoy.service.discovery.v3.AggregatedDiscoveryService constructor (its `.service` for servers). */
export function adsService(): grpc.ServiceClientConstructor {
  if (adsCache) return adsCache;
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', loaderOptions);
  const pkg = grpc.loadPackageDefinition(def) as any;
  adsCache = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService as grpc.ServiceClientConstructor;
  return adsCache;
}

function jsToValue(v: unknown): WireValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsToValue) } };
  return { structValue: jsToStruct(v as Record<string, unknown>) };
}

export function jsToStruct(o: Record<string, unknown>): WireStruct {
  const fields: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsToValue(v);
  return { fields };
}
