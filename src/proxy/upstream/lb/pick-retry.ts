// proxy/upstream/lb: the retry host predicate loop shared by balancers (Envoy's host_selection_retry_max_attempts).
import type { Host, PickContext } from './types.ts';

/**
 * Pick, and while the context's predicate rejects the host, pick again up to
 * `hostSelectionRetryMaxAttempts` (default 1) more times; the last pick wins if all are rejected,
 * as Envoy routes to the last selected host rather than failing.
 */
export function pickWithPredicate(ctx: PickContext, pickOnce: (attempt: number) => Host | undefined): Host | undefined {
  let h = pickOnce(0);
  if (!h || !ctx.rejectHost) return h;
  const max = ctx.hostSelectionRetryMaxAttempts ?? 1;
  for (let attempt = 1; attempt <= max && h && ctx.rejectHost(h); attempt++) h = pickOnce(attempt);
  return h;
}
