// xds/translate: Istio duration strings ("1h2m3.5s", "100ms") -> Envoy Duration {seconds, nanos}, via common/duration.
// Validation rejects bad durations earlier; here a bad or negative one is treated as absent, never thrown.
import { nsToDuration, parseGoDuration } from '../../../common/duration.ts';

export type Duration = { seconds: number; nanos: number };

/** Milliseconds in a Go duration string, or undefined when it does not parse or is negative. */
export function durationMs(s: string | undefined): number | undefined {
  const ns = parseGoDuration(s);
  return ns === undefined || ns < 0 ? undefined : ns / 1e6;
}

export function msToDuration(ms: number): Duration {
  return nsToDuration(Math.round(ms * 1e6));
}

export function duration(s: string | undefined): Duration | undefined {
  const ns = parseGoDuration(s);
  return ns === undefined || ns < 0 ? undefined : nsToDuration(ns);
}
