// proxy/tls: turns decoded TLS contexts (UpstreamTlsConfig / DownstreamTlsConfig) plus SDS secrets into Node TLS
// options: certificate and key, trust bundle, ALPN, SNI and the peer SAN check (Envoy's match_subject_alt_names,
// which for Istio pins the peer's SPIFFE ID). Secure contexts are cached per config object and secret generation.
import { createSecureContext, type SecureContext, type ConnectionOptions, type TlsOptions, type PeerCertificate } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { CommonTlsConfig, DataSource, DownstreamTlsConfig, SecretConfig, StringMatch, UpstreamTlsConfig } from '../config/types.ts';
import { matchString } from '../http/filters/match.ts';

/** Where SDS secret names resolve: the local certificate agent first, then secrets delivered over xDS. */
export interface SecretSource {
  get(name: string): SecretConfig | undefined;
  /** Changes whenever any secret changes (cache key). */
  readonly generation: number;
}

/** Chain several sources, first hit wins. */
export function secretSources(...sources: (SecretSource | undefined)[]): SecretSource {
  const list = sources.filter((s): s is SecretSource => !!s);
  return {
    get: (n) => { for (const s of list) { const v = s.get(n); if (v) return v; } return undefined; },
    get generation() { return list.reduce((a, s) => a * 31 + s.generation, 7); },
  };
}

/** No secrets at all (an engine without SDS or a certificate agent): TLS contexts that name one cannot be built. */
export const NO_SECRETS: SecretSource = { get: () => undefined, generation: 0 };

/** A SecretSource over a fixed map (e.g. the xDS snapshot's secrets). */
export function mapSecrets(m: ReadonlyMap<string, SecretConfig>, generation = 0): SecretSource {
  return { get: (n) => m.get(n), generation };
}

function readSource(d: DataSource | undefined): string | undefined {
  if (!d) return undefined;
  if (d.inline !== undefined) return d.inline;
  if (d.filename) { try { return readFileSync(d.filename, 'utf8'); } catch { return undefined; } }
  return undefined;
}

export interface ResolvedTls {
  cert?: string;
  key?: string;
  ca?: string;
  sans: StringMatch[];
  /** Why the context is unusable (a named secret has not arrived, a file is unreadable). */
  missing?: string;
}

/** Certificate, key and CA from inline/file data or SDS names. */
export function resolveTls(t: CommonTlsConfig, secrets: SecretSource): ResolvedTls {
  const out: ResolvedTls = { sans: [...t.matchSubjectAltNames] };
  const c = t.certificates[0];
  if (c) {
    out.cert = readSource(c.certChain);
    out.key = readSource(c.privateKey);
    if (!out.cert || !out.key) out.missing = 'certificate or key file unreadable';
  } else if (t.certificateSdsNames.length) {
    const s = secrets.get(t.certificateSdsNames[0]!);
    out.cert = readSource(s?.tlsCertificate?.certChain);
    out.key = readSource(s?.tlsCertificate?.privateKey);
    if (!out.cert || !out.key) out.missing = `SDS secret ${t.certificateSdsNames[0]} not available`;
  }
  if (t.trustedCa) {
    out.ca = readSource(t.trustedCa);
    if (!out.ca) out.missing ??= 'trusted CA unreadable';
  }
  if (t.validationSdsName) {
    const s = secrets.get(t.validationSdsName);
    const ca = readSource(s?.validationContext?.trustedCa);
    if (!ca) out.missing ??= `SDS secret ${t.validationSdsName} not available`;
    out.ca = out.ca ? out.ca + ca : ca;
    out.sans.push(...(s?.validationContext?.matchSubjectAltNames ?? []));
  }
  return out;
}

/** SANs of a peer certificate as "URI:..."/"DNS:..." pairs split into values. */
export function certSans(cert: PeerCertificate | undefined): { uris: string[]; dns: string[] } {
  const out = { uris: [] as string[], dns: [] as string[] };
  for (const part of (cert?.subjectaltname ?? '').split(/,\s*/)) {
    if (part.startsWith('URI:')) out.uris.push(part.slice(4));
    else if (part.startsWith('DNS:')) out.dns.push(part.slice(4));
  }
  return out;
}

/** Envoy's SAN check: some SAN of the peer matches some matcher (none configured: any peer the CA vouches for). */
export function sanAllowed(sans: readonly StringMatch[], cert: PeerCertificate | undefined): boolean {
  if (!sans.length) return true;
  const { uris, dns } = certSans(cert);
  return [...uris, ...dns].some((v) => sans.some((m) => matchString(m, v)));
}

