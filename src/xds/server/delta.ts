// xds/server (serving): the incremental ADS protocol (DeltaAggregatedResources). The server tracks what
// the client holds (resource name -> content hash) and sends only changed resources and removals.
import { XdsTypes } from '../../envoy/protos.ts';
import { Connection, type ConnectionDeps, type TypeState } from './connection.ts';
import { setVersion } from './cache.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from './ads-service.ts';

export class DeltaConnection extends Connection {
  readonly protocol = 'delta' as const;
  private seen = new Set<string>();
  constructor(id: string, deps: ConnectionDeps, private send: (m: DeltaDiscoveryResponse) => void, private controlPlaneId: string) {
    super(id, deps);
  }

  onRequest(req: DeltaDiscoveryRequest): void {
    const url = req.type_url ?? '';
    this.countRequest(url);
    const st = this.state(url);
    const first = !this.seen.has(url);
    this.seen.add(url);
    if (first) {
      // A reconnecting client tells us what it already holds, so unchanged resources are not resent.
      for (const [n, v] of Object.entries(req.initial_resource_versions ?? {})) st.sentHashes.set(n, v);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      if (nonce !== st.sentNonce) this.countStale(st, nonce);
      else this.recordAck(st, st.sentVersion, req.error_detail);
    }
    // Subscription changes apply even on a stale nonce: in delta they are independent of ACKs.
    const sub = req.resource_names_subscribe ?? [];
    const unsub = req.resource_names_unsubscribe ?? [];
    if (first && sub.length === 0 && this.isWildcardType(url)) st.wildcard = true;
    for (const n of sub) { if (n === '*') st.wildcard = true; else st.names.add(n); }
    for (const n of unsub) {
      if (n === '*') st.wildcard = false;
      else { st.names.delete(n); st.sentHashes.delete(n); }
    }
    if (sub.length) this.deps.onSubscribed?.(this, url, [...st.names]);
    if (first || sub.length || unsub.length) this.requestSend(st, first);
  }

  protected sendType(st: TypeState, force: boolean): void {
    if (this.closed) return;
    const all = this.current(st.typeUrl);
    const toSend = this.desired(st).filter((r) => st.sentHashes.get(r.name) !== r.hash);
    const removed = [...st.sentHashes.keys()].filter((n) => !all.has(n) || (!st.wildcard && !st.names.has(n))).sort();
    if (!force && toSend.length === 0 && removed.length === 0) return;
    for (const n of removed) st.sentHashes.delete(n);
    for (const r of toSend) st.sentHashes.set(r.name, r.hash);
    const nonce = this.nextNonce();
    const version = setVersion([...st.sentHashes].map(([name, hash]) => ({ name, hash })));
    const sys = (this.nodeId && this.deps.snapshot(this.nodeId)?.version) || '';
    this.send({
      system_version_info: sys, type_url: st.typeUrl, nonce, removed_resources: removed,
      resources: toSend.map((r) => ({ name: r.name, version: r.hash, resource: r.any })),
      control_plane: { identifier: this.controlPlaneId },
    });
    st.sentVersion = version;
    st.sentNonce = nonce;
    st.sentAt = this.deps.clock.now();
    this.countSent(st.typeUrl);
  }

  push(): void {
    const order = [...XdsTypes.map((t) => t.url as string), ...this.types.keys()];
    for (const url of new Set(order)) {
      const st = this.types.get(url);
      if (st && !st.pending && this.seen.has(url)) this.sendType(st, false);
    }
  }
}
