// proxy/tls: x-forwarded-client-cert handling by the HCM's forward_client_cert_details, as Envoy does: on a
// connection that is not mTLS the header is removed (except ALWAYS_FORWARD_ONLY), so plaintext clients cannot
// forge an identity; on mTLS, SANITIZE removes, FORWARD_ONLY keeps, APPEND_FORWARD appends this hop,
// SANITIZE_SET replaces with this hop.
import { xfccElement, type PeerIdentity } from './peer.ts';

const XFCC = 'x-forwarded-client-cert';

/** This hop's element per peer (one per connection): built on its first request, not on every one. */
const elements = new WeakMap<PeerIdentity, string | undefined>();

function elementOf(peer: PeerIdentity): string | undefined {
  let e = elements.get(peer);
  if (e === undefined && !elements.has(peer)) { e = xfccElement(peer); elements.set(peer, e); }
  return e;
}

/** Edit a flat [name, value, name, value, ...] header list (lower-case names) in place. */
export function applyXfcc(h: string[], mode: string, peer: PeerIdentity | undefined): void {
  let existing: string[] | undefined;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === XFCC) { (existing ??= []).push(h[i + 1]!); h.splice(i, 2); i -= 2; }
  }
  if (mode === 'ALWAYS_FORWARD_ONLY' || (mode === 'FORWARD_ONLY' && peer?.hash)) {
    if (existing) for (const v of existing) h.push(XFCC, v);
    return;
  }
  if (!peer?.hash) return;
  const mine = elementOf(peer);
  if (mode === 'APPEND_FORWARD') {
    if (!existing) h.push(XFCC, mine ?? '');
    else h.push(XFCC, (mine ? [...existing, mine] : existing).join(','));
  } else if (mode === 'SANITIZE_SET' && mine) h.push(XFCC, mine);
  // SANITIZE: removed above
}
