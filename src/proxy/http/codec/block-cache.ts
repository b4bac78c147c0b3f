// proxy/http/codec: a cache of recently parsed header-field blocks, so a head whose field lines repeat byte for byte
// (the same backend's response heads, the same client's requests) is not validated and cut into strings again.
//
// Why: parsing a field line costs ~600 instructions plus ~20-26 per byte in JS, while comparing the block's text with
// a cached one is one substring and one native string compare. Equal text means equal bytes (latin1 is one char per
// byte), so the cached parse (names, values, line flags) is exactly what parsing would give; only the limits that
// depend on the caller (maxHeaders) are checked again. Direct-mapped by length: a miss of another length costs one
// compare of two numbers. A slot whose same-length heads keep differing (a per-response id) is left alone for a
// while, so traffic that never repeats pays little.

/** Blocks longer than this are not cached (bounds memory: a few KB per slot). */
const MAX_BLOCK = 4096;
const SLOTS = 8;
/** After this many misses in a row on a slot, it is skipped for a while: 16 lookups, doubling up to 1024. */
const MISS_STREAK = 2;
const SKIP_MIN = 16;
const SKIP_MAX = 1024;
const NO_LINES = new Int32Array(0);

interface Entry {
  text: string;
  headers: string[];
  /** Line starts relative to the block (flags included), `count + 1` of them (none for a cache used without lines). */
  rel: Int32Array;
  count: number;
  streak: number;
  skip: number;
  skipLen: number;
}

export class FieldBlockCache {
  private readonly slots: (Entry | undefined)[] = new Array<Entry | undefined>(SLOTS).fill(undefined);
  /** Length of the last head whose block get() found (0: the last lookup missed); the parser sets it (speculativeEnd). */
  lastHeadLength = 0;
  /** The block text get() cut for its compare, reused by set() for the same block. */
  private cut = '';

  /**
   * The fields of the block str[from, to) when it equals a cached one, as a fresh array (callers may modify it), or
   * undefined. With `lines`, writes the line starts as parseFieldLines would, at offset `from` (the block's start
   * relative to the text's base). A cached block with more fields than `maxHeaders` is not used. `probe`: a lookup
   * that does not count towards the slot's miss streak.
   */
  get(str: string, from: number, to: number, maxHeaders: number, lines: Int32Array | undefined, probe = false): string[] | undefined {
    this.cut = '';
    const len = to - from;
    if (len <= 0 || len > MAX_BLOCK) return undefined;
    const e = this.slots[len & (SLOTS - 1)];
    if (e === undefined) return undefined;
    if (e.skip > 0) { if (!probe) e.skip--; return undefined; }
    // Another length in the slot counts as a miss too: two alternating heads would otherwise replace each other.
    if (e.text.length !== len || e.count > maxHeaders || e.text !== (this.cut = str.slice(from, to))) {
      // A probe (a guessed head end) that misses is followed by a real lookup: only that one counts.
      if (!probe && ++e.streak >= MISS_STREAK) {
        e.streak = 0;
        e.skip = e.skipLen;
        if (e.skipLen < SKIP_MAX) e.skipLen *= 2;
      }
      return undefined;
    }
    e.streak = 0;
    e.skipLen = SKIP_MIN;
    if (lines !== undefined) {
      const rel = e.rel;
      for (let k = 0; k <= e.count; k++) lines[k] = rel[k] + from;
    }
    return e.headers.slice();
  }

  /** Remember the block str[from, to), parsed without error into `headers` (copied) and, when given, `lines`. */
  set(str: string, from: number, to: number, headers: string[], lines: Int32Array | undefined): void {
    const len = to - from;
    if (len === 0 || len > MAX_BLOCK) return;
    const i = len & (SLOTS - 1);
    const e = this.slots[i];
    // A slot being skipped keeps its entry: storing every head that does not repeat is the cost the skip avoids.
    if (e !== undefined && e.skip > 0) return;
    const text = this.cut.length === len ? this.cut : str.slice(from, to);
    this.cut = '';
    const count = headers.length >> 1;
    const rel = lines === undefined ? NO_LINES : e !== undefined && e.rel.length > count ? e.rel : new Int32Array(count + 1);
    if (lines !== undefined) for (let k = 0; k <= count; k++) rel[k] = lines[k] - from;
    if (e === undefined) this.slots[i] = { text, headers: headers.slice(), rel, count, streak: 0, skip: 0, skipLen: SKIP_MIN };
    else { e.text = text; e.headers = headers.slice(); e.rel = rel; e.count = count; }
  }
}
