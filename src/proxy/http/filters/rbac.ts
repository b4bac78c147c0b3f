// proxy/http/filters: one RBAC filter (HTTP or network) — enforced rules plus shadow rules, with Envoy's counters
// (<prefix>rbac.allowed / denied / shadow_allowed / shadow_denied, logged / not_logged for LOG) and the response
// code details Envoy gives a denial (rbac_access_denied_matched_policy[<policy>|none]).
import type { RbacConfig } from '../../config/authz-types.ts';
import { compileRules, type RbacEngine, type RbacInput } from './rbac-match.ts';

/** Counters per engine (keyed by its stats object), read by the admin /stats provider via authzStats(). */
const counters = new WeakMap<object, Map<string, number>>();

export function authzCounters(owner: object): Map<string, number> {
  let m = counters.get(owner);
  if (!m) { m = new Map(); counters.set(owner, m); }
  return m;
}

/** The authz counters as admin stats (name: Envoy's stat name). */
export function authzStats(owner: object): Array<{ type: 'counter'; name: string; value: number }> {
  return [...(counters.get(owner) ?? new Map<string, number>())].map(([name, value]) => ({ type: 'counter' as const, name, value }));
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

export interface RbacDecision {
  allowed: boolean;
  /** The policy that decided (matched DENY policy, or undefined for an ALLOW with no match). */
  policy?: string;
  action?: 'ALLOW' | 'DENY' | 'LOG';
  /** Envoy's response code details for a denial. */
  details?: string;
}

const ALLOWED: RbacDecision = { allowed: true };

export class RbacFilter {
  private readonly rules?: RbacEngine;
  private readonly shadow?: RbacEngine;
  /** Counter names, built once (the check runs per request). */
  private readonly keys: { allowed: string; denied: string; logged: string; notLogged: string; shadowAllowed: string; shadowDenied: string };
  /**
   * @param statRoot Envoy's root for this filter's stats: "http.<hcm stat_prefix>." for HTTP, the network filter's
   *   stat_prefix for network RBAC (whose rulesPrefix is then '').
   */
  constructor(readonly name: string, readonly cfg: RbacConfig, statRoot: string, rulesPrefix = cfg.statPrefix) {
    if (cfg.rules) this.rules = compileRules(cfg.rules);
    if (cfg.shadowRules) this.shadow = compileRules(cfg.shadowRules);
    const p = `${statRoot}rbac.${rulesPrefix}`;
    const sp = `${statRoot}rbac.${cfg.shadowStatPrefix}`;
    this.keys = { allowed: `${p}allowed`, denied: `${p}denied`, logged: `${p}logged`, notLogged: `${p}not_logged`, shadowAllowed: `${sp}shadow_allowed`, shadowDenied: `${sp}shadow_denied` };
  }

  check(i: RbacInput, stats: Map<string, number>): RbacDecision {
    const sh = this.shadow;
    if (sh) {
      const r = sh.evaluate(i);
      bump(stats, r.allowed ? this.keys.shadowAllowed : this.keys.shadowDenied);
    }
    const e = this.rules;
    if (!e) return ALLOWED;
    const r = e.evaluate(i);
    if (e.action === 'LOG') {
      bump(stats, r.policy !== undefined ? this.keys.logged : this.keys.notLogged);
      return ALLOWED;
    }
    bump(stats, r.allowed ? this.keys.allowed : this.keys.denied);
    if (r.allowed) return ALLOWED;
    return { allowed: false, policy: r.policy, action: e.action, details: `rbac_access_denied_matched_policy[${r.policy ?? 'none'}]` };
  }
}
