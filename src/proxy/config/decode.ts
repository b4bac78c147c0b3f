// proxy/config: one entry point that unpacks an xDS resource (Any) and decodes it into the narrowed type for its type URL.
import { unpack, type AnyMessage } from '../../envoy/protos.ts';
import { type Obj, arr, dataSource, isObj, obj, str, stringMatch, Ctx } from './decode-common.ts';
import { decodeCluster, decodeClusterLoadAssignment } from './decode-cluster.ts';
import { decodeListener } from './decode-listener.ts';
import { decodeRouteConfiguration } from './decode-route.ts';
import type { ClusterConfig, ClusterLoadAssignment, DecodeResult, ListenerConfig, RouteConfig, SecretConfig, StringMatch } from './types.ts';

export { decodeCluster, decodeClusterLoadAssignment, decodeListener, decodeRouteConfiguration };
export { endpointTls } from './decode-cluster.ts';

const T = 'type.googleapis.com/';
export const ResourceType = {
  Listener: `${T}envoy.config.listener.v3.Listener`,
  RouteConfiguration: `${T}envoy.config.route.v3.RouteConfiguration`,
  Cluster: `${T}envoy.config.cluster.v3.Cluster`,
  ClusterLoadAssignment: `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  Secret: `${T}envoy.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export interface DecodedResourceMap {
  [ResourceType.Listener]: ListenerConfig;
  [ResourceType.RouteConfiguration]: RouteConfig;
  [ResourceType.Cluster]: ClusterConfig;
  [ResourceType.ClusterLoadAssignment]: ClusterLoadAssignment;
  [ResourceType.Secret]: SecretConfig;
}

export function decodeSecret(raw: Obj, resourceName?: string): DecodeResult<SecretConfig> {
  const name = str(raw.name) ?? '';
  const ctx = new Ctx(`Secret ${resourceName ?? name}`);
  const out: SecretConfig = { name };
  const tc = obj(raw.tls_certificate);
  if (tc) out.tlsCertificate = { certChain: dataSource(tc.certificate_chain) ?? {}, privateKey: dataSource(tc.private_key) ?? {} };
  const vc = obj(raw.validation_context);
  if (vc) {
    const sans: StringMatch[] = [];
    arr(vc.match_typed_subject_alt_names).forEach((m, i) => {
      const sm = stringMatch(obj(m)?.matcher, ctx, `validation_context.match_typed_subject_alt_names[${i}].matcher`);
      if (sm) sans.push(sm);
    });
    out.validationContext = { trustedCa: dataSource(vc.trusted_ca), matchSubjectAltNames: sans };
  }
  if (!tc && !vc) ctx.err('', 'secret needs tls_certificate or validation_context');
  return ctx.errors.length ? { errors: ctx.errors } : { value: out };
}

/** Decode a canonical object of a known type URL. */
export function decodeObject(typeUrl: string, raw: Obj, resourceName?: string): DecodeResult<unknown> {
  switch (typeUrl) {
    case ResourceType.Listener: return decodeListener(raw, resourceName);
    case ResourceType.RouteConfiguration: return decodeRouteConfiguration(raw, resourceName);
    case ResourceType.Cluster: return decodeCluster(raw, resourceName);
    case ResourceType.ClusterLoadAssignment: return decodeClusterLoadAssignment(raw, resourceName);
    case ResourceType.Secret: return decodeSecret(raw, resourceName);
    default: return { errors: [{ resource: resourceName ?? '?', field: '', message: `unsupported resource type ${typeUrl}` }] };
  }
}

/** Unpack an Any from a DiscoveryResponse and decode it; a payload that fails to parse is an error, never a throw. */
export function decodeAny(typeUrl: string, any: AnyMessage): { name: string; result: DecodeResult<unknown>; raw?: Obj } {
  let raw: Obj;
  try {
    if (any.type_url !== typeUrl) {
      return { name: '?', result: { errors: [{ resource: '?', field: 'type_url', message: `resource of type ${any.type_url} in a ${typeUrl} response` }] } };
    }
    raw = unpack(any);
  } catch (e) {
    return { name: '?', result: { errors: [{ resource: '?', field: '', message: `cannot decode ${typeUrl}: ${(e as Error).message}` }] } };
  }
  const name = str(raw.name) ?? str(raw.cluster_name) ?? '';
  if (!isObj(raw)) return { name, result: { errors: [{ resource: name, field: '', message: 'not an object' }] } };
  return { name, result: decodeObject(typeUrl, raw, name), raw };
}
