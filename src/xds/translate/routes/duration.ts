// xds/translate/routes: Istio duration strings ("1.5s", "100ms", "2m", "1h", "1h30m") -> protobuf Duration {seconds, nanos}.
export interface PbDuration { seconds: number; nanos?: number }

const UNIT_NS: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };

/** Parse a Go-style duration; undefined when it is not one (validation reports those; translation skips them). */
export function parseDuration(s: string | undefined): PbDuration | undefined {
  if (s === undefined || s === null) return undefined;
  const str = String(s).trim();
  if (str === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/y;
  let totalNs = 0;
  let pos = 0;
  while (pos < str.length) {
    re.lastIndex = pos;
    const m = re.exec(str);
    if (!m) return undefined;
    totalNs += Number(m[1]) * UNIT_NS[m[2]!]!;
    pos = re.lastIndex;
  }
  return fromNanos(Math.round(totalNs));
}

function fromNanos(ns: number): PbDuration {
  const seconds = Math.floor(ns / 1e9);
  const nanos = ns - seconds * 1e9;
  return nanos ? { seconds, nanos } : { seconds };
}

export const ZERO_DURATION: PbDuration = { seconds: 0 };
