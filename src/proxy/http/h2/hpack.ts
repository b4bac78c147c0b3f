// proxy/http/h2: HPACK header compression (RFC 7541) — a decoder with the dynamic table, size updates and Huffman
// strings, and an encoder with a dynamic table of its own: fields that repeat from message to message (the peer
// metadata exchange, content types, authorities) go out as one-byte references after their first time; per-request
// values (ids, timings) and secrets go out as literals without indexing.
import { huffmanDecode } from './huffman.ts';

/** The static table (RFC 7541 Appendix A), index 1..61: name, value. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC.length; // 61
/** Per-entry overhead in table size accounting (RFC 7541 4.1). */
const ENTRY_OVERHEAD = 32;
/** Integers beyond this are refused (no real index, length or size comes near it; keeps arithmetic exact). */
const MAX_INT = 2 ** 31 - 1;

/**
 * The dynamic table as a ring: newest entry at `head - 1`. Strings are latin1, so their length is their octet
 * count (what the size accounting needs).
 */
class DynamicTable {
  private names: string[] = new Array<string>(64);
  private values: string[] = new Array<string>(64);
  private head = 0; // next slot
  count = 0;
  size = 0;
  /** Told each entry as it is evicted (the encoder's lookup of its entries), before it goes. */
  onEvict: ((name: string, value: string) => void) | undefined = undefined;
  constructor(public maxSize: number) {}

  /** Entry at dynamic index i (1 = newest); caller checks 1 <= i <= count. */
  name(i: number): string { return this.names[(this.head - i) & (this.names.length - 1)]!; }
  value(i: number): string { return this.values[(this.head - i) & (this.values.length - 1)]!; }

  add(name: string, value: string): void {
    const n = name.length + value.length + ENTRY_OVERHEAD;
    if (n > this.maxSize) { this.evictTo(0); return; } // an entry larger than the table empties it
    this.evictTo(this.maxSize - n);
    if (this.count === this.names.length) this.grow();
    const slot = this.head & (this.names.length - 1);
    this.names[slot] = name;
    this.values[slot] = value;
    this.head = (this.head + 1) & (this.names.length - 1);
    this.count++;
    this.size += n;
  }

  resize(max: number): void { this.maxSize = max; this.evictTo(max); }

  private evictTo(limit: number): void {
    const mask = this.names.length - 1;
    while (this.size > limit && this.count > 0) {
      const slot = (this.head - this.count) & mask;
      this.onEvict?.(this.names[slot]!, this.values[slot]!);
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
    }
  }

  private grow(): void {
    const len = this.names.length, mask = len - 1;
    const names = new Array<string>(len * 2), values = new Array<string>(len * 2);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i) & mask;
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.head = this.count;
  }
}

/** Decoder state for one connection's header blocks from the peer. */
export class HpackDecoder {
  private readonly table: DynamicTable;
  /** The limit the peer's size updates must respect (our SETTINGS_HEADER_TABLE_SIZE). */
  private limit: number;
  // position and result of the integer/string readers (no objects per read)
  private pos = 0;
  private str = '';

  constructor(maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
    this.limit = maxTableSize;
  }

  /** Our SETTINGS_HEADER_TABLE_SIZE, once the peer acknowledged it. */
  setMaxTableSize(n: number): void {
    this.limit = n;
    if (this.table.maxSize > n) this.table.resize(n);
  }

  /** Bytes the dynamic table holds now (RFC 7541 size accounting); for tests and stats. */
  get tableSize(): number { return this.table.size; }

