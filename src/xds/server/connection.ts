// xds/server (serving): what SotW and delta streams share — per-type subscription state, nonces, ACK/NACK
// bookkeeping, the per-stream rate limit and the sync status shown by /debug/syncz.
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { Proxy } from '../../model/types.ts';
import { TypeUrl } from '../../envoy/protos.ts';
import { Metrics, M } from './metrics.ts';
import { TokenBucket } from './rate-limit.ts';
import { shortType, type NodeSnapshot, type CachedResource } from './cache.ts';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

export interface TypeState {
  readonly typeUrl: string;
  /** Subscribed to every resource of the type (Envoy's wildcard rules; LDS/CDS only by default). */
  wildcard: boolean;
  names: Set<string>;
  /** Nonce and version of the last response sent; ACKs must echo this nonce. */
  sentNonce?: string;
  sentVersion?: string;
  sentAt?: number;
  /** Per resource hash the client was last sent (delta: the client's view; SotW: the last response). */
  sentHashes: Map<string, string>;
  ackedVersion?: string;
  ackedAt?: number;
  nackedVersion?: string;
  nackError?: string;
  /** A send was deferred by the rate limit. */
  pending: boolean;
}

export interface TypeStatus {
  type: string;
  typeUrl: string;
  state: SyncState;
  wildcard: boolean;
  /** How many names the client subscribed to (besides a wildcard). */
  subscribed: number;
  /** The subscribed names, when there are at most 50 (syncz stays cheap for big meshes). */
  names?: string[];
  resources: number;
  sentVersion?: string;
  ackedVersion?: string;
  nackedVersion?: string;
  error?: string;
}

export interface ConnectionStatus {
  connectionId: string;
  proxyId: string;
  protocol: 'sotw' | 'delta';
  proxyType?: string;
  namespace?: string;
  generator?: string;
  connectedAt: string; // ISO time
  configVersion?: string;
  types: TypeStatus[];
}

export interface ConnectionDeps {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** The current snapshot of this connection's node (shared by every stream of the node). */
  snapshot: (nodeId: string) => NodeSnapshot | undefined;
  /** Called before answering a subscription with the names it asks for (the server may generate them). */
  onSubscribed?: (conn: Connection, typeUrl: string, names: readonly string[]) => void;
  /** Burst and refill (per second) of requests that make the server send. */
  rateLimit: { burst: number; perSecond: number };
}

const wildcardByDefault = new Set<string>([TypeUrl.Listener, TypeUrl.Cluster]);
const NO_RESOURCES: ReadonlyMap<string, CachedResource> = new Map();

export abstract class Connection {
  readonly types = new Map<string, TypeState>();
  proxy?: Proxy;
  nodeId?: string;
  readonly connectedAt = new Date();
  closed = false;
  protected nonceSeq = 0;
  protected limiter: TokenBucket;
  private deferTimer?: TimerHandle;
  abstract readonly protocol: 'sotw' | 'delta';

  constructor(readonly id: string, protected deps: ConnectionDeps) {
    this.limiter = new TokenBucket(deps.clock, deps.rateLimit.burst, deps.rateLimit.perSecond);
  }

  /** Send what changed for every subscribed type (called after a push updated the snapshot). */
  abstract push(): void;
  /** Send the current state of one type if the client lacks it. `force` answers a fresh subscription. */
  protected abstract sendType(st: TypeState, force: boolean): void;

  protected isWildcardType(url: string): boolean { return wildcardByDefault.has(url); }

  protected state(url: string): TypeState {
    let st = this.types.get(url);
    if (!st) {
      st = { typeUrl: url, wildcard: false, names: new Set(), sentHashes: new Map(), pending: false };
      this.types.set(url, st);
    }
    return st;
  }

  protected nextNonce(): string { return `${this.id}-${++this.nonceSeq}`; }

  protected current(url: string): ReadonlyMap<string, CachedResource> {
    return (this.nodeId && this.deps.snapshot(this.nodeId)?.types.get(url)) || NO_RESOURCES;
  }

