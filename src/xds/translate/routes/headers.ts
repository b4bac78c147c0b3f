// xds/translate/routes: VirtualService header operations -> Envoy header mutations. A set/add of
// "host" or ":authority" becomes an authority rewrite instead (Envoy cannot mutate pseudo-headers).
import type { Headers } from '../../../config/types/networking.ts';

export interface HeaderOps {
  request_headers_to_add?: Record<string, unknown>[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: Record<string, unknown>[];
  response_headers_to_remove?: string[];
  authority?: string;
}

const isAuthority = (k: string): boolean => k.toLowerCase() === ':authority' || k.toLowerCase() === 'host';
const isInternal = (k: string): boolean => k.startsWith(':') || k.toLowerCase() === 'host';

function toAdd(map: Record<string, string> | undefined, append: boolean): { list: Record<string, unknown>[]; authority?: string } {
  const list: Record<string, unknown>[] = [];
  let authority: string | undefined;
  // sorted by key so output is stable (Istio sorts too)
  for (const key of Object.keys(map ?? {}).sort()) {
    const value = map![key]!;
    if (isAuthority(key)) authority = value;
    if (isInternal(key)) continue;
    list.push({ header: { key, value }, append_action: append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  return { list, authority };
}

export function translateHeaders(h: Headers | undefined): HeaderOps {
  const out: HeaderOps = {};
  if (!h) return out;
  const rs = toAdd(h.request?.set, false);
  const ra = toAdd(h.request?.add, true);
  const reqAdd = [...rs.list, ...ra.list];
  if (reqAdd.length) out.request_headers_to_add = reqAdd;
  const reqRm = (h.request?.remove ?? []).filter((k) => !isInternal(k));
  if (reqRm.length) out.request_headers_to_remove = reqRm;
  const respAdd = [...toAdd(h.response?.set, false).list, ...toAdd(h.response?.add, true).list];
  if (respAdd.length) out.response_headers_to_add = respAdd;
  const respRm = (h.response?.remove ?? []).filter((k) => !isInternal(k));
  if (respRm.length) out.response_headers_to_remove = respRm;
  const authority = rs.authority ?? ra.authority; // set wins over add
  if (authority) out.authority = authority;
  return out;
}

/** Append b's mutations after a's (route-level first, then the single destination's). */
export function appendHeaderOps(target: Record<string, unknown>, ops: HeaderOps): void {
  for (const k of ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'] as const) {
    const v = ops[k];
    if (!v || v.length === 0) continue;
    target[k] = [...((target[k] as unknown[] | undefined) ?? []), ...v];
  }
}
