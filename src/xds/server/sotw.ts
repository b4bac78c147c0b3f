// xds/server (serving): the state-of-the-world ADS protocol (StreamAggregatedResources). LDS/CDS responses
// carry the full subscribed set, RDS/EDS ones only what changed; version_info is a hash of that set, so an unchanged
// set is never resent and a NACKed version is not pushed again until the content changes.
import { XdsTypes } from '../../envoy/protos.ts';
import { Connection, type ConnectionDeps, type TypeState } from './connection.ts';
import { setVersion } from './cache.ts';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-service.ts';

export class SotwConnection extends Connection {
  readonly protocol = 'sotw' as const;
  constructor(id: string, deps: ConnectionDeps, private send: (m: DiscoveryResponse) => void, private controlPlaneId: string) {
    super(id, deps);
  }

  onRequest(req: DiscoveryRequest): void {
    const url = req.type_url ?? '';
    this.countRequest(url);
    const st = this.state(url);
    const nonce = req.response_nonce ?? '';
    const names = req.resource_names ?? [];
    if (nonce !== '') {
      // An ACK or NACK. Only one echoing our latest nonce counts as such: older ones are superseded by a
      // response the client has not seen yet, and unknown ones are garbage. Their resource_names still
      // are the client's subscription at that moment (requests are ordered), so it is tracked from every
      // request: ignoring it could leave the server believing a client holds what it had dropped.
      if (nonce !== st.sentNonce) this.countStale(st, nonce);
      else this.recordAck(st, req.version_info, req.error_detail);
      if (this.updateSubscription(st, names, false)) { this.deps.onSubscribed?.(this, url, [...st.names]); this.requestSend(st, false); }
      return;
    }
    // No nonce: a new subscription to this type (first request, or the client lost its state).
    this.updateSubscription(st, names, st.sentNonce === undefined);
    this.deps.onSubscribed?.(this, url, [...st.names]);
    this.requestSend(st, true);
  }

  /** Envoy's SotW wildcard rules. Returns whether the subscription changed. */
  private updateSubscription(st: TypeState, names: string[], first: boolean): boolean {
    const wasWildcard = st.wildcard;
    const old = st.names;
    const explicit = names.filter((n) => n !== '*');
    if (names.includes('*')) st.wildcard = true;
    else if (explicit.length === 0) st.wildcard = this.isWildcardType(st.typeUrl) && (first || st.wildcard);
    else st.wildcard = false;
    st.names = new Set(explicit);
    // A dropped name is forgotten, so subscribing to it again gets it sent again.
    for (const n of old) if (!st.names.has(n)) st.sentHashes.delete(n);
    // Every ACK repeats the whole subscription (1,000s of names for EDS): compare without sorting.
    if (wasWildcard !== st.wildcard || old.size !== st.names.size) return true;
    for (const n of st.names) if (!old.has(n)) return true;
    return false;
  }

  protected sendType(st: TypeState, force: boolean): void {
    if (this.closed) return;
    const res = this.desired(st);
    const version = setVersion(res);
    if (!force && version === st.sentVersion) return;
    // LDS and CDS responses must carry every subscribed resource (absence means deletion). For RDS, EDS
    // and the rest the protocol lets the server send only what changed: absence leaves a resource as it is.
    const toSend = force || this.isWildcardType(st.typeUrl) ? res : res.filter((r) => st.sentHashes.get(r.name) !== r.hash);
    const nonce = this.nextNonce();
    this.send({ version_info: version, resources: toSend.map((r) => r.any), type_url: st.typeUrl, nonce, control_plane: { identifier: this.controlPlaneId } });
    st.sentVersion = version;
    st.sentNonce = nonce;
    st.sentAt = this.deps.clock.now();
    st.sentHashes = new Map(res.map((r) => [r.name, r.hash]));
    this.countSent(st.typeUrl);
  }

  push(): void {
    // CDS before EDS, LDS before RDS: the order Envoy wants to avoid warming on missing resources.
    const order = [...XdsTypes.map((t) => t.url as string), ...this.types.keys()];
    for (const url of new Set(order)) {
      const st = this.types.get(url);
      if (st && !st.pending && st.sentNonce !== undefined) this.sendType(st, false);
    }
  }
}
