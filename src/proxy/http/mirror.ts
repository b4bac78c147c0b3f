// proxy/http: request mirroring (shadowing) — fire-and-forget copies of a request to the route's mirror clusters.
import type { MirrorPolicy } from '../config/types.ts';
import type { EngineContext } from '../listener/runtime.ts';
import type { IncomingRequest, OutgoingRequest, ResponseSink } from './exchange-types.ts';
import { setHeader } from './header-edits.ts';

const DISCARD: ResponseSink = { onHead: () => {}, onData: () => {}, onEnd: () => {}, onError: () => {} };

/** Request body bytes kept for mirrors; a larger body is not mirrored (Envoy's buffer limit plays this role). */
export const MIRROR_BUFFER_LIMIT = 64 * 1024;

/**
 * Send `out` to every mirror cluster with Host suffixed "-shadow" (as Envoy does); responses are discarded.
 * The exchange calls this once the whole request is in, with the body it kept (Envoy mirrors bodies too).
 */
export function sendMirrors(ctx: EngineContext, mirrors: readonly MirrorPolicy[], req: IncomingRequest, out: OutgoingRequest, body?: Buffer): void {
  if (req.upgrade) return;
  const host = out.authority.replace(/^([^:]*)(:\d+)?$/, (_m, h: string, p: string | undefined) => `${h}-shadow${p ?? ''}`);
  const headers = out.headers.slice();
  setHeader(headers, 'host', host);
  const shadow: OutgoingRequest = { ...out, authority: host, headers, bodyLength: body ? body.length : 0 };
  for (const m of mirrors) {
    const c = ctx.upstreams.cluster(m.cluster);
    const h = c?.pick({}).host;
    if (!c || !h) continue;
    ctx.upstreams.pool(c, h.address, h.port).acquire((conn) => { conn?.start(shadow, DISCARD, body, true); });
  }
}
