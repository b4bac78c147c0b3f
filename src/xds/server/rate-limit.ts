// xds/server (serving): a token bucket per stream, so a client that re-requests in a loop cannot make
// the server encode and send in a loop. Time comes from the injected Clock.
import type { Clock } from '../../common/clock.ts';

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private clock: Clock, readonly capacity: number, readonly perSecond: number) {
    this.tokens = capacity;
    this.last = clock.now();
  }
  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) { this.tokens -= 1; return true; }
    return false;
  }
  /** Milliseconds until one token is available. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
