// proxy/telemetry: the Zipkin reporter — spans of sampled requests queue (bounded; overflow is dropped and counted)
// and leave in batches as Zipkin v2 JSON POSTs to an endpoint of the collector cluster. Nothing here runs on the
// request path beyond building one span object for a sampled request: sending is on a timer, never awaited.
import { request as httpRequest, Agent } from 'node:http';
import type { Clock, TimerHandle } from '../../common/clock.ts';
import { realClock } from '../../common/clock.ts';
import { processEnv } from '../../common/settings.ts';
import type { ZipkinTracerConfig } from '../config/types.ts';
import { buildSpan, type SpanInput, type SpanRequest, type SpanSelf, type ZipkinSpan } from './tracer-span.ts';

export type { SpanInput, SpanRequest, SpanSelf, ZipkinSpan } from './tracer-span.ts';

/** One POST of a batch: resolves when the collector answered 2xx, rejects otherwise. Injected in tests. */
export type SpanSender = (target: { address: string; port: number; path: string; hostname: string }, body: string) => Promise<void>;

export interface TracerOptions {
  self: SpanSelf;
  clock?: Clock;
  /** Wall-clock epoch ms at clock.now() === 0 (default: measured at construction). Spans carry epoch microseconds. */
  epochOffsetMs?: number;
  /** Spans waiting to be sent; more are dropped (counted). Default 1000. */
  maxQueue?: number;
  /** A batch leaves once this many spans wait (Envoy's min_flush_spans, default 5) or after flushIntervalMs. */
  minFlushSpans?: number;
  /** Default 1000 ms (Envoy's is 5 s; shorter keeps traces fresh for people watching a UI). */
  flushIntervalMs?: number;
  /** Spans per POST at most. Default 200. */
  maxBatch?: number;
  /** POSTs in flight at most; while they are busy spans wait in the queue. Default 2. */
  maxInFlight?: number;
  send?: SpanSender;
  env?: (name: string) => string | undefined;
}

export interface TracerStats {
  /** Spans built for sampled requests with a zipkin provider. */
  spans: number;
  /** Spans the collector accepted. */
  reported: number;
  /** Spans dropped: queue full, no collector endpoint, or a failed POST. */
  dropped: number;
  /** POSTs that failed (connection error, timeout, non-2xx). */
  sendErrors: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** The default sender: a plain HTTP/1.1 POST to the picked endpoint (5 s timeout). */
export const httpSender: SpanSender = (t, body) => new Promise((resolve, reject) => {
  const req = httpRequest({
    host: t.address, port: t.port, method: 'POST', path: t.path, agent, timeout: 5000,
    headers: { host: t.hostname, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  }, (res) => {
    res.resume();
    res.on('end', () => ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`collector answered ${res.statusCode}`))));
    res.on('error', reject);
  });
  req.on('timeout', () => req.destroy(new Error('collector timed out')));
  req.on('error', reject);
  req.end(body);
});

interface Queued { span: ZipkinSpan; config: ZipkinTracerConfig; collector: SpanInput['collector'] }

export class ZipkinTracer {
  private readonly clock: Clock;
  private readonly offset: number;
  private readonly o: Required<Omit<TracerOptions, 'clock' | 'epochOffsetMs' | 'self'>> & { self: SpanSelf };
  private queue: Queued[] = [];
  private timer: TimerHandle | undefined;
  private inFlight = 0;
  private closed = false;
  private readonly envCache = new Map<string, string | undefined>();
  readonly counters: TracerStats = { spans: 0, reported: 0, dropped: 0, sendErrors: 0 };

  constructor(opts: TracerOptions) {
    this.clock = opts.clock ?? realClock;
    this.offset = opts.epochOffsetMs ?? Date.now() - this.clock.now();
    const env = opts.env ?? ((n: string) => processEnv()[n]);
    this.o = {
      self: opts.self, maxQueue: opts.maxQueue ?? 1000, minFlushSpans: opts.minFlushSpans ?? 5, flushIntervalMs: opts.flushIntervalMs ?? 1000,
      maxBatch: opts.maxBatch ?? 200, maxInFlight: opts.maxInFlight ?? 2, send: opts.send ?? httpSender,
      // environment tags are read once per name, as Envoy reads them once at config load
      env: (n) => { if (!this.envCache.has(n)) this.envCache.set(n, env(n)); return this.envCache.get(n); },
    };
  }

  /** Record the span of a finished sampled request (no-op without a zipkin provider). Never throws, never blocks. */
  record(r: SpanRequest, input: SpanInput): void {
    const z = input.tracing.zipkin;
    if (!z || this.closed) return;
    this.counters.spans++;
    if (this.queue.length >= this.o.maxQueue) { this.counters.dropped++; return; }
    const startEpochMs = this.offset + this.clock.now() - r.durationMs;
    let span: ZipkinSpan;
    try {
      span = buildSpan(r, input, this.o.self, startEpochMs, this.o.env);
    } catch {
      this.counters.dropped++;
      return;
    }
    this.queue.push({ span, config: z, collector: input.collector });
    if (this.queue.length >= this.o.minFlushSpans) this.flush();
    else if (!this.timer) this.timer = this.clock.setTimeout(() => { this.timer = undefined; this.flush(); }, this.o.flushIntervalMs);
  }

  /** Spans waiting to be sent. */
  get pending(): number { return this.queue.length; }

  /**
   * Send what waits, one POST per collector (cluster + path) and batch, within the in-flight limit; the rest stays
   * queued for the next flush. Returns when the POSTs started now have finished (tests and close() wait on it).
   */
  flush(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const sends: Promise<void>[] = [];
    while (this.queue.length && this.inFlight < this.o.maxInFlight) {
      const head = this.queue[0]!;
      const key = `${head.config.collectorCluster}|${head.config.collectorEndpoint}|${head.config.collectorHostname}`;
      const batch: Queued[] = [];
      const rest: Queued[] = [];
      for (const q of this.queue) {
        if (batch.length < this.o.maxBatch && `${q.config.collectorCluster}|${q.config.collectorEndpoint}|${q.config.collectorHostname}` === key) batch.push(q);
        else rest.push(q);
      }
      this.queue = rest;
      sends.push(this.post(head, batch));
    }
    // what could not go now (all POSTs busy) goes on the next tick of the timer
    if (this.queue.length && !this.timer && !this.closed) this.timer = this.clock.setTimeout(() => { this.timer = undefined; this.flush(); }, this.o.flushIntervalMs);
    return Promise.all(sends).then(() => undefined);
  }

  private async post(head: Queued, batch: Queued[]): Promise<void> {
    const z = head.config;
    let target: { address: string; port: number } | undefined;
    try { target = head.collector(z.collectorCluster); } catch { target = undefined; }
    if (!target) { this.counters.dropped += batch.length; this.counters.sendErrors++; return; }
    this.inFlight++;
    try {
      await this.o.send({ ...target, path: z.collectorEndpoint, hostname: z.collectorHostname }, JSON.stringify(batch.map((q) => q.span)));
      this.counters.reported += batch.length;
    } catch {
      this.counters.sendErrors++;
      this.counters.dropped += batch.length;
    } finally {
      this.inFlight--;
    }
  }

  /** Flush what waits and stop taking spans. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
