// proxy/http: the engine's boundary to the compiled router — what it asks and the decision it applies.
import type { HeaderValueOption, RetryPolicyConfig, HashPolicyConfig, RouteEntry, VirtualHostConfig, MirrorPolicy, PerFilterConfig } from '../config/types.ts';

/** What routing may look at: never the connection origin. */
export interface RouteRequest {
  readonly authority: string;
  readonly path: string;
  readonly method: string;
  readonly headers: { get(name: string): string | undefined };
}

export interface HeaderEdits {
  add: readonly HeaderValueOption[];
  remove: readonly string[];
}

export type RouteDecision =
  | {
      kind: 'forward';
      cluster: string;
      /** Path/authority after prefix/regex/host rewrites. */
      path: string;
      authority: string;
      /** Whole-request upstream timeout in ms; 0 = none (Envoy default 15000). */
      timeoutMs: number;
      retryPolicy?: RetryPolicyConfig;
      hashPolicy: readonly HashPolicyConfig[];
      mirrors: readonly MirrorPolicy[];
      request: HeaderEdits;
      response: HeaderEdits;
      /** Per-route upgrade overrides (websocket...). */
      upgradeConfigs: readonly { upgradeType: string; enabled: boolean }[];
      routeName?: string;
      route?: RouteEntry;
      virtualHost?: VirtualHostConfig;
      perFilter?: PerFilterConfig;
    }
  | { kind: 'redirect'; status: number; location: string; response: HeaderEdits; routeName?: string }
  | { kind: 'direct'; status: number; body?: string; response: HeaderEdits; routeName?: string }
  /** No virtual host or route matched: 404 with flag NR. */
  | { kind: 'none' };

export interface HttpRouter {
  route(req: RouteRequest): RouteDecision;
}
