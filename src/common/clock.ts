// common: injected time, so timeouts, retries, debounce and ejections can be tested on fake time.

export interface TimerHandle { readonly id: number }

export interface Clock {
  /** Milliseconds since an arbitrary epoch (monotonic for the real clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | undefined): void;
}

/**
 * Time held for one synchronous I/O callback (beginTurn / endTurn): realClock reads the system clock once per turn,
 * on first use, and every later now() in the same turn returns that reading, like Envoy's per-iteration dispatcher
 * time. A request's several timestamps taken while one read is processed (start, activity, upstream service time,
 * end, pool idle time) differ by microseconds at most, and each reading cost a clock_gettime call.
 */
let turnOpen = false;
let turnAt = -1;

/** `performance` is an accessor on globalThis: read once here, not per now() (a LoadGlobalIC call each time). */
const perf = performance;

/** A synchronous I/O callback starts: realClock.now() holds its first reading until endTurn(). */
export function beginTurn(): void { turnOpen = true; turnAt = -1; }

/** The callback is done: realClock.now() reads the clock again. */
export function endTurn(): void { turnOpen = false; }

class RealClock implements Clock {
  private next = 1;
  private timers = new Map<number, NodeJS.Timeout>();
  now(): number {
    if (!turnOpen) return perf.now();
    if (turnAt < 0) turnAt = perf.now();
    return turnAt;
  }
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

/** What a TimeoutQueue calls when an entry's deadline passes (an object, so no closure per entry). */
export interface DeadlineTarget { onDeadline(): void }

/** One pending TimeoutQueue entry: pass it to cancel(). */
export interface Deadline { readonly at: number }

class QEntry implements Deadline {
  prev: QEntry | null = null;
  next: QEntry | null = null;
  constructor(readonly at: number, public target: DeadlineTarget | null, readonly list: QList) {}
}

class QList {
  head: QEntry | null = null;
  tail: QEntry | null = null;
  constructor(readonly ms: number) {}
}

/** Node's timers take at most 2^31-1 ms (a longer delay fires after 1 ms): a far deadline re-arms at this cap. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Many timeouts drawn from a few distinct durations (route timeouts), on ONE timer of the given clock instead of
 * one each: a per-request timer costs a closure, a Node Timeout and map bookkeeping, and nearly all of them are
 * cancelled. Entries of one duration are kept in deadline order, which is insertion order as clock time never goes
 * back (a caller's older `now` walks back a few entries); add and cancel are O(1) then. The clock timer is armed for the earliest head and fires entries exactly at
 * their deadline (so FakeClock tests see the same times); it is cleared when the queue empties.
 */
export class TimeoutQueue {
  private readonly lists = new Map<number, QList>();
  private lastMs = -1;
  private lastList: QList | undefined;
  private size = 0;
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  private firing = false;
  private readonly fire = (): void => this.onTimer();

  constructor(private readonly clock: Clock) {}

  /** Call target.onDeadline() at now + ms (`now`: the caller's current clock reading, saves reading it again). */
  add(ms: number, target: DeadlineTarget, now = this.clock.now()): Deadline {
    let list: QList | undefined;
    if (ms === this.lastMs) list = this.lastList;
    else {
      // Durations can come from requests (grpc-timeout): a list is kept only while it has entries or is the last used.
      const last = this.lastList;
      if (last !== undefined && last.head === null) this.lists.delete(last.ms);
      list = this.lists.get(ms);
      if (list === undefined) { list = new QList(ms); this.lists.set(ms, list); }
      this.lastMs = ms;
      this.lastList = list;
    }
    const l = list!;
    const e = new QEntry(now + Math.max(0, ms), target, l);
    // Appending keeps deadline order, except for a caller's `now` older than an entry's already queued: walk back.
    let after = l.tail;
    while (after !== null && after.at > e.at) after = after.prev;
    e.prev = after;
    e.next = after === null ? l.head : after.next;
    if (e.next !== null) e.next.prev = e; else l.tail = e;
    if (after !== null) after.next = e; else l.head = e;
    this.size++;
    if (e.at < this.armedAt && !this.firing) this.arm(e.at);
    return e;
  }

  cancel(d: Deadline | undefined): void {
    if (d === undefined) return;
    const e = d as QEntry;
    if (e.target === null) return;
    e.target = null;
    this.unlink(e);
    if (this.size === 0 && this.timer !== undefined && !this.firing) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.armedAt = Infinity;
    }
  }

  /** Entries not yet fired or cancelled. */
  get pending(): number { return this.size; }

  private unlink(e: QEntry): void {
    const l = e.list;
    if (e.prev !== null) e.prev.next = e.next; else l.head = e.next;
    if (e.next !== null) e.next.prev = e.prev; else l.tail = e.prev;
    e.prev = e.next = null;
    this.size--;
    if (l.head === null && l !== this.lastList) this.lists.delete(l.ms);
  }

  /** (Re)arm the clock timer for `at` (rare under load: only a new earliest entry does it). */
  private arm(at: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = this.clock.setTimeout(this.fire, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - this.clock.now()))));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.firing = true;
    try {
      // Fire due entries earliest first (a callback may add or cancel entries); bounded by the entries present.
      for (let guard = this.size; guard >= 0; guard--) {
        const now = this.clock.now();
        let first: QEntry | null = null;
        for (const l of this.lists.values()) if (l.head !== null && (first === null || l.head.at < first.at)) first = l.head;
        if (first === null || first.at > now) break;
        const t = first.target!;
        first.target = null;
        this.unlink(first);
        t.onDeadline();
      }
    } finally {
      this.firing = false;
    }
    let next = Infinity;
    for (const l of this.lists.values()) if (l.head !== null && l.head.at < next) next = l.head.at;
    if (next !== Infinity) this.arm(next);
  }
}

const queues = new WeakMap<Clock, TimeoutQueue>();
let lastClock: Clock | undefined;
let lastQueue: TimeoutQueue | undefined;

/** The TimeoutQueue shared by everything on this clock (one per clock: FakeClock tests get their own). */
export function timeoutQueueFor(clock: Clock): TimeoutQueue {
  if (clock === lastClock) return lastQueue!;
  let q = queues.get(clock);
  if (q === undefined) { q = new TimeoutQueue(clock); queues.set(clock, q); }
  lastClock = clock;
  lastQueue = q;
  return q;
}
