// proxy/telemetry: fixed-bucket histograms for Istio's standard distributions (request duration and sizes).
// Observing is a short linear scan over ~20 bounds (ending in a +Infinity sentinel) and two additions.

/** Istio's default buckets for istio_request_duration_milliseconds (ms). */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's default buckets for istio_request_bytes / istio_response_bytes: powers of ten from 1 B to 1 GB. */
export const BYTES_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * The bounds as a Float64Array ending in +Infinity, shared by every histogram over the same bounds: the scan needs
 * no length check (no value is above the sentinel; NaN stops at the first bucket, as `v > bound` is false), which
 * halves its cost.
 */
const searchable = new WeakMap<readonly number[], Float64Array>();
function searchBounds(bounds: readonly number[]): Float64Array {
  let s = searchable.get(bounds);
  if (s === undefined) {
    s = new Float64Array(bounds.length + 1);
    s.set(bounds);
    s[bounds.length] = Infinity;
    searchable.set(bounds, s);
  }
  return s;
}

export class Histogram {
  /** Per-bucket (not cumulative) counts; the last slot counts values above every bound (+Inf). */
  private readonly counts: Float64Array;
  private readonly search: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
    this.search = searchBounds(bounds);
  }

  observe(v: number): void {
    const b = this.search;
    let i = 0;
    while (v > b[i]!) i++;
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
