// proxy/xds-client: the two ADS wire protocols (state-of-the-world and incremental/delta) behind one interface, so the
// client's apply/ACK/NACK/warming logic is written once. Each builds requests and normalises responses.
import type { AnyMessage } from '../../envoy/protos.ts';
import type { AdsClient, DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './ads-proto.ts';
import type { TypeState } from './store.ts';
import type * as grpc from '@grpc/grpc-js';

export type WireRequest = DiscoveryRequest | DeltaDiscoveryRequest;

/** A response in protocol-neutral form. */
export interface NormalizedResponse {
  typeUrl: string;
  /** SotW version_info, or delta system_version_info (informational). */
  version: string;
  nonce: string;
  resources: { any: AnyMessage; name?: string; version?: string }[];
  /** Names the server removed (delta). */
  removed: string[];
  /** The response carries the whole set of the type (SotW wildcard types): anything absent was removed. */
  full: boolean;
}

export interface Protocol {
  readonly name: 'sotw' | 'delta';
  open(client: AdsClient): grpc.ClientDuplexStream<WireRequest, unknown>;
  normalize(resp: unknown, t: TypeState | undefined): NormalizedResponse;
  /** First request of a type on a new stream (resubscribe with what we hold). */
  initial(t: TypeState): WireRequest;
  /** ACK (error undefined) or NACK of the response with `nonce`. */
  ack(t: TypeState, nonce: string, error: string | undefined): WireRequest;
  /** Names added to / removed from an explicit subscription. */
  change(t: TypeState, added: string[], removed: string[]): WireRequest;
}

const INVALID_ARGUMENT = 3;

/** State of the world: every request repeats the full name list, version_info and the last nonce. */
export const sotw: Protocol = {
  name: 'sotw',
  open: (c) => c.StreamAggregatedResources() as unknown as grpc.ClientDuplexStream<WireRequest, unknown>,
  normalize(raw, t) {
    const r = raw as DiscoveryResponse;
    return {
      typeUrl: r.type_url ?? '',
      version: r.version_info ?? '',
      nonce: r.nonce ?? '',
      resources: (r.resources ?? []).map((any) => ({ any })),
      removed: [],
      full: t?.wildcard ?? false,
    };
  },
  initial: (t) => sotwRequest(t, undefined),
  ack: (t, _nonce, error) => sotwRequest(t, error),
  change: (t) => sotwRequest(t, undefined),
};

function sotwRequest(t: TypeState, error: string | undefined): DiscoveryRequest {
  const req: DiscoveryRequest = { type_url: t.typeUrl, version_info: t.version, resource_names: t.wildcard ? [] : [...t.names].sort(), response_nonce: t.nonce };
  if (error !== undefined) req.error_detail = { code: INVALID_ARGUMENT, message: error };
  return req;
}

/** Incremental: subscriptions change by difference, resources arrive and leave one by one, ACKs carry only the nonce. */
export const delta: Protocol = {
  name: 'delta',
  open: (c) => c.DeltaAggregatedResources() as unknown as grpc.ClientDuplexStream<WireRequest, unknown>,
  normalize(raw) {
    const r = raw as DeltaDiscoveryResponse;
    const resources: NormalizedResponse['resources'] = [];
    for (const x of r.resources ?? []) if (x.resource) resources.push({ any: x.resource, name: x.name, version: x.version });
    return { typeUrl: r.type_url ?? '', version: r.system_version_info ?? '', nonce: r.nonce ?? '', resources, removed: r.removed_resources ?? [], full: false };
  },
  initial(t) {
    // An empty subscribe list on the first request is a wildcard subscription (LDS/CDS).
    const versions: Record<string, string> = {};
    for (const r of t.resources.values()) versions[r.name] = r.version;
    return { type_url: t.typeUrl, resource_names_subscribe: t.wildcard ? [] : [...t.names].sort(), initial_resource_versions: versions };
  },
  ack(t, nonce, error) {
    const req: DeltaDiscoveryRequest = { type_url: t.typeUrl, response_nonce: nonce };
    if (error !== undefined) req.error_detail = { code: INVALID_ARGUMENT, message: error };
    return req;
  },
  change: (t, added, removed) => ({ type_url: t.typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: removed }),
};
