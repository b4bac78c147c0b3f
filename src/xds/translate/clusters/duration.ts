// xds/translate: Istio duration strings ("1h2m3.5s", "100ms") -> Envoy Duration {seconds, nanos}.
// Validation rejects bad durations earlier; here a bad one is treated as absent, never thrown.

export type Duration = { seconds: number; nanos: number };

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/** Milliseconds in a Go-style duration string, or undefined when it does not parse. */
export function durationMs(s: string | undefined): number | undefined {
  if (s === undefined || s === null) return undefined;
  const text = String(s).trim();
  if (text === '') return undefined;
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unitMs[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

export function msToDuration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  return { seconds, nanos };
}

export function duration(s: string | undefined): Duration | undefined {
  const ms = durationMs(s);
  return ms === undefined ? undefined : msToDuration(ms);
}
