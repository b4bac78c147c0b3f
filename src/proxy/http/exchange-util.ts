// proxy/http: small pure helpers of the exchange — passthrough destination, retry-policy shape, host:port split.
import type { RetryPolicyConfig } from '../config/types.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';

/**
 * Where an ORIGINAL_DST (passthrough) cluster sends a request: the captured destination for transparently
 * captured connections; for explicit listeners (local HTTP_PROXY mode) the authority the client asked for,
 * as Envoy's original_dst_lb_config.use_http_header would. Undefined when that is this very listener (a loop).
 */
export function originalDestination(origin: ConnectionOrigin, authority: string): { address: string; port: number } | undefined {
  let dst = origin.destination;
  if (origin.kind === 'listener') {
    const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d+))?$/.exec(authority);
    if (!m) return undefined;
    dst = { address: m[1] ?? m[2], port: m[3] ? Number(m[3]) : 80 };
  }
  const self = (dst.address === origin.localAddress || dst.address === 'localhost' || dst.address === '127.0.0.1' && origin.localAddress === '::ffff:127.0.0.1') && dst.port === origin.localPort;
  return self ? undefined : dst;
}

export function splitHostPort(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

const eager = new WeakMap<RetryPolicyConfig, boolean>();
/** Policies that may retry a 2xx (retriable headers, or odd status lists) need their state from the first response. */
export function needsEagerRetry(p: RetryPolicyConfig): boolean {
  let v = eager.get(p);
  if (v === undefined) {
    v = p.retryOn.some((c) => c.trim() === 'retriable-headers') || p.retriableStatusCodes.some((c) => c < 300) || p.retryOn.some((c) => /^[12]\d\d$/.test(c.trim()));
    eager.set(p, v);
  }
  return v;
}

export function notFilterState<T extends { kind: string }>(p: T): p is Exclude<T, { kind: 'filterState' }> { return p.kind !== 'filterState'; }

/** Remove every occurrence of a (lower-case) header from a flat header list, in place. */
export function removeHeader(h: string[], name: string): void {
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i] === name) h.splice(i, 2);
}