  /**
   * Decode one complete header block (HEADERS + CONTINUATIONs joined) into `out` as flat [name, value, ...] (names
   * as sent, values latin1). Returns undefined, or the reason it is malformed: a COMPRESSION_ERROR, after which the
   * table is out of step with the peer and the connection must end. With `maxListSize` (RFC 9113's header list size:
   * name + value + 32 per field), a larger list is decoded to its end (so the table stays in step) and then refused
   * with 'header list too large' — a stream error, not a connection error.
   */
  decode(buf: Buffer, start: number, end: number, out: string[], maxListSize = Infinity): string | undefined {
    this.pos = start;
    let listSize = 0;
    let fieldsSeen = false;
    const table = this.table;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string, value: string;
      if (b & 0x80) {
        // indexed field
        const i = this.int(buf, end, 7);
        if (i < 0) return 'truncated or oversized integer';
        if (i === 0) return 'index 0';
        if (i <= STATIC_COUNT) { const e = STATIC[i - 1]!; name = e[0]; value = e[1]; }
        else if (i - STATIC_COUNT <= table.count) { name = table.name(i - STATIC_COUNT); value = table.value(i - STATIC_COUNT); }
        else return `index ${i} beyond the table`;
      } else if ((b & 0xe0) === 0x20) {
        // dynamic table size update: only before the block's first field (RFC 9113 4.3.1)
        if (fieldsSeen) return 'table size update after a field';
        const n = this.int(buf, end, 5);
        if (n < 0) return 'truncated or oversized integer';
        if (n > this.limit) return `table size update ${n} above the limit ${this.limit}`;
        table.resize(n);
        continue;
      } else {
        // literal: with incremental indexing (01), without (0000) or never indexed (0001)
        const indexing = (b & 0xc0) === 0x40;
        if (!indexing && (b & 0xf0) > 0x10) return 'invalid representation';
        const i = this.int(buf, end, indexing ? 6 : 4);
        if (i < 0) return 'truncated or oversized integer';
        if (i === 0) {
          if (!this.string(buf, end)) return 'malformed name string';
          name = this.str;
        } else if (i <= STATIC_COUNT) name = STATIC[i - 1]![0];
        else if (i - STATIC_COUNT <= table.count) name = table.name(i - STATIC_COUNT);
        else return `name index ${i} beyond the table`;
        if (!this.string(buf, end)) return 'malformed value string';
        value = this.str;
        if (indexing) table.add(name, value);
      }
      fieldsSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      out.push(name, value);
    }
    return listSize > maxListSize ? 'header list too large' : undefined;
  }

  /** An integer with an N-bit prefix at this.pos; -1 if truncated or too large. Advances this.pos. */
  private int(buf: Buffer, end: number, prefix: number): number {
    const max = (1 << prefix) - 1;
    let v = buf[this.pos++]! & max;
    if (v < max) return v;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) return -1;
      const b = buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (v > MAX_INT) return -1;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
  }

  /** A string literal at this.pos into this.str; false if truncated or badly Huffman-coded. */
  private string(buf: Buffer, end: number): boolean {
    if (this.pos >= end) return false;
    const huff = (buf[this.pos]! & 0x80) !== 0;
    const n = this.int(buf, end, 7);
    if (n < 0 || n > end - this.pos) return false;
    const s = this.pos;
    this.pos += n;
    if (huff) {
      const d = huffmanDecode(buf, s, s + n);
      if (d === undefined) return false;
      this.str = d;
    } else this.str = n === 0 ? '' : buf.toString('latin1', s, s + n);
    return true;
  }
}

/** Static-table index of each name (its first entry), for literals with an indexed name. */
const NAME_INDEX = new Map<string, number>();
for (let i = STATIC.length - 1; i >= 0; i--) NAME_INDEX.set(STATIC[i]![0], i + 1);
/** :status values with an entry of their own (indexed field, one byte). */
const STATUS_INDEX: Record<number, number> = { 200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14 };

/** An integer with an N-bit prefix (first byte carries `flags`), as latin1 characters. */
function intChars(flags: number, prefix: number, v: number): string {
  const max = (1 << prefix) - 1;
  if (v < max) return String.fromCharCode(flags | v);
  let s = String.fromCharCode(flags | max);
  v -= max;
  while (v >= 128) { s += String.fromCharCode((v % 128) | 0x80); v = Math.floor(v / 128); }
  return s + String.fromCharCode(v);
}

/** A raw (not Huffman) string literal. */
function strChars(v: string): string {
  return (v.length < 127 ? String.fromCharCode(v.length) : intChars(0, 7, v.length)) + v;
}

/**
 * A literal field's name part (its representation before the value), cached per name: the first byte's `flags` and
 * an index of `prefix` bits when the static table has the name, else `flags` and the name as a string.
 */
function literalName(cache: Map<string, string>, flags: number, prefix: number, name: string): string {
  let p = cache.get(name);
  if (p === undefined) {
    const i = NAME_INDEX.get(name);
    p = i !== undefined ? intChars(flags, prefix, i) : String.fromCharCode(flags) + strChars(name);
    if (cache.size < 1024) cache.set(name, p);
  }
  return p;
}
const plainNames = new Map<string, string>();
const indexedNames = new Map<string, string>();
/** Literal without indexing: 0000 + a 4-bit name index. */
const prefixOf = (name: string): string => literalName(plainNames, 0x00, 4, name);
/** Literal with incremental indexing: 01 + a 6-bit name index. */
const indexedPrefixOf = (name: string): string => literalName(indexedNames, 0x40, 6, name);

