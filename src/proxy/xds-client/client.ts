// proxy/xds-client: the proxy's ADS client: subscribes, decodes at the edge, ACKs/NACKs, warms, reconnects.
//
// One bidirectional ADS stream carries every type, state of the world (default) or incremental (protocol.ts).
// LDS and CDS are wildcard subscriptions; RDS, EDS and SDS names follow what the held and served listeners and
// clusters reference. A response is applied resource by resource: valid ones replace their previous version,
// invalid ones keep their last good version and the response is NACKed (SotW: previous version_info + the response
// nonce + error_detail naming resource and field), as gRPC's xDS client does. Listeners wait for their route
// configs and clusters for their endpoints (Envoy's warming) before a snapshot serves them. While disconnected the
// last good snapshot keeps serving; reconnects back off exponentially with jitter on the injected clock.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { realClock, type Clock, type TimerHandle } from '../../common/clock.ts';
import { logger, type Logger } from '../../common/logger.ts';
import { decodeAny, ResourceType } from '../config/decode.ts';
import { unpack, type AnyMessage } from '../../envoy/protos.ts';
import { formatDecodeError, type DecodeError, type ListenerConfig, type ProxyConfigSnapshot } from '../config/types.ts';
import { adsServiceClient, jsToWireStruct, type AdsClient, type WireNode } from './ads-proto.ts';
import { delta, sotw, type NormalizedResponse, type Protocol, type WireRequest } from './protocol.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { buildSnapshot, dependents, sameSnapshot, XdsStore, type AppliedResource, type NackRecord, type TypeState } from './store.ts';
import { isAgentSecret } from '../tls/live-secrets.ts';

/** The node identity sent in the first request of each stream. */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: { region?: string; zone?: string; subZone?: string };
}

export interface XdsClientOptions {
  /** host:port of the ADS server. */
  server: { host: string; port: number };
  node: NodeInfo;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Serve a warming cluster/listener anyway after this long without its EDS/RDS (Envoy's initial_fetch_timeout, default 15000; 0 = wait forever). */
  initialFetchTimeoutMs?: number;
  /** Subscribe to SDS secrets referenced by TLS contexts over ADS (default true). */
  subscribeSecrets?: boolean;
  /**
   * Secrets served from outside xDS: true = here now (a listener or cluster naming it is not held for it), false =
   * expected from there but not yet (held, bounded by the initial fetch timeout), undefined = an xDS secret (held until
   * SDS delivers it). Call secretsChanged() when an answer may have changed. Default: Istio's agent names "default" and
   * "ROOTCA" are never awaited over ADS (istiod does not serve them), every other name is.
   */
  externalSecret?: (name: string) => boolean | undefined;
  credentials?: grpc.ChannelCredentials;
  /** Wire protocol: state of the world (default, what Envoy uses by default) or incremental (delta). */
  protocol?: 'sotw' | 'delta';
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  log?: Logger;
  /**
   * Binds listener sockets while an LDS response is applied (Envoy binds on the main thread then): a listener whose
   * bind fails keeps its last good version and the response is NACKed naming it; the others apply.
   */
  listenerSockets?: ListenerSockets;
}

/** The proxy's side of binding listeners during LDS (the engine implements it). */
export interface ListenerSockets {
  /** Bind (or keep) the sockets of new or changed listeners; resolves to an error message per listener that cannot bind. */
  bind(listeners: ListenerConfig[]): Promise<Map<string, string>>;
  /** The listeners LDS holds now: a socket bound for any other listener is closed. */
  retain(names: ReadonlySet<string>): void;
}

export interface NackEvent { typeUrl: string; version: string; nonce: string; errors: DecodeError[] }

export interface XdsClientEvents {
  update: [ProxyConfigSnapshot];
  nack: [NackEvent];
  ack: [{ typeUrl: string; version: string; nonce: string }];
  connected: [];
  disconnected: [{ error?: string; retryInMs: number }];
  /** LDS and CDS have each been applied once (the proxy may report ready). */
  ready: [];
}

/** What the admin API shows per type. */
export interface TypeStatus {
  typeUrl: string;
  version: string;
  nonce: string;
  received: boolean;
  subscribed: string[] | '*';
  resources: { name: string; version: string; appliedAt: number; raw: Record<string, unknown> }[];
  lastNack?: NackRecord;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The canonical object of a held resource, for /config_dump (decoded on demand; it was valid when applied). */
function canonical(typeUrl: string, any: AnyMessage): Record<string, unknown> {
  try {
    return { '@type': typeUrl, ...unpack(any) };
  } catch (e) {
    return { '@type': typeUrl, error: (e as Error).message };
  }
}

const STAT_PREFIX: Record<string, string> = {
  [ResourceType.Cluster]: 'cluster_manager.cds',
  [ResourceType.Listener]: 'listener_manager.lds',
  [ResourceType.RouteConfiguration]: 'rds',
  [ResourceType.ClusterLoadAssignment]: 'eds',
  [ResourceType.Secret]: 'sds',
};

export class XdsClient extends EventEmitter<XdsClientEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly store = new XdsStore();
  private readonly initialFetchTimeoutMs: number;
  private client?: AdsClient;
  private stream?: grpc.ClientDuplexStream<WireRequest, unknown>;
  private readonly proto: Protocol;
  private streamSeq = 0;
  private retryTimer?: TimerHandle;
  private fetchTimer?: TimerHandle;
  private stopped = true;
  private sentNode = false;
  private current?: ProxyConfigSnapshot;
  private generation = 0;
  private readyFired = false;
  private connectedNow = false;
  /** Envoy-named update counters per type, plus stream counters (for /stats). */
  private readonly counters = new Map<string, number>();
  /** Resources already reported as past their initial fetch timeout, per type URL. */
  private readonly timedOut = new Map<string, Set<string>>();
  /** Responses wait here while an earlier one is binding listener sockets (they apply in order). */
  private inbox: Promise<void> | undefined;

