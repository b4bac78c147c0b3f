// proxy/tcp: network RBAC (envoy.filters.network.rbac) in front of tcp_proxy — decide once per connection
// (Envoy's ONE_TIME_ON_FIRST_BYTE) from the peer identity and addresses; a denied connection is closed.
import { TypeUrl } from '../../envoy/protos.ts';
import type { RbacConfig } from '../config/authz-types.ts';
import type { NetworkFilterConfig } from '../config/types.ts';
import type { ConnectionOrigin } from '../listener/origin.ts';
import { connectionInput } from '../http/filters/authz.ts';
import { RbacFilter, authzCounters, type RbacDecision } from '../http/filters/rbac.ts';

/** Compiled filters per network filter list (configs are replaced, not mutated, on updates). */
const compiled = new WeakMap<readonly NetworkFilterConfig[], RbacFilter[] | null>();

/** A network RBAC filter without a decoded config denies every connection (fail closed) rather than being skipped. */
const DENY_ALL: RbacConfig = { statPrefix: '', shadowStatPrefix: '', rules: { action: 'ALLOW', policies: [] } };

function filtersOf(list: readonly NetworkFilterConfig[]): RbacFilter[] | null {
  let fs = compiled.get(list);
  if (fs !== undefined) return fs;
  const out: RbacFilter[] = [];
  for (const f of list) {
    if (f.typeUrl !== TypeUrl.NetworkRbac) continue;
    // decode-listener decodes (and NACKs) every network RBAC config, so rbac is always set for this type URL
    const cfg = f.rbac ?? DENY_ALL;
    out.push(new RbacFilter(f.name, cfg, cfg.statPrefix, ''));
  }
  fs = out.length ? out : null;
  compiled.set(list, fs);
  return fs;
}

/** Run the chain's network RBAC filters for a new connection; `allowed: false` means close it. */
export function checkNetworkRbac(statsOwner: object, filters: readonly NetworkFilterConfig[] | undefined, origin: ConnectionOrigin): RbacDecision & { filter?: string } {
  if (!filters || filters.length === 0) return { allowed: true };
  const fs = filtersOf(filters);
  if (!fs) return { allowed: true };
  const input = connectionInput(origin);
  const stats = authzCounters(statsOwner);
  for (const f of fs) {
    const d = f.check(input, stats);
    if (!d.allowed) return { ...d, filter: f.name };
  }
  return { allowed: true };
}
