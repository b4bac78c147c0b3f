// proxy/xds-client: exponential reconnect backoff with jitter, so a fleet of proxies does not reconnect in lockstep.

export interface BackoffOptions {
  /** First delay in ms (default 500). */
  initialMs?: number;
  /** Cap in ms (default 30000). */
  maxMs?: number;
  /** Random source in [0, 1) (default Math.random). */
  random?: () => number;
}

/** Delay n (0-based) is uniformly drawn from [d/2, d] with d = min(max, initial * 2^n) ("equal jitter"). */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 500;
    this.maxMs = o.maxMs ?? 30_000;
    this.random = o.random ?? Math.random;
  }
  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(d / 2 + (d / 2) * this.random());
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