  constructor(private readonly opts: XdsClientOptions) {
    super();
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? logger('xds-client');
    this.backoff = new Backoff(opts.backoff);
    this.initialFetchTimeoutMs = opts.initialFetchTimeoutMs ?? 15_000;
    this.proto = opts.protocol === 'delta' ? delta : sotw;
  }

  /** Open the stream; resolves immediately (connection progress is reported by events). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const Ctor = adsServiceClient();
    this.client = new Ctor(`${this.opts.server.host}:${this.opts.server.port}`, this.opts.credentials ?? grpc.credentials.createInsecure(), {
      // HTTP/2 pings detect a dead control plane; 5 min is the most often a grpc-go server (istiod) tolerates by default.
      'grpc.keepalive_time_ms': 300_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // The channel's own reconnect backoff must not outgrow ours, or a restarted server is noticed late.
      'grpc.initial_reconnect_backoff_ms': Math.min(1000, this.opts.backoff?.initialMs ?? 500),
      'grpc.max_reconnect_backoff_ms': this.opts.backoff?.maxMs ?? 30_000,
      ...this.opts.channelOptions,
    }) as unknown as AdsClient;
    this.openStream();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.fetchTimer);
    this.retryTimer = this.fetchTimer = undefined;
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
    this.client?.close();
    this.client = undefined;
  }

  /** The last published consistent snapshot (undefined before anything was applied). */
  snapshot(): ProxyConfigSnapshot | undefined {
    return this.current;
  }

  /** True once LDS and CDS were each applied at least once. */
  isReady(): boolean {
    return this.readyFired;
  }

  /** A stream is open over a READY channel (the server may not have answered yet). */
  isConnected(): boolean {
    if (this.connectedNow) return true;
    return !!this.stream && this.client?.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
  }

  /**
   * Counters and gauges for /stats, named as Envoy names them where it has one: cluster_manager.cds.*,
   * listener_manager.lds.*, and rds.* / eds.* / sds.* summed over resources; control_plane.connected_state.
   */
  stats(): { type: 'counter' | 'gauge'; name: string; value: number }[] {
    const out: { type: 'counter' | 'gauge'; name: string; value: number }[] = [{ type: 'gauge', name: 'control_plane.connected_state', value: this.isConnected() ? 1 : 0 }];
    for (const [name, value] of this.counters) out.push({ type: 'counter', name, value });
    for (const t of this.store.all()) out.push({ type: 'gauge', name: `${STAT_PREFIX[t.typeUrl]}.resources`, value: t.resources.size });
    return out;
  }

  /** Emit without letting a throwing listener break the stream's ACK/NACK bookkeeping. */
  private tell<K extends keyof XdsClientEvents>(event: K, ...args: XdsClientEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: XdsClientEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log.error({ event, err: (e as Error).message }, 'xDS client event listener threw');
    }
  }

  private count(typeUrl: string, what: string): void {
    const p = STAT_PREFIX[typeUrl];
    if (p) this.bump(`${p}.${what}`);
  }

