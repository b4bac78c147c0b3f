// xds/server (serving): push debouncing like Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX: wait for a
// quiet period after the last change, but never delay the first pending change longer than maxMs.
import type { Clock, TimerHandle } from '../../common/clock.ts';

export class Debouncer {
  private timer?: TimerHandle;
  private firstAt?: number;
  constructor(private clock: Clock, private quietMs: number, private maxMs: number, private fire: () => void) {}

  trigger(): void {
    const now = this.clock.now();
    if (this.firstAt === undefined) this.firstAt = now;
    const at = Math.min(now + this.quietMs, this.firstAt + Math.max(this.maxMs, this.quietMs));
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, at - now));
  }

  /** Fire now if something is pending. */
  flush(): void { if (this.firstAt !== undefined) this.run(); }

  get pending(): boolean { return this.firstAt !== undefined; }

  cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.firstAt = undefined;
  }

  private run(): void {
    this.cancel();
    this.fire();
  }
}
