// xds/translate: DestinationRule ClientTLSSettings -> the cluster's UpstreamTlsContext transport socket.
// ISTIO_MUTUAL uses the workload certificate "default" and the trust bundle "ROOTCA" over SDS on the ADS
// stream, checking the peer's SPIFFE identity; SIMPLE/MUTUAL read files or an SDS credentialName.
import type { ClientTLSSettings } from '../../../config/types/networking.ts';
import { spiffeUri } from '../../../ca/spiffe.ts';
import { TypeUrl } from '../../../envoy/protos.ts';
import type { EnvoyResource } from '../types.ts';
import { istioMutualSni } from './names.ts';

export const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

export function sdsSecret(name: string): EnvoyResource {
  return { name, sds_config: ADS_CONFIG_SOURCE };
}

function file(path: string): EnvoyResource { return { filename: path }; }

/** spiffe://<trustDomain>/ns/<ns>/sa/<sa>; identities already in URI form pass through. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  if (serviceAccount.startsWith('spiffe://')) return serviceAccount;
  return spiffeUri({ trustDomain, namespace, serviceAccount });
}

function sanMatchers(sans: readonly unknown[]): EnvoyResource[] {
  return [...new Set(sans.filter((s): s is string => typeof s === 'string' && s !== ''))].sort().map((s) => ({ exact: s }));
}

/** A non-empty string config value, or undefined. */
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export interface TlsInput {
  tls: ClientTLSSettings | undefined;
  clusterName: string;
  /** SPIFFE identities of the destination's workloads, used for ISTIO_MUTUAL when the DR names none. */
  identities: readonly string[];
  /** h2 upstream: advertise h2 in ALPN for SIMPLE/MUTUAL without explicit settings, as Istio does for HTTP2 ports. */
  http2: boolean;
  /** the destination service's hostname: the default SNI for SIMPLE/MUTUAL */
  hostname?: string;
  /**
   * The cluster port's protocol (Istio's names). Only ISTIO_MUTUAL reads it: a port that is not HTTP gets Istio's TCP
   * metadata-exchange ALPN. Unset keeps the HTTP lists (a caller that does not know cannot promise a TCP peer).
   */
  protocol?: string;
}

/** Protocols our HTTP upstream speaks on the cluster; every other port may carry raw TCP. */
const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);

/**
 * ALPN of an in-mesh (ISTIO_MUTUAL) cluster. Istio offers "istio-peer-exchange" first on every in-mesh cluster so a
 * peer sidecar's TCP chain runs the metadata exchange, and leaves HTTP to its ALPN filter, which rewrites the list per
 * request (istio-http/1.0, istio-http/1.1, istio-h2). Our HTTP upstream has no such filter and would negotiate the
 * exchange token on an HTTP connection, so HTTP ports keep the plain in-mesh lists, ['istio'] and ['istio', 'h2'];
 * TCP, TLS, HTTPS, databases and UNKNOWN (sniffed) ports get Istio's ['istio-peer-exchange', 'istio'].
 */
export function istioMutualAlpn(protocol: string | undefined, http2: boolean): string[] {
  if (http2) return ['istio', 'h2'];
  if (protocol === undefined || HTTP_PROTOCOLS.has(protocol.toUpperCase())) return ['istio'];
  return ['istio-peer-exchange', 'istio'];
}

export function upstreamTransportSocket(input: TlsInput): EnvoyResource | undefined {
  const raw = input.tls;
  if (!raw || typeof raw !== 'object' || !raw.mode || raw.mode === 'DISABLE') return undefined;
  if (!['SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'].includes(raw.mode)) return undefined;
  // only well-typed fields go on: a bad value in a stored DR must not make the cluster unencodable
  const tls = {
    ...raw,
    clientCertificate: str(raw.clientCertificate), privateKey: str(raw.privateKey), caCertificates: str(raw.caCertificates),
    credentialName: str(raw.credentialName), sni: str(raw.sni),
    subjectAltNames: Array.isArray(raw.subjectAltNames) ? raw.subjectAltNames.filter((x) => typeof x === 'string' && x) : undefined,
  };
  const ctx: Record<string, unknown> = {};
  const common: Record<string, unknown> = {};
  if (tls.mode === 'ISTIO_MUTUAL') {
    common.tls_certificate_sds_secret_configs = [sdsSecret('default')];
    const sans = tls.subjectAltNames?.length ? tls.subjectAltNames : input.identities;
    const dflt: Record<string, unknown> = {};
    if (sans.length) dflt.match_subject_alt_names = sanMatchers(sans);
    common.combined_validation_context = { default_validation_context: dflt, validation_context_sds_secret_config: sdsSecret('ROOTCA') };
    common.alpn_protocols = istioMutualAlpn(input.protocol, input.http2);
    ctx.sni = tls.sni ?? istioMutualSni(input.clusterName);
  } else {
    if (tls.credentialName) {
      // Istio: the client cert/key secret is <name>, the CA bundle <name>-cacert, both over SDS
      if (tls.mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [sdsSecret(`kubernetes://${tls.credentialName}`)];
      if (!tls.insecureSkipVerify) {
        const dflt: Record<string, unknown> = {};
        if (tls.subjectAltNames?.length) dflt.match_subject_alt_names = sanMatchers(tls.subjectAltNames);
        common.combined_validation_context = { default_validation_context: dflt, validation_context_sds_secret_config: sdsSecret(`kubernetes://${tls.credentialName}-cacert`) };
      }
    } else {
      if (tls.mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey) {
        common.tls_certificates = [{ certificate_chain: file(tls.clientCertificate), private_key: file(tls.privateKey) }];
      }
      if (!tls.insecureSkipVerify && (tls.caCertificates || tls.subjectAltNames?.length)) {
        const vc: Record<string, unknown> = {};
        if (tls.caCertificates) vc.trusted_ca = file(tls.caCertificates);
        if (tls.subjectAltNames?.length) vc.match_subject_alt_names = sanMatchers(tls.subjectAltNames);
        common.validation_context = vc;
      }
    }
    if (input.http2) common.alpn_protocols = ['h2'];
    // TLS origination to a named host needs SNI; Istio derives it per request (auto SNI), a fixed
    // service hostname is the same for every request of this cluster
    const sni = tls.sni ?? (input.hostname && !input.hostname.startsWith('*') ? input.hostname : undefined);
    if (sni) ctx.sni = sni;
  }
  ctx.common_tls_context = common;
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTls, ...ctx } };
}