  private bump(name: string): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  status(): TypeStatus[] {
    return this.store.all().map((t) => ({
      typeUrl: t.typeUrl,
      version: t.version,
      nonce: t.nonce,
      received: t.received,
      subscribed: t.wildcard ? '*' : [...t.names].sort(),
      resources: [...t.resources.values()].map((r) => ({ name: r.name, version: r.version, appliedAt: r.appliedAt, raw: canonical(t.typeUrl, r.packed) })),
      lastNack: t.lastNack,
    }));
  }

  // ------------------------------------------------------------------------------------------
  // Stream lifecycle

  private openStream(): void {
    if (this.stopped || !this.client) return;
    const seq = ++this.streamSeq;
    const stream = this.proto.open(this.client);
    this.stream = stream;
    this.sentNode = false;
    let gotResponse = false;
    stream.on('data', (resp: { type_url?: string }) => {
      if (seq !== this.streamSeq) return;
      if (!gotResponse) {
        gotResponse = true;
        this.backoff.reset();
      }
      this.receive(resp, seq);
    });
    stream.on('metadata', () => {
      if (seq !== this.streamSeq || this.connectedNow) return;
      this.connectedNow = true;
      this.tell('connected');
    });
    const onEnd = (err?: Error): void => {
      if (seq !== this.streamSeq) return;
      this.streamSeq++; // ignore any later events of this stream
      this.stream = undefined;
      this.connectedNow = false;
      if (this.stopped) return;
      this.bump('control_plane.stream_closed');
      const wait = this.backoff.next();
      this.log.warn({ err: err?.message, retryInMs: wait }, 'xDS stream closed; keeping last good config and reconnecting');
      this.tell('disconnected', { error: err?.message, retryInMs: wait });
      this.retryTimer = this.clock.setTimeout(() => {
        this.retryTimer = undefined;
        this.openStream();
      }, wait);
    };
    stream.on('error', (e: Error) => onEnd(e));
    stream.on('end', () => onEnd());
    // Re-subscribe to everything we hold, with the versions we accepted (no nonce: it belongs to the old stream).
    for (const t of this.store.all()) {
      t.nonce = '';
      if (t.wildcard || t.names.size > 0) this.write(this.proto.initial(t));
    }
  }

  private write(req: WireRequest): void {
    if (!this.stream) return;
    if (!this.sentNode) {
      req.node = this.wireNode(); // only the first request of a stream carries the node
      this.sentNode = true;
    }
    this.stream.write(req);
  }

