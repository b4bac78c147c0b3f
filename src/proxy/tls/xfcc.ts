// proxy/tls: x-forwarded-client-cert handling by the HCM's forward_client_cert_details, as Envoy does: on a
// connection that is not mTLS the header is removed (except ALWAYS_FORWARD_ONLY), so plaintext clients cannot
// forge an identity; on mTLS, SANITIZE removes, FORWARD_ONLY keeps, APPEND_FORWARD appends this hop,
// SANITIZE_SET replaces with this hop.
import { xfccElement, type PeerIdentity } from './peer.ts';

const XFCC = 'x-forwarded-client-cert';

/** Edit a flat [name, value, name, value, ...] header list (lower-case names) in place. */
export function applyXfcc(h: string[], mode: string, peer: PeerIdentity | undefined): void {
  const mtls = !!peer?.hash;
  const existing: string[] = [];
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === XFCC) { existing.push(h[i + 1]!); h.splice(i, 2); i -= 2; }
  }
  const keep = (): void => { for (const v of existing) h.push(XFCC, v); };
  if (mode === 'ALWAYS_FORWARD_ONLY') { keep(); return; }
  if (!mtls) return;
  const mine = xfccElement(peer!);
  switch (mode) {
    case 'FORWARD_ONLY': keep(); return;
    case 'APPEND_FORWARD': h.push(XFCC, [...existing, ...(mine ? [mine] : [])].join(',')); return;
    case 'SANITIZE_SET': if (mine) h.push(XFCC, mine); return;
    default: return; // SANITIZE
  }
}