type Cached = { gen: number; ctx: SecureContext | undefined; r: ResolvedTls };
/** Per TLS config object and secret source: rebuilt when the source's generation moves. */
const ctxCache = new WeakMap<object, WeakMap<SecretSource, Cached>>();

/**
 * Server contexts carry a session id context: without one OpenSSL fails the handshake of any client that offers
 * to resume a session (as Envoy's upstream TLS does by default) instead of falling back to a full handshake.
 */
const SESSION_ID_CONTEXT = 'rigging';

function secureContext(t: CommonTlsConfig, secrets: SecretSource, server = false): { ctx?: SecureContext; r: ResolvedTls } {
  let bySource = ctxCache.get(t);
  if (!bySource) { bySource = new WeakMap(); ctxCache.set(t, bySource); }
  const hit = bySource.get(secrets);
  const gen = secrets.generation;
  if (hit && hit.gen === gen) return { ctx: hit.ctx, r: hit.r };
  const r = resolveTls(t, secrets);
  let ctx: SecureContext | undefined;
  if (!r.missing) {
    try {
      ctx = createSecureContext({ cert: r.cert, key: r.key, ca: r.ca, minVersion: tlsVersion(t.minVersion), maxVersion: tlsVersion(t.maxVersion), ...(server ? { sessionIdContext: SESSION_ID_CONTEXT } : {}) });
    } catch (e) {
      r.missing = `bad TLS material: ${(e as Error).message}`;
    }
  }
  bySource.set(secrets, { gen, ctx, r });
  return { ctx, r };
}

function tlsVersion(v: string | undefined): 'TLSv1.2' | 'TLSv1.3' | undefined {
  if (v === 'TLSv1_2') return 'TLSv1.2';
  if (v === 'TLSv1_3') return 'TLSv1.3';
  return undefined;
}

/** ALPN tokens the Node side can act on: Istio's "istio*" markers stay (peers use them), order kept. */
function alpn(list: readonly string[], fallback: string[]): string[] {
  return list.length ? [...list] : fallback;
}

export type Prepared<T> = { options: T; sans: StringMatch[] } | { error: string };

/** Options for tls.connect to an upstream (add `socket` or host/port). The SAN check runs in checkServerIdentity. */
export function clientTlsOptions(t: UpstreamTlsConfig, secrets: SecretSource, http2 = false): Prepared<ConnectionOptions> {
  const { ctx, r } = secureContext(t, secrets);
  if (!ctx) return { error: r.missing ?? 'no TLS context' };
  const verify = r.ca !== undefined;
  const options: ConnectionOptions = {
    secureContext: ctx,
    ALPNProtocols: alpn(t.alpnProtocols, http2 ? ['h2', 'http/1.1'] : ['http/1.1']),
    rejectUnauthorized: verify,
    // Envoy checks SANs only against match_subject_alt_names (not the SNI): do the same
    checkServerIdentity: (_host, cert) => (sanAllowed(r.sans, cert) ? undefined : new Error(`peer SAN ${cert.subjectaltname ?? '(none)'} does not match ${r.sans.map((m) => m.value).join(', ')}`)),
  };
  if (t.sni) options.servername = t.sni;
  return { options, sans: r.sans };
}

/**
 * Server options for terminating TLS. Istio's inbound context offers h2 and http/1.1; the "istio" markers a
 * mesh client sends are accepted too (listed after them, so a client offering h2 gets h2).
 */
export function serverTlsOptions(t: DownstreamTlsConfig, secrets: SecretSource): Prepared<TlsOptions> {
  const { ctx, r } = secureContext(t, secrets, true);
  if (!ctx) return { error: r.missing ?? 'no TLS context' };
  const offered = alpn(t.alpnProtocols, ['h2', 'http/1.1']);
  const extra = ['istio-peer-exchange', 'istio'].filter((p) => !offered.includes(p));
  return {
    options: {
      secureContext: ctx,
      ALPNProtocols: [...offered.filter((p) => !p.startsWith('istio')), ...offered.filter((p) => p.startsWith('istio')), ...extra],
      requestCert: t.requireClientCertificate || r.ca !== undefined,
      rejectUnauthorized: t.requireClientCertificate,
    },
    sans: r.sans,
  };
}
