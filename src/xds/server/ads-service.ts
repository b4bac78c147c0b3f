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

export interface WireStruct { fields?: Record<string, WireValue> }
export interface WireValue {
  null_value?: unknown; number_value?: number; string_value?: string; bool_value?: boolean;
  struct_value?: WireStruct; list_value?: { values?: WireValue[] }; kind?: string;
}

// The options both the server and our raw test/bench clients use, so field names stay Envoy's.
export const loaderOptions: protoLoader.Options = {
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

export function valueToJs(v: WireValue | undefined): unknown {
  if (!v) return null;
  if (v.string_value !== undefined) return v.string_value;
  if (v.number_value !== undefined) return v.number_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.struct_value !== undefined) return structToJs(v.struct_value);
  if (v.list_value !== undefined) return (v.list_value.values ?? []).map(valueToJs);
  return null;
}

export function structToJs(s: WireStruct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJs(v);
  return out;
}

export function jsToValue(v: unknown): WireValue {
  if (v === null || v === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(jsToValue) } };
  return { struct_value: jsToStruct(v as Record<string, unknown>) };
}

export function jsToStruct(o: Record<string, unknown>): WireStruct {
  const fields: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsToValue(v);
  return { fields };
}