  /** The resources of a type this stream is subscribed to, as they are now. */
  protected desired(st: TypeState): CachedResource[] {
    const all = this.current(st.typeUrl);
    if (st.wildcard) return [...all.values()];
    const out: CachedResource[] = [];
    for (const n of st.names) { const r = all.get(n); if (r) out.push(r); }
    return out;
  }

  /** Rate-limited send: a client re-requesting in a loop gets answers at the bucket's pace, the latest state each time. */
  protected requestSend(st: TypeState, force: boolean): void {
    if (this.limiter.take()) { st.pending = false; this.sendType(st, force); return; }
    this.deps.metrics.inc(M.rateLimited[0], M.rateLimited[1], { type: shortType(st.typeUrl) });
    if (!st.pending) this.deps.log.warn({ conn: this.id, proxy: this.nodeId, type: st.typeUrl }, 'xDS re-requests rate limited; answering later');
    st.pending = true;
    if (!this.deferTimer) {
      this.deferTimer = this.deps.clock.setTimeout(() => {
        this.deferTimer = undefined;
        if (this.closed) return;
        for (const s of this.types.values()) if (s.pending) this.requestSend(s, true);
      }, Math.max(1, this.limiter.waitMs()));
    }
  }

  /** ACK/NACK bookkeeping for a request echoing our last nonce. Returns false for a NACK. */
  protected recordAck(st: TypeState, version: string | undefined, error: { code?: number; message?: string } | undefined): boolean {
    if (error && (error.message || error.code)) {
      st.nackedVersion = st.sentVersion;
      st.nackError = error.message || `code ${error.code}`;
      this.deps.metrics.inc(M.rejects[0], M.rejects[1], { type: shortType(st.typeUrl) });
      this.deps.log.warn({ conn: this.id, proxy: this.nodeId, type: st.typeUrl, version: st.sentVersion, error: st.nackError }, 'proxy rejected config (NACK); it keeps its last accepted config');
      return false;
    }
    st.ackedVersion = version ?? st.sentVersion;
    st.ackedAt = this.deps.clock.now();
    st.nackedVersion = undefined;
    st.nackError = undefined;
    return true;
  }

  protected countRequest(url: string): void {
    this.deps.metrics.inc(M.requests[0], M.requests[1], { type: shortType(url) });
  }

  protected countStale(st: TypeState, nonce: string): void {
    this.deps.metrics.inc(M.stale[0], M.stale[1], { type: shortType(st.typeUrl) });
    this.deps.log.debug({ conn: this.id, type: st.typeUrl, nonce, expected: st.sentNonce }, 'ignoring request with stale or unknown nonce');
  }

  protected countSent(url: string): void {
    this.deps.metrics.inc(M.pushes[0], M.pushes[1], { type: shortType(url) });
  }

  close(): void {
    this.closed = true;
    this.deps.clock.clearTimeout(this.deferTimer);
  }

  status(): ConnectionStatus {
    const types: TypeStatus[] = [];
    for (const st of this.types.values()) {
      let state: SyncState;
      if (st.sentVersion === undefined) state = 'NOT SENT';
      else if (st.nackError !== undefined) state = 'NACKED';
      else if (st.ackedVersion === st.sentVersion) state = 'SYNCED';
      else state = 'STALE';
      types.push({
        type: shortType(st.typeUrl), typeUrl: st.typeUrl, state, wildcard: st.wildcard, subscribed: st.names.size,
        names: st.names.size <= 50 ? [...st.names].sort() : undefined,
        resources: st.sentHashes.size, sentVersion: st.sentVersion, ackedVersion: st.ackedVersion,
        nackedVersion: st.nackedVersion, error: st.nackError,
      });
    }
    return {
      connectionId: this.id, proxyId: this.nodeId ?? '', protocol: this.protocol, proxyType: this.proxy?.type,
      namespace: this.proxy?.namespace, generator: this.proxy?.generator, connectedAt: this.connectedAt.toISOString(),
      configVersion: this.nodeId ? this.deps.snapshot(this.nodeId)?.version : undefined, types,
    };
  }
}
