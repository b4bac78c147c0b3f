// xds/translate/security: Istio AuthorizationPolicy values -> Envoy v3 matcher building blocks (StringMatcher,
// rbac Principal / Permission, CidrRange, MetadataMatcher on the jwt_authn payload). Pure; never throws:
// a value Envoy could not take (bad CIDR) becomes a matcher that matches nothing, so a typo never widens access.
import type { EnvoyResource } from '../types.ts';

/** The HTTP filter whose dynamic metadata carries a verified JWT's payload (key "payload"). */
export const JWT_FILTER = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD_KEY = 'payload';

export type Principal = EnvoyResource;
export type Permission = EnvoyResource;

const RE_SPECIAL = /[.*+?^${}()|[\]\\]/g;
const quoteRegex = (s: string): string => s.replace(RE_SPECIAL, '\\$&');

export interface StringMatchOptions {
  /** Prepended to exact and prefix forms (e.g. "spiffe://" for principals). */
  prefix?: string;
  ignoreCase?: boolean;
}

/**
 * Istio's value syntax: "*" = any non-empty value, a leading "*" = suffix, else a trailing "*" = prefix, else exact.
 * Only that one "*" is a wildcard: "*x*" is the suffix "x*" with a literal star (Istio's matcher), never "contains".
 * With a `prefix` (principals: "spiffe://") a suffix cannot keep it, so it becomes the regex prefix + ".*" + the
 * literal rest (Istio's form, with the rest quoted so "." stays a dot). Envoy rejects an empty prefix/suffix, hence
 * the regex for "*".
 */
export function stringMatcher(value: string, o: StringMatchOptions = {}): EnvoyResource {
  const pre = o.prefix ?? '';
  let m: EnvoyResource;
  if (value === '*') m = { safe_regex: { regex: '.+' } };
  else if (value.startsWith('*')) m = pre ? { safe_regex: { regex: `${quoteRegex(pre)}.*${quoteRegex(value.slice(1))}` } } : { suffix: value.slice(1) };
  else if (value.endsWith('*')) m = { prefix: pre + value.slice(0, -1) };
  else m = { exact: pre + value };
  if (o.ignoreCase && !('safe_regex' in m)) m.ignore_case = true;
  return m;
}

// ---- combinators (a single member is used as is: same meaning, easier to read in config dumps)
export const anyPrincipal = (): Principal => ({ any: true });
export const anyPermission = (): Permission => ({ any: true });
const noPrincipal = (): Principal => ({ not_id: { any: true } });
const noPermission = (): Permission => ({ not_rule: { any: true } });

export function orIds(ids: Principal[]): Principal {
  if (ids.length === 0) return noPrincipal();
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
}
export function andIds(ids: Principal[]): Principal {
  if (ids.length === 0) return anyPrincipal();
  // nested ANDs read (and evaluate) the same flattened
  const flat = ids.flatMap((p) => ((p.and_ids as { ids: Principal[] } | undefined)?.ids ?? [p]));
  return flat.length === 1 ? flat[0]! : { and_ids: { ids: flat } };
}
export function orRules(rules: Permission[]): Permission {
  if (rules.length === 0) return noPermission();
  return rules.length === 1 ? rules[0]! : { or_rules: { rules } };
}
export function andRules(rules: Permission[]): Permission {
  if (rules.length === 0) return anyPermission();
  const flat = rules.flatMap((p) => ((p.and_rules as { rules: Permission[] } | undefined)?.rules ?? [p]));
  return flat.length === 1 ? flat[0]! : { and_rules: { rules: flat } };
}
export const notId = (p: Principal): Principal => ({ not_id: p });
export const notRule = (p: Permission): Permission => ({ not_rule: p });

// ---- addresses
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** "10.0.0.0/8" or "10.1.2.3" (-> /32, /128 for IPv6) as a CidrRange; undefined when it is not one. */
export function cidrRange(v: string): EnvoyResource | undefined {
  const [ip, len, extra] = v.trim().split('/');
  if (!ip || extra !== undefined) return undefined;
  const v4 = IPV4.exec(ip);
  const v6 = !v4 && ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip);
  if (v4 && v4.slice(1).some((o) => Number(o) > 255)) return undefined;
  if (!v4 && !v6) return undefined;
  const max = v4 ? 32 : 128;
  const n = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(n >= 0 && n <= max)) return undefined;
  return { address_prefix: ip, prefix_len: { value: n } };
}

// ---- principals
/** Peer identity (mTLS URI SAN) matched against an Istio principal written without "spiffe://". */
export function principalName(value: string): Principal {
  return { authenticated: { principal_name: stringMatcher(value, { prefix: 'spiffe://' }) } };
}