/**
 * Fields the encoder never adds to the table: values that change with every message (ids, timings, lengths, dates,
 * paths), which would only push out the ones that repeat, and secrets (RFC 7541 7.1: an indexed secret can be probed
 * by a peer sharing the connection).
 */
const NO_INDEX = new Set([
  ':path', 'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'traceparent', 'tracestate', 'b3',
  'x-envoy-upstream-service-time', 'date', 'content-length', 'age', 'etag', 'last-modified', 'expires', 'grpc-timeout',
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie',
]);
/** Our table's size: also the default of SETTINGS_HEADER_TABLE_SIZE; the peer's setting may lower it. */
const ENCODER_TABLE = 4096;
/** An entry larger than this is sent as a literal: it would evict most of the table. */
const MAX_INDEXED_ENTRY = 1024;

/** Static entries with a value (name -> value -> index): a field equal to one is a one-byte reference. */
const STATIC_FULL = new Map<string, Map<string, number>>();
STATIC.forEach(([n, v], i) => { if (v !== '') { let m = STATIC_FULL.get(n); if (!m) STATIC_FULL.set(n, (m = new Map())); m.set(v, i + 1); } });

/** Encoder for one connection's header blocks to the peer; its dynamic table stays in step with the peer's decoder. */
export class HpackEncoder {
  private readonly table = new DynamicTable(ENCODER_TABLE);
  /** Where each field in the table is: name -> value -> the insertion number of its newest entry. */
  private readonly where = new Map<string, Map<string, number>>();
  /** Entries added so far: the newest entry has this insertion number. */
  private inserted = 0;
  /** A table size update owed at the start of the next block (the peer changed its setting), else -1. */
  private pendingUpdate = -1;

  constructor() {
    // The oldest entry goes: its insertion number follows from the count; a newer entry of the same field stays.
    this.table.onEvict = (name, value) => {
      const m = this.where.get(name);
      if (m === undefined || m.get(value) !== this.inserted - this.table.count + 1) return;
      m.delete(value);
      if (m.size === 0) this.where.delete(name);
    };
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks to it when it is below ours (entries evicted now, as the
   * peer's decoder will when it reads the size update this owes at the start of the next block).
   */
  setPeerMaxTableSize(n: number): void {
    const max = Math.min(ENCODER_TABLE, n);
    this.table.resize(max);
    this.pendingUpdate = max;
  }

  /** Bytes the table holds (RFC 7541 size accounting), for tests. */
  get tableSize(): number { return this.table.size; }

  /**
   * Encode a response, request or trailer block as latin1 characters (one per byte), ready to join a frame header in
   * one write: optional :status first, then flat [name, value, ...] (lower-case names; connection-specific fields
   * already removed by the caller).
   */
  encodeLatin1(status: number | undefined, headers: readonly string[]): string {
    let s = '';
    if (this.pendingUpdate >= 0) { s = intChars(0x20, 5, this.pendingUpdate); this.pendingUpdate = -1; }
    if (status !== undefined) {
      const i = STATUS_INDEX[status];
      s += i !== undefined ? String.fromCharCode(0x80 | i) : '\x08' + strChars(String(status));
    }
    for (let k = 0; k + 1 < headers.length; k += 2) s += this.field(headers[k]!, headers[k + 1]!);
    return s;
  }

  private field(name: string, value: string): string {
    const st = STATIC_FULL.get(name)?.get(value);
    if (st !== undefined) return String.fromCharCode(0x80 | st);
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (NO_INDEX.has(name) || size > MAX_INDEXED_ENTRY || size > this.table.maxSize) return prefixOf(name) + strChars(value);
    const ins = this.where.get(name)?.get(value);
    if (ins !== undefined) return intChars(0x80, 7, STATIC_COUNT + this.inserted - ins + 1);
    // first time (or evicted since): a literal the peer adds to its table, as this table does (evicting first)
    this.table.add(name, value);
    this.inserted++;
    const byValue = this.where.get(name);
    if (byValue === undefined) this.where.set(name, new Map([[value, this.inserted]]));
    else byValue.set(value, this.inserted);
    return indexedPrefixOf(name) + strChars(value);
  }

  /** encodeLatin1 as bytes. */
  encode(status: number | undefined, headers: readonly string[]): Buffer {
    return Buffer.from(this.encodeLatin1(status, headers), 'latin1');
  }
}
