// proxy/http/filters: CORS (envoy.filters.http.cors) with the route / virtual host CorsPolicy.
// Preflights (OPTIONS + Origin + Access-Control-Request-Method) from an allowed origin are answered here with
// 200 and the allow-* headers, never reaching the upstream; other requests from an allowed origin continue and
// get Access-Control-Allow-Origin (+ credentials / expose headers) added to the response. Requests without an
// Origin, or from origins not allowed, pass through untouched (non-matching preflights too, unless
// forward_not_matching_preflights is false: then they get a bare 200 without CORS headers).
// An allowed-origin matcher that matches "*" allows every origin; the response echoes the request's origin.
import type { CorsPolicyConfig, Fraction, PerFilterConfig } from '../../config/types.ts';
import type { Random } from '../../upstream/lb/types.ts';
import { matchString, type HeaderLookup } from './match.ts';

export type CorsDecision =
  | { action: 'continue'; /** Headers to add to the upstream response (absent: not a CORS request or not allowed). */ responseHeaders?: Array<[string, string]> }
  | { action: 'respond'; status: 200; headers: Array<[string, string]> };

export interface CorsRequest {
  method: string;
  headers: HeaderLookup;
}

export const corsStats = { originValid: 0, originInvalid: 0 };

/** The most specific policy: route, then virtual host (Envoy's per-route config lookup order). */
export function effectiveCorsPolicy(...levels: Array<PerFilterConfig | undefined>): CorsPolicyConfig | undefined {
  for (const l of levels) if (l?.cors) return l.cors;
  return undefined;
}

function sample(random: Random, f: Fraction): boolean {
  if (f.numerator >= f.denominator) return true;
  if (f.numerator <= 0) return false;
  return Math.floor(random() * f.denominator) < f.numerator;
}

export function isOriginAllowed(policy: CorsPolicyConfig, origin: string): boolean {
  for (const m of policy.allowOrigins) if (matchString(m, '*') || matchString(m, origin)) return true;
  return false;
}

export function corsRequest(policy: CorsPolicyConfig | undefined, req: CorsRequest, random: Random): CorsDecision {
  if (!policy) return { action: 'continue' };
  const enforced = sample(random, policy.filterEnabled);
  const shadow = !enforced && policy.shadowEnabled !== undefined && sample(random, policy.shadowEnabled);
  if (!enforced && !shadow) return { action: 'continue' };
  const origin = req.headers.get('origin');
  if (!origin) return { action: 'continue' };
  const allowed = isOriginAllowed(policy, origin);
  if (allowed) corsStats.originValid++;
  else corsStats.originInvalid++;
  // Shadow mode evaluates (stats above) but never changes the exchange.
  if (shadow) return { action: 'continue' };
  const preflight = req.method.toUpperCase() === 'OPTIONS' && !!req.headers.get('access-control-request-method');
  if (!allowed) {
    if (preflight && !policy.forwardNotMatchingPreflights) return { action: 'respond', status: 200, headers: [] };
    return { action: 'continue' };
  }
  if (preflight) {
    const h: Array<[string, string]> = [['access-control-allow-origin', origin]];
    if (policy.allowCredentials) h.push(['access-control-allow-credentials', 'true']);
    if (policy.allowMethods) h.push(['access-control-allow-methods', policy.allowMethods]);
    if (policy.allowHeaders) h.push(['access-control-allow-headers', policy.allowHeaders]);
    if (policy.maxAge) h.push(['access-control-max-age', policy.maxAge]);
    if (policy.allowPrivateNetworkAccess && req.headers.get('access-control-request-private-network') === 'true') {
      h.push(['access-control-allow-private-network', 'true']);
    }
    return { action: 'respond', status: 200, headers: h };
  }
  const h: Array<[string, string]> = [['access-control-allow-origin', origin]];
  if (policy.allowCredentials) h.push(['access-control-allow-credentials', 'true']);
  if (policy.exposeHeaders) h.push(['access-control-expose-headers', policy.exposeHeaders]);
  return { action: 'continue', responseHeaders: h };
}
