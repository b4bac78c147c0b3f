// config/validation: warnings for VirtualService rules that can never apply — a rule after a catch-all rule, or
// matches that repeat an earlier rule's match (Istio reports the same as warnings, not errors).
import type { Issues } from './context.ts';
import { asArr, isPlainObject } from './context.ts';

/** JSON with sorted keys, so two equal matches written in different orders compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const ruleName = (r: Record<string, unknown>, i: number): string => (typeof r.name === 'string' && r.name ? `"${r.name}"` : `#${i}`);

/** For spec.http, spec.tls or spec.tcp (rules with optional `match` lists). */
export function warnUnreachableRules(routes: unknown[], path: string, issues: Issues): void {
  const seen = new Map<string, number>();
  let catchAll = -1;
  routes.forEach((r, i) => {
    if (!isPlainObject(r)) return;
    const matches = asArr(r.match);
    const rp = `${path}[${i}]`;
    if (matches.length === 0) {
      if (catchAll >= 0) issues.warn(rp, `virtualService rule ${ruleName(r, i)} not used (only the last rule can have no matches)`);
      catchAll = i;
      return;
    }
    if (catchAll >= 0) {
      issues.warn(rp, `virtualService rule ${ruleName(r, i)} not used (route without matches defined before, at rule #${catchAll})`);
      return;
    }
    let dups = 0;
    matches.forEach((m, j) => {
      const key = canonical(m);
      const prior = seen.get(key);
      if (prior !== undefined) {
        issues.warn(`${rp}.match[${j}]`, `virtualService rule ${ruleName(r, i)} match #${j} is not used (duplicate match in rule ${ruleName(asRecord(routes[prior]), prior)})`);
        dups++;
      } else seen.set(key, i);
    });
    if (dups === matches.length && dups > 0) issues.warn(rp, `virtualService rule ${ruleName(r, i)} not used (all matches used by prior rules)`);
  });
}

function asRecord(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}
