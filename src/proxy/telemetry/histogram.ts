// proxy/telemetry: fixed-bucket histograms for Istio's standard distributions (request duration and sizes).
// Observing is a short linear scan over ~20 bounds and two additions: cheap enough for every request.

/** Istio's default buckets for istio_request_duration_milliseconds (ms). */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's default buckets for istio_request_bytes / istio_response_bytes: powers of ten from 1 B to 1 GB. */
export const BYTES_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

export class Histogram {
  /** Per-bucket (not cumulative) counts; the last slot counts values above every bound (+Inf). */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** Prometheus `le` buckets: cumulative counts per bound, +Inf last. */
  cumulative(): [le: number, count: number][] {
    const out: [number, number][] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) { acc += this.counts[i]!; out.push([this.bounds[i]!, acc]); }
    out.push([Infinity, acc + this.counts[this.bounds.length]!]);
    return out;
  }
}
