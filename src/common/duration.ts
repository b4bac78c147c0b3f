// common: the one parser of Go duration strings ("1.5s", "300ms", "1h2m", "0") as Istio reads them, and their protobuf Duration form.
// Istio unmarshals its CRDs' google.protobuf.Duration fields with Go's time.ParseDuration, so config takes exactly Go's
// syntax: an optional sign, then one or more <decimal><unit> parts (units ns, us, µs, μs, ms, s, m, h), or the bare
// "0". No whitespace, no exponent, no unit-less number other than "0". Range checks (negative, minimums, precision)
// are each field's validation, not the parser's.

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};
/** Go's time.Duration is an int64 of nanoseconds; anything beyond is an error there too. */
const MAX_NS = (1n << 63n) - 1n;
/** One <decimal><unit> part: digits with an optional fraction (either side may be empty, not both), then a unit made of
 * anything that is neither a digit nor a dot (so "1e3s" has the unit "e", which is unknown, as in Go). */
const PART = /(\d*)(?:\.(\d*))?([^\d.]*)/y;

/**
 * Nanoseconds in a Go duration string (an integer; exact for fractions, which truncate below 1 ns as in Go), or
 * undefined when `s` is not a string or not a Go duration ("", " 1s", "1", "1e3s", "1x", out of int64 range).
 */
export function parseGoDuration(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  let rest = s;
  let negative = false;
  if (rest[0] === '-' || rest[0] === '+') {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0n;
  let pos = 0;
  while (pos < rest.length) {
    PART.lastIndex = pos;
    const m = PART.exec(rest);
    if (!m || m.index !== pos) return undefined;
    const [whole, int = '', frac = '', unit = ''] = m;
    if (int === '' && frac === '') return undefined; // "." or a unit with no number
    const scale = UNIT_NS[unit];
    if (scale === undefined) return undefined; // missing or unknown unit
    let part = BigInt(int || '0') * scale;
    if (frac !== '') part += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    total += part;
    if (total > MAX_NS + (negative ? 1n : 0n)) return undefined;
    pos += whole.length;
  }
  const n = Number(total);
  return negative && n !== 0 ? -n : n; // never -0
}

/** protobuf Duration {seconds, nanos} of `ns` nanoseconds (nanos carries the sign of seconds, as protobuf requires). */
export function nsToDuration(ns: number): { seconds: number; nanos: number } {
  const seconds = Math.trunc(ns / 1e9);
  return { seconds, nanos: Math.round(ns - seconds * 1e9) };
}

/** The shortest exact Go-style spelling of whole seconds / milliseconds / nanoseconds, for messages. */
export function formatDurationNs(ns: number): string {
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  return `${ns}ns`;
}
