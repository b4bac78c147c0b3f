// common: injected time, so timeouts, retries, debounce and ejections can be tested on fake time.

export interface TimerHandle { readonly id: number }

export interface Clock {
  /** Milliseconds since an arbitrary epoch (monotonic for the real clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | undefined): void;
}

class RealClock implements Clock {
  private next = 1;
  private timers = new Map<number, NodeJS.Timeout>();
  now(): number { return performance.now(); }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    const t = setTimeout(() => { this.timers.delete(id); fn(); }, Math.max(0, ms));
    this.timers.set(id, t);
    return { id };
  }
  clearTimeout(h: TimerHandle | undefined): void {
    if (!h) return;
    const t = this.timers.get(h.id);
    if (t) { clearTimeout(t); this.timers.delete(h.id); }
  }
}

export const realClock: Clock = new RealClock();

/** A clock that only moves when told to: `advance(ms)` fires due timers in order. */
export class FakeClock implements Clock {
  private t: number;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void; seq: number }>();
  constructor(start = 0) { this.t = start; }
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, seq: id });
    return { id };
  }
  clearTimeout(h: TimerHandle | undefined): void { if (h) this.timers.delete(h.id); }
  pending(): number { return this.timers.size; }
  /** Move time forward, firing every timer that falls due (including ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let best: [number, { at: number; fn: () => void; seq: number }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= end && (!best || e[1].at < best[1].at || (e[1].at === best[1].at && e[1].seq < best[1].seq))) best = e;
      }
      if (!best) break;
      this.timers.delete(best[0]);
      this.t = best[1].at;
      best[1].fn();
    }
    this.t = end;
  }
}
