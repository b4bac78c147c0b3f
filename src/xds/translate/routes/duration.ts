// xds/translate/routes: Istio duration strings ("1.5s", "100ms", "2m", "1h30m", "0") -> protobuf Duration {seconds, nanos}, via common/duration.
import { nsToDuration, parseGoDuration } from '../../../common/duration.ts';

export interface PbDuration { seconds: number; nanos?: number }

/** Parse a Go duration; undefined when it is not one or is negative (validation reports those; translation skips them). */
export function parseDuration(s: string | undefined): PbDuration | undefined {
  const ns = parseGoDuration(s);
  if (ns === undefined || ns < 0) return undefined;
  const d = nsToDuration(ns);
  return d.nanos ? d : { seconds: d.seconds };
}

export const ZERO_DURATION: PbDuration = { seconds: 0 };
