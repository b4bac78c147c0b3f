// proxy/tls: the downstream peer's identity after an mTLS handshake (its SPIFFE URI SAN and certificate hash),
// and the x-forwarded-client-cert value Istio's inbound sidecar sets from it (By=<us>;Hash=<sha256>;Subject="";URI=<peer>).
import { createHash } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { certSans } from './context.ts';

export interface PeerIdentity {
  /** The peer's first URI SAN (its SPIFFE ID), when it presented a certificate. */
  principal?: string;
  uris: string[];
  dns: string[];
  /** Hex SHA-256 of the peer certificate (DER). */
  hash?: string;
  subject?: string;
  /** Our own SPIFFE ID (the certificate we presented), for XFCC's By=. */
  localPrincipal?: string;
}

function subjectText(c: PeerCertificate): string {
  const s = c.subject as unknown as Record<string, string | string[]> | undefined;
  if (!s) return '';
  return Object.entries(s).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(',');
}

/**
 * Each getPeerCertificate() / getCertificate() converts a whole X509 to an object and hashes it three ways (SHA-1,
 * SHA-256, SHA-512): ~4% of an mTLS connection's set-up when called four times per handshake. terminateTls reads the
 * peer's once and leaves it here for peerIdentity, which takes it (the connection does not keep it).
 */
const handshakeCerts = new WeakMap<TLSSocket, PeerCertificate>();

export function rememberPeerCertificate(s: TLSSocket, cert: PeerCertificate): void { handshakeCerts.set(s, cert); }

/** Our own SPIFFE ID per server secure context (the same certificate on every connection it accepts). */
const ownPrincipals = new WeakMap<object, string | undefined>();

/** `context`: the secure context `s` was made with, so our own certificate is read once per context. */
export function peerIdentity(s: TLSSocket, context?: object): PeerIdentity {
  const out: PeerIdentity = { uris: [], dns: [] };
  const peer = handshakeCerts.get(s) ?? s.getPeerCertificate();
  handshakeCerts.delete(s);
  if (peer && peer.raw) {
    const sans = certSans(peer);
    out.uris = sans.uris;
    out.dns = sans.dns;
    out.principal = sans.uris[0];
    out.hash = createHash('sha256').update(peer.raw).digest('hex');
    out.subject = subjectText(peer);
  }
  if (context && ownPrincipals.has(context)) out.localPrincipal = ownPrincipals.get(context);
  else {
    const own = s.getCertificate() as PeerCertificate | null;
    if (own && 'subjectaltname' in own) out.localPrincipal = certSans(own).uris[0];
    if (context) ownPrincipals.set(context, out.localPrincipal);
  }
  return out;
}

function quote(v: string): string {
  return /[,;="]/.test(v) || v === '' ? `"${v.replace(/"/g, '\\"')}"` : v;
}

/** One XFCC element for this hop; undefined when the peer presented no certificate. */
export function xfccElement(p: PeerIdentity): string | undefined {
  if (!p.hash) return undefined;
  const parts: string[] = [];
  if (p.localPrincipal) parts.push(`By=${quote(p.localPrincipal)}`);
  parts.push(`Hash=${p.hash}`, `Subject=${quote(p.subject ?? '')}`);
  for (const u of p.uris) parts.push(`URI=${quote(u)}`);
  for (const d of p.dns) parts.push(`DNS=${quote(d)}`);
  return parts.join(';');
}
