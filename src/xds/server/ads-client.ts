// xds/server (serving, tooling): a raw ADS client on grpc-js for tests and the benchmark — it speaks the
// wire protocol directly (no xDS client library), so tests can misbehave on purpose.
import * as grpc from '@grpc/grpc-js';
import { adsService, jsToStruct, type DiscoveryRequest, type DiscoveryResponse, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type WireNode } from './ads-service.ts';
import { unpack, type AnyMessage } from '../../envoy/protos.ts';

export function makeNode(id: string, metadata: Record<string, unknown> = {}): WireNode {
  return { id, metadata: jsToStruct(metadata) };
}

type Resp<D> = D extends true ? DeltaDiscoveryResponse : DiscoveryResponse;

export class RawAdsClient<D extends boolean = false> {
  private client: grpc.Client;
  private call: grpc.ClientDuplexStream<unknown, unknown>;
  private queue: Resp<D>[] = [];
  private waiters: ((r: Resp<D> | undefined) => void)[] = [];
  readonly received: Resp<D>[] = [];
  ended = false;
  status?: grpc.StatusObject;
  /** When set, every response is ACKed at once (SotW: echo version and nonce; delta: echo nonce). */
  autoAck = false;
  onResponse?: (r: Resp<D>) => void;

  constructor(address: string, readonly delta: D = false as D) {
    const Ctor = adsService();
    this.client = new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    const c = this.client as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, unknown>>;
    this.call = delta ? c.DeltaAggregatedResources!.call(this.client) : c.StreamAggregatedResources!.call(this.client);
    this.call.on('data', (r: Resp<D>) => {
      this.received.push(r);
      this.onResponse?.(r);
      if (this.autoAck) this.ack(r);
      const w = this.waiters.shift();
      if (w) w(r); else this.queue.push(r);
    });
    this.call.on('status', (s: grpc.StatusObject) => { this.status = s; });
    this.call.on('error', () => { /* reported through status */ });
    const done = () => { this.ended = true; for (const w of this.waiters.splice(0)) w(undefined); };
    this.call.on('end', done);
    this.call.on('close', done);
  }

  /** SotW: the subscription per type, repeated in every ACK as the protocol requires. */
  private names = new Map<string, string[]>();

  send(req: D extends true ? DeltaDiscoveryRequest : DiscoveryRequest): void {
    const r = req as DiscoveryRequest;
    if (!this.delta && r.type_url) this.names.set(r.type_url, r.resource_names ?? []);
    this.call.write(req);
  }

  ack(r: Resp<D>, errorMessage?: string): void {
    const error_detail = errorMessage ? { code: 3, message: errorMessage } : undefined;
    if (this.delta) {
      this.call.write({ type_url: r.type_url, response_nonce: r.nonce, error_detail } satisfies DeltaDiscoveryRequest);
    } else {
      const s = r as DiscoveryResponse;
      this.call.write({ type_url: s.type_url, response_nonce: s.nonce, version_info: s.version_info, resource_names: this.names.get(s.type_url) ?? [], error_detail } satisfies DiscoveryRequest);
    }
  }

  /** The next response, or undefined after `ms` or when the stream ended. */
  next(ms = 2000): Promise<Resp<D> | undefined> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w = (r: Resp<D> | undefined) => { clearTimeout(t); resolve(r); };
      const t = setTimeout(() => { const i = this.waiters.indexOf(w); if (i >= 0) this.waiters.splice(i, 1); resolve(undefined); }, ms);
      this.waiters.push(w);
    });
  }

  /** Waits until the stream ends (bounded). */
  async waitEnd(ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.ended && !this.status && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  close(): void {
    try { this.call.cancel(); } catch { /* closed */ }
    this.client.close();
  }
}

/** Resource names in a response (decoding each Any). */
export function namesOf(resources: AnyMessage[] | undefined): string[] {
  return (resources ?? []).map((a) => { const o = unpack(a); return String(o.name ?? o.cluster_name); });
}