/** The peer's namespace, read from its SPIFFE id ".../ns/<ns>/..."; "*" in the value matches any characters. */
export function namespacePrincipal(value: string): Principal {
  const ns = value.split('*').map(quoteRegex).join('.*');
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${ns}/.*` } } } };
}

/** "ns/sa" (or "sa" in the policy's namespace): the peer's SPIFFE id ends with "/ns/<ns>/sa/<sa>". */
export function serviceAccountPrincipal(value: string, policyNamespace: string): Principal {
  const i = value.indexOf('/');
  const ns = i >= 0 ? value.slice(0, i) : policyNamespace;
  const sa = i >= 0 ? value.slice(i + 1) : value;
  return { authenticated: { principal_name: { suffix: `/ns/${ns}/sa/${sa}` } } };
}

/** The trust domain of the peer's SPIFFE id. */
export function trustDomainPrincipal(value: string): Principal {
  if (value === '*') return { authenticated: { principal_name: { prefix: 'spiffe://' } } };
  if (value.startsWith('*')) return { authenticated: { principal_name: { safe_regex: { regex: `spiffe://[^/]*${quoteRegex(value.slice(1))}/.*` } } } };
  if (value.endsWith('*')) return { authenticated: { principal_name: { prefix: `spiffe://${value.slice(0, -1)}` } } };
  return { authenticated: { principal_name: { prefix: `spiffe://${value}/` } } };
}

export function ipPrincipal(value: string, field: 'direct_remote_ip' | 'remote_ip'): Principal {
  const c = cidrRange(value);
  return c ? { [field]: c } : noPrincipal();
}

// ---- JWT payload (written by jwt_authn into dynamic metadata)
export function payloadMatcher(path: string[], value: EnvoyResource): EnvoyResource {
  return { filter: JWT_FILTER, path: [{ key: JWT_PAYLOAD_KEY }, ...path.map((key) => ({ key }))], value };
}
const payload = (path: string[], value: EnvoyResource): Principal => ({ metadata: payloadMatcher(path, value) });
const str = (m: EnvoyResource): EnvoyResource => ({ string_match: m });

/**
 * A claim that may be a string or a list of strings (aud, scope, custom claims): Envoy's string_match only
 * matches strings and list_match only lists, so both are offered.
 */
export function claimPrincipal(path: string[], value: string): Principal {
  const m = stringMatcher(value);
  return orIds([payload(path, str(m)), payload(path, { list_match: { one_of: str(m) } })]);
}

/**
 * Istio's request principal "<iss>/<sub>" against the payload's separate iss and sub claims, split at the LAST
 * "/" as Istio does (issuers are often URLs; subjects rarely hold "/"). "*" = both claims non-empty; a leading
 * "*" makes the issuer a suffix match (or any, for "*\/sub"), a trailing one the subject a prefix match; without a
 * "/" the wildcard side is the whole value.
 */
export function requestPrincipal(value: string): Principal {
  const any: EnvoyResource = { safe_regex: { regex: '.+' } };
  const idx = value.lastIndexOf('/');
  const found = idx >= 0;
  const issPart = found ? value.slice(0, idx) : value;
  const subPart = found ? value.slice(idx + 1) : '';
  let iss: EnvoyResource, sub: EnvoyResource;
  if (value === '*') { iss = any; sub = any; }
  else if (value.startsWith('*')) {
    if (found) { iss = issPart === '*' ? any : { suffix: issPart.slice(1) }; sub = { exact: subPart }; }
    else { iss = any; sub = { suffix: value.slice(1) }; }
  } else if (value.endsWith('*')) {
    if (found) { iss = { exact: issPart }; sub = subPart === '*' ? any : { prefix: subPart.slice(0, -1) }; }
    else { iss = { prefix: value.slice(0, -1) }; sub = any; }
  } else { iss = { exact: issPart }; sub = { exact: subPart }; }
  return andIds([payload(['iss'], str(iss)), payload(['sub'], str(sub))]);
}

// ---- permissions
export function headerMatcher(name: string, value: string, ignoreCase = false): EnvoyResource {
  if (value === '*') return { name, present_match: true };
  return { name, string_match: stringMatcher(value, { ignoreCase }) };
}

/** Istio hosts match the :authority header ignoring case. */
export const hostPermission = (v: string): Permission => ({ header: headerMatcher(':authority', v, true) });
export const methodPermission = (v: string): Permission => ({ header: headerMatcher(':method', v) });
/** Istio path templates: "{*}" is one path segment, "{**}" any remainder (it must come last). */
const PATH_TEMPLATE = /\{\*\*?\}/;

/**
 * Paths match the path without the query string (Envoy's url_path); a template ("/users/{*}/profile") becomes the
 * equivalent regex, so it can never silently match nothing.
 */
export function pathPermission(v: string): Permission {
  if (!PATH_TEMPLATE.test(v)) return { url_path: { path: stringMatcher(v) } };
  const regex = v.split(/(\{\*\*?\})/).map((part) => (part === '{*}' ? '[^/]+' : part === '{**}' ? '.*' : quoteRegex(part))).join('');
  return { url_path: { path: { safe_regex: { regex } } } };
}

export function portPermission(v: string | number): Permission {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? { destination_port: n } : noPermission();
}

export function destinationIpPermission(v: string): Permission {
  const c = cidrRange(v);
  return c ? { destination_ip: c } : noPermission();
}

export const sniPermission = (v: string): Permission => ({ requested_server_name: stringMatcher(v) });
