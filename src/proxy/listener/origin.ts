// proxy/listener: how a downstream connection arrived, kept apart from routing (routing never sees it).
import type { Socket } from 'node:net';

/**
 * `listener`: the client connected to a port we bound (explicit listener, or local HTTP_PROXY mode).
 * `original-dst`: transparent capture redirected it to us; `destination` is where it was going.
 */
export interface ConnectionOrigin {
  readonly kind: 'listener' | 'original-dst';
  readonly listenerName: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly destination: { readonly address: string; readonly port: number };
  /** Downstream TLS was terminated here (scheme https for x-forwarded-proto). */
  readonly tls: boolean;
  /** The downstream peer's identity when it presented a client certificate (mTLS): SPIFFE ID, hash, for XFCC and authz. */
  readonly peer?: import('../tls/peer.ts').PeerIdentity;
  /** TLS SNI the client sent (read by the tls_inspector), for RBAC's requested_server_name. */
  readonly sni?: string;
  /** ALPN protocol negotiated with the downstream TLS client (istio-peer-exchange: a TCP chain runs the metadata exchange). */
  readonly alpn?: string;
}

export function originOf(socket: Socket, listenerName: string, tls: boolean, originalDst?: { address: string; port: number }): ConnectionOrigin {
  const localAddress = socket.localAddress ?? '';
  const localPort = socket.localPort ?? 0;
  return {
    kind: originalDst ? 'original-dst' : 'listener',
    listenerName,
    localAddress,
    localPort,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    destination: originalDst ?? { address: localAddress, port: localPort },
    tls,
  };
}