  private wireNode(): WireNode {
    const n = this.opts.node;
    const out: WireNode = { id: n.id, cluster: n.cluster, metadata: jsToWireStruct(n.metadata), user_agent_name: 'rigging', user_agent_version: '0.1.0' };
    if (n.locality) out.locality = { region: n.locality.region, zone: n.locality.zone, sub_zone: n.locality.subZone };
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Responses

  /** Apply now, or after the responses still binding listener sockets (only LDS with listenerSockets waits). */
  private receive(raw: { type_url?: string }, seq: number): void {
    const run = (): void | Promise<void> => {
      if (seq !== this.streamSeq) return; // the stream ended while waiting: the next one re-requests everything
      return this.onResponse(this.proto.normalize(raw, this.store.byType(raw.type_url ?? '')), seq);
    };
    const fail = (e: Error): void => this.log.error({ err: e.message }, 'applying xDS response failed');
    const p = this.inbox ? this.inbox.then(run) : run();
    if (!p) return; // applied at once, nothing queued
    // The queue is empty again once its last link settles.
    const tail: Promise<void> = p.catch(fail).finally(() => { if (this.inbox === tail) this.inbox = undefined; });
    this.inbox = tail;
  }

  private onResponse(resp: NormalizedResponse, seq: number): void | Promise<void> {
    const { typeUrl, version, nonce } = resp;
    const t = this.store.byType(typeUrl);
    if (!t) {
      this.log.warn({ typeUrl }, 'response for a type we never subscribed to; ignoring');
      return;
    }
    t.nonce = nonce;
    this.count(typeUrl, 'update_attempt');
    const errors: DecodeError[] = [];
    const seen = new Set<string>();
    const now = this.clock.now();
    const changed: AppliedResource[] = [];
    for (const r of resp.resources) {
      const { name, result, raw: decoded } = decodeAny(typeUrl, r.any);
      if (r.name !== undefined && r.name !== name && name !== '?') {
        errors.push({ resource: r.name, field: 'name', message: `resource named ${JSON.stringify(name)} inside` });
        continue;
      }
      if (seen.has(name)) {
        errors.push({ resource: name, field: '', message: 'duplicate resource name in one response' });
        continue;
      }
      seen.add(name);
      if (result.errors) {
        errors.push(...result.errors);
        continue; // its last good version (if any) stays
      }
      if (!t.wildcard && !t.names.has(name)) continue; // not asked for (or just unsubscribed)
      const rv = r.version ?? version;
      const prev = t.resources.get(name);
      // Same content: keep the same decoded object so consumers see no change. Same bytes is the cheap common case;
      // other bytes can still be the same content (field order, map order), so then compare the canonical objects.
      if (prev && (sameBytes(prev.packed.value, r.any.value) || JSON.stringify(unpack(prev.packed)) === JSON.stringify(decoded))) {
        prev.version = rv;
        continue;
      }
      // A copy: the decoded bytes are a view of the whole response's buffer, which it would keep alive.
      changed.push({ name, value: result.value, packed: { type_url: r.any.type_url, value: new Uint8Array(r.any.value) }, version: rv, appliedAt: now });
    }
    const sockets = typeUrl === ResourceType.Listener ? this.opts.listenerSockets : undefined;
    if (!sockets || changed.length === 0) return this.finishResponse(resp, t, changed, seen, errors, now, sockets);
    return sockets.bind(changed.map((c) => c.value as ListenerConfig)).then((failed) => {
      if (seq !== this.streamSeq) return;
      // Envoy: a listener that cannot bind is rejected (its last good version stays); the rest of the update applies.
      for (const [name, message] of failed) errors.push({ resource: `Listener ${name}`, field: 'address', message });
      this.finishResponse(resp, t, changed.filter((c) => !failed.has(c.name)), seen, errors, now, sockets);
    });
  }

  private finishResponse(resp: NormalizedResponse, t: TypeState, changed: AppliedResource[], seen: Set<string>, errors: DecodeError[], now: number, sockets: ListenerSockets | undefined): void {
    const { typeUrl, version, nonce } = resp;
    for (const c of changed) t.resources.set(c.name, c);
    // SotW LDS/CDS carry the full set: anything missing was removed (names that failed to decode are kept).
    if (resp.full) for (const name of [...t.resources.keys()]) if (!seen.has(name)) t.resources.delete(name);
    for (const name of resp.removed) t.resources.delete(name);
    sockets?.retain(new Set(t.resources.keys()));
    t.received = true;
    if (errors.length === 0) {
      t.version = version;
      t.lastNack = undefined;
      this.write(this.proto.ack(t, nonce, undefined));
      this.count(typeUrl, 'update_success');
      this.tell('ack', { typeUrl, version, nonce });
    } else {
      t.lastNack = { version, nonce, errors, at: now };
      const message = errors.map(formatDecodeError).join('; ');
      this.log.warn({ typeUrl, version, errors: message }, 'rejecting xDS response (NACK); keeping last good config');
      this.write(this.proto.ack(t, nonce, message));
      this.count(typeUrl, 'update_rejected');
      this.tell('nack', { typeUrl, version, nonce, errors });
    }
    this.updateSubscriptions();
    // Publishing can release resources an old served version held on to; follow that, then publish what it dropped.
    if (this.publish() && this.updateSubscriptions()) this.publish();
    if (!this.readyFired && this.store.listeners.received && this.store.clusters.received) {
      this.readyFired = true;
      this.tell('ready');
    }
  }

  /** Follow the RDS/EDS/SDS names referenced by what we hold or serve; drop resources nothing references. Returns whether anything changed. */
  private updateSubscriptions(): boolean {
    const served = this.current;
    const pairs: [TypeState, Set<string>][] = [
      [this.store.endpoints, this.store.wantedEndpoints(served)],
      [this.store.routes, this.store.wantedRoutes(served)],
    ];
    if (this.opts.subscribeSecrets !== false) pairs.push([this.store.secrets, this.store.wantedSecrets(served)]);
    let changed = false;
    for (const [t, wanted] of pairs) {
      const added = [...wanted].filter((n) => !t.names.has(n)).sort();
      const removed = [...t.names].filter((n) => !wanted.has(n)).sort();
      if (added.length === 0 && removed.length === 0) continue;
      changed = true;
      const now = this.clock.now();
      for (const n of wanted) if (!t.requestedAt.has(n)) t.requestedAt.set(n, now);
      for (const n of [...t.requestedAt.keys()]) if (!wanted.has(n)) t.requestedAt.delete(n);
      for (const n of [...t.resources.keys()]) if (!wanted.has(n)) t.resources.delete(n);
      t.names = wanted;
      this.write(this.proto.change(t, added, removed));
    }
    if (changed) this.armFetchTimer();
    return changed;
  }

  private missing(t: TypeState): string[] {
    return [...t.names].filter((n) => !t.resources.has(n));
  }

  /** Re-publish when a warming resource's initial fetch timeout passes. */
  private armFetchTimer(): void {
    if (this.initialFetchTimeoutMs <= 0) return;
    this.clock.clearTimeout(this.fetchTimer);
    this.fetchTimer = undefined;
    let earliest = Infinity;
    for (const [, , at] of this.waiting()) {
      const due = at + this.initialFetchTimeoutMs;
      if (due > this.clock.now()) earliest = Math.min(earliest, due);
    }
    if (earliest === Infinity) return;
    this.fetchTimer = this.clock.setTimeout(() => {
      this.fetchTimer = undefined;
      this.reportFetchTimeouts();
      if (this.publish() && this.updateSubscriptions()) this.publish();
      this.armFetchTimer();
    }, earliest - this.clock.now());
  }

  /**
   * Say once (a warning and Envoy's `<prefix>.init_fetch_timeout` counter) that a resource did not arrive within the
   * initial fetch timeout, naming the listeners and clusters now served without it: a TLS listener without its
   * certificate refuses every handshake, a cluster without endpoints answers 503 UH, and the log is where to find why.
   * Reported again only after it arrived (or was unsubscribed) and went missing anew.
   */
  private reportFetchTimeouts(): void {
    const now = this.clock.now();
    for (const t of [this.store.endpoints, this.store.routes, this.store.secrets]) {
      const told = this.timedOut.get(t.typeUrl);
      if (told) for (const n of told) if (t.resources.has(n) || !t.names.has(n)) told.delete(n);
    }
    for (const [t, n, at] of this.waiting()) {
      let told = this.timedOut.get(t.typeUrl);
      if (!told) this.timedOut.set(t.typeUrl, (told = new Set()));
      if (now - at < this.initialFetchTimeoutMs || told.has(n)) continue;
      told.add(n);
      this.count(t.typeUrl, 'init_fetch_timeout');
      const kind = STAT_PREFIX[t.typeUrl];
      this.log.warn({ type: kind, name: n, waitedMs: now - at, servedWithout: dependents(this.store, t.typeUrl, n) },
        `initial fetch timeout: ${kind} resource "${n}" not received; serving what waited for it without it`);
    }
  }

  /** Subscribed resources not received yet, with when they were asked for (secrets another source provides excluded). */
  private *waiting(): Generator<[TypeState, string, number]> {
    for (const t of [this.store.endpoints, this.store.routes, this.store.secrets]) {
      for (const n of this.missing(t)) {
        if (t === this.store.secrets && this.external(n) === true) continue;
        const at = t.requestedAt.get(n);
        if (at !== undefined) yield [t, n, at];
      }
    }
  }

  private expired = (typeUrl: string, name: string): boolean => {
    // Secrets not subscribed over ADS are not waited for here (externalSecret covers the agent's).
    if (typeUrl === ResourceType.Secret && this.opts.subscribeSecrets === false) return true;
    if (this.initialFetchTimeoutMs <= 0) return false;
    const t = typeUrl === ResourceType.ClusterLoadAssignment ? this.store.endpoints : typeUrl === ResourceType.Secret ? this.store.secrets : this.store.routes;
    const at = t.requestedAt.get(name);
    return at !== undefined && this.clock.now() - at >= this.initialFetchTimeoutMs;
  };

  private external = (name: string): boolean | undefined =>
    this.opts.externalSecret ? this.opts.externalSecret(name) : isAgentSecret(name) ? true : undefined;

  /** A secret served from outside xDS appeared or changed (externalSecret): serve what was warming for it. */
  secretsChanged(): void {
    if (this.current === undefined) return;
    if (this.publish() && this.updateSubscriptions()) this.publish();
    this.armFetchTimer();
  }

  /** Publish a new snapshot if what is served changed (the first one is always published). Returns whether it did. */
  private publish(): boolean {
    const next = buildSnapshot(this.store, this.current, this.generation + 1, this.expired, this.external);
    if (this.current && sameSnapshot(this.current, next)) return false;
    this.generation++;
    this.current = next;
    this.tell('update', next);
    return true;
  }
}
