// xds/translate/listeners: PeerAuthentication as Istio applies it — the effective mTLS mode of a workload port
// (mesh-wide policy in the root namespace, then the namespace's, then a workload-selected one, then its
// portLevelMtls; UNSET inherits; the default is PERMISSIVE) and the inbound filter chains each mode needs:
// STRICT a TLS chain requiring client certificates, PERMISSIVE that plus a plaintext chain (tls_inspector picks),
// DISABLE plaintext only.
import type { ConfigObject } from '../../../config/types.ts';
import type { PeerAuthenticationSpec, MutualTLSMode } from '../../../config/types/security.ts';
import type { Proxy, PushSnapshot } from '../../../model/types.ts';
import { labelsMatch } from '../../../model/visibility.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { sdsSecret } from '../clusters/tls.ts';

export type MtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';

const MODES = new Set(['DISABLE', 'PERMISSIVE', 'STRICT']);

function modeOf(m: { mode?: MutualTLSMode } | undefined): MtlsMode | undefined {
  const v = m && typeof m === 'object' ? m.mode : undefined;
  return typeof v === 'string' && MODES.has(v) ? (v as MtlsMode) : undefined; // UNSET / bad values inherit
}

type Pa = ConfigObject<PeerAuthenticationSpec>;

function hasSelector(p: Pa): boolean {
  const ml = p.spec?.selector?.matchLabels;
  return !!ml && typeof ml === 'object' && Object.keys(ml).length > 0;
}

/** Istio: among several policies at one level the oldest wins; without creation times the snapshot's order (namespace, name) decides. */
function first(list: Pa[]): Pa | undefined {
  return list[0];
}

function policies(s: PushSnapshot): Pa[] {
  return (s.peerAuthentications as Pa[]).filter((p) => p && p.spec && typeof p.spec === 'object');
}

/** The mode in force for a namespace as a whole (mesh-wide, then namespace-wide). */
export function namespaceMtlsMode(s: PushSnapshot, namespace: string): MtlsMode {
  const all = policies(s);
  const root = s.mesh.rootNamespace || 'istio-system';
  let mode: MtlsMode = 'PERMISSIVE';
  const mesh = first(all.filter((p) => p.metadata.namespace === root && !hasSelector(p)));
  mode = modeOf(mesh?.spec.mtls) ?? mode;
  if (namespace !== root) {
    const ns = first(all.filter((p) => p.metadata.namespace === namespace && !hasSelector(p)));
    mode = modeOf(ns?.spec.mtls) ?? mode;
  }
  return mode;
}

/** The mode a workload port receives with. */
export function workloadMtlsMode(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>, port: number): MtlsMode {
  let mode = namespaceMtlsMode(s, proxy.namespace);
  const wl = first(policies(s).filter((p) => p.metadata.namespace === proxy.namespace && hasSelector(p) && labelsMatch(p.spec.selector!.matchLabels, proxy.labels)));
  if (wl) {
    mode = modeOf(wl.spec.mtls) ?? mode;
    const plm = wl.spec.portLevelMtls;
    if (plm && typeof plm === 'object') mode = modeOf(plm[String(port)]) ?? mode;
  }
  return mode;
}

/** ALPN the inbound TLS context offers: Istio's mesh markers plus the HTTP versions. */
export const INBOUND_MTLS_ALPN = ['istio-peer-exchange', 'istio', 'h2', 'http/1.1'];

/** DownstreamTlsContext for mesh mTLS: workload cert "default", peers checked against "ROOTCA", client cert required. */
function inboundMtlsTransportSocket(): EnvoyResource {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TypeUrl.DownstreamTls,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sdsSecret('default')],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sdsSecret('ROOTCA') },
        alpn_protocols: INBOUND_MTLS_ALPN,
      },
      require_client_certificate: { value: true },
    },
  };
}

export const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TypeUrl.TlsInspector } };

/** Chain names are unique within a listener: the plaintext chain keeps Istio's "inbound|<port>||", the TLS one is marked. */
function mtlsChainName(plainName: string): string {
  return plainName.replace(/^inbound\|/, 'inbound-mtls|');
}

/** The inbound chains for one port in `mode`, built from its plaintext chain (name, match, filters). */
export function mtlsChains(mode: MtlsMode, plain: EnvoyResource): EnvoyResource[] {
  if (mode === 'DISABLE') return [plain];
  const match = (plain.filter_chain_match as Record<string, unknown> | undefined) ?? {};
  const tls: EnvoyResource = {
    name: mtlsChainName(String(plain.name)),
    filter_chain_match: { ...match, transport_protocol: 'tls' },
    transport_socket: inboundMtlsTransportSocket(),
    filters: plain.filters,
  };
  if (mode === 'STRICT') return [tls];
  return [tls, { ...plain, filter_chain_match: { ...match, transport_protocol: 'raw_buffer' } }];
}

/** True when any chain needs the TLS/plaintext decision made before chain selection. */
export function needsTlsInspector(chains: readonly EnvoyResource[]): boolean {
  return chains.some((c) => (c.filter_chain_match as { transport_protocol?: string } | undefined)?.transport_protocol !== undefined);
}
