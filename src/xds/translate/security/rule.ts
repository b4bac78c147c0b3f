// xds/translate/security: one AuthorizationPolicy rule -> one Envoy rbac Policy. Within a rule from, to and when
// are ANDed; the entries of from (and of to) are ORed, as are the values of one field. Envoy ORs a Policy's
// principals and its permissions and ANDs the two lists, so each `from` entry becomes one principal and each
// `to` entry one permission, with the rule's `when` conditions ANDed into every one of them.
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationRule, AuthorizationSource } from '../../../config/types/security.ts';
import type { EnvoyResource } from '../types.ts';
import {
  andIds, andRules, anyPermission, anyPrincipal, claimPrincipal, destinationIpPermission, headerMatcher, hostPermission,
  ipPrincipal, methodPermission, namespacePrincipal, notId, notRule, orIds, orRules, pathPermission, payloadMatcher, portPermission,
  principalName, requestPrincipal, serviceAccountPrincipal, sniPermission, stringMatcher, trustDomainPrincipal,
  type Permission, type Principal,
} from './matchers.ts';

export interface RuleContext {
  /** The policy's namespace (serviceAccounts without a namespace are in it). */
  namespace: string;
  /** Network (TCP) filter: HTTP-only attributes cannot be evaluated. */
  tcp: boolean;
  /** What to do with HTTP-only attributes on TCP: an ALLOW (or AUDIT) rule using them matches nothing, a DENY rule ignores them. */
  onHttpOnly: 'drop-rule' | 'drop-field';
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** values ORed, notValues negated: AND of the parts present; undefined when neither is set. */
function fieldPrincipal(values: string[], notValues: string[], one: (v: string) => Principal): Principal | undefined {
  const parts: Principal[] = [];
  if (values.length) parts.push(orIds(values.map(one)));
  if (notValues.length) parts.push(notId(orIds(notValues.map(one))));
  return parts.length ? andIds(parts) : undefined;
}
function fieldPermission(values: string[], notValues: string[], one: (v: string) => Permission): Permission | undefined {
  const parts: Permission[] = [];
  if (values.length) parts.push(orRules(values.map(one)));
  if (notValues.length) parts.push(notRule(orRules(notValues.map(one))));
  return parts.length ? andRules(parts) : undefined;
}

type SourceField = 'principals' | 'requestPrincipals' | 'namespaces' | 'serviceAccounts' | 'ipBlocks' | 'remoteIpBlocks' | 'trustDomains';
const HTTP_ONLY_SOURCE = new Set<SourceField>(['requestPrincipals']);
type OperationField = 'hosts' | 'ports' | 'methods' | 'paths';
const HTTP_ONLY_OPERATION = new Set<OperationField>(['hosts', 'methods', 'paths']);

function sourceMatchers(ctx: RuleContext): Record<SourceField, (v: string) => Principal> {
  return {
    principals: principalName,
    requestPrincipals: requestPrincipal,
    namespaces: namespacePrincipal,
    serviceAccounts: (v) => serviceAccountPrincipal(v, ctx.namespace),
    ipBlocks: (v) => ipPrincipal(v, 'direct_remote_ip'),
    remoteIpBlocks: (v) => ipPrincipal(v, 'remote_ip'),
    trustDomains: trustDomainPrincipal,
  };
}
const operationMatchers: Record<OperationField, (v: string) => Permission> = {
  hosts: hostPermission, ports: portPermission, methods: methodPermission, paths: pathPermission,
};

const notName = (f: string): string => `not${f[0]!.toUpperCase()}${f.slice(1)}`;

interface Parts<T> { parts: T[]; httpOnly: boolean }

function sourceParts(src: AuthorizationSource | undefined, ctx: RuleContext): Parts<Principal> {
  const out: Parts<Principal> = { parts: [], httpOnly: false };
  const m = sourceMatchers(ctx);
  const rec = (src && typeof src === 'object' ? src : {}) as Record<string, unknown>;
  for (const f of Object.keys(m) as SourceField[]) {
    const p = fieldPrincipal(strings(rec[f]), strings(rec[notName(f)]), m[f]);
    if (!p) continue;
    if (ctx.tcp && HTTP_ONLY_SOURCE.has(f)) { out.httpOnly = true; continue; }
    out.parts.push(p);
  }
  return out;
}

function operationParts(op: AuthorizationOperation | undefined, ctx: RuleContext): Parts<Permission> {
  const out: Parts<Permission> = { parts: [], httpOnly: false };
  const rec = (op && typeof op === 'object' ? op : {}) as Record<string, unknown>;
  for (const f of Object.keys(operationMatchers) as OperationField[]) {
    const p = fieldPermission(strings(rec[f]), strings(rec[notName(f)]), operationMatchers[f]);
    if (!p) continue;
    if (ctx.tcp && HTTP_ONLY_OPERATION.has(f)) { out.httpOnly = true; continue; }
    out.parts.push(p);
  }
  return out;
}

/** "a[b][c]" -> ["b", "c"] after the prefix; undefined when malformed. */
export function bracketKeys(key: string, prefix: string): string[] | undefined {
  const rest = key.slice(prefix.length);
  const out: string[] = [];
  let at = 0;
  for (const m of rest.matchAll(/\[([^\][]+)\]/g)) {
    if (m.index !== at) return undefined;
    out.push(m[1]!);
    at += m[0].length;
  }
  return at === rest.length && out.length ? out : undefined;
}

type Condition = { principal: (v: string) => Principal; httpOnly: boolean } | { permission: (v: string) => Permission; httpOnly: boolean };

/** Istio's `when` keys and the Envoy matcher each value becomes; undefined for keys Rigging cannot translate. */
export function conditionMatcher(key: string, ctx: RuleContext): Condition | undefined {
  switch (key) {
    case 'source.ip': return { principal: (v) => ipPrincipal(v, 'direct_remote_ip'), httpOnly: false };
    case 'remote.ip': return { principal: (v) => ipPrincipal(v, 'remote_ip'), httpOnly: false };
    case 'source.namespace': return { principal: namespacePrincipal, httpOnly: false };
    case 'source.principal': return { principal: principalName, httpOnly: false };
    case 'source.serviceAccount': return { principal: (v) => serviceAccountPrincipal(v, ctx.namespace), httpOnly: false };
    case 'source.trustDomain': return { principal: trustDomainPrincipal, httpOnly: false };
    case 'request.auth.principal': return { principal: requestPrincipal, httpOnly: true };
    case 'request.auth.audiences': return { principal: (v) => claimPrincipal(['aud'], v), httpOnly: true };
    case 'request.auth.presenter': return { principal: (v) => ({ metadata: payloadMatcher(['azp'], { string_match: stringMatcher(v) }) }), httpOnly: true };
    case 'destination.ip': return { permission: destinationIpPermission, httpOnly: false };
    case 'destination.port': return { permission: portPermission, httpOnly: false };
    case 'connection.sni': return { permission: sniPermission, httpOnly: false };
  }
  if (key.startsWith('request.headers[')) {
    const k = bracketKeys(key, 'request.headers');
    if (k?.length === 1) return { principal: (v) => ({ header: headerMatcher(k[0]!, v) }), httpOnly: true };
  }
  if (key.startsWith('request.auth.claims[')) {
    const k = bracketKeys(key, 'request.auth.claims');
    if (k) return { principal: (v) => claimPrincipal(k, v), httpOnly: true };
  }
  if (key.startsWith('experimental.envoy.filters.')) {
    // experimental.envoy.filters.<filter name>[key]...: string dynamic metadata another filter wrote
    const i = key.indexOf('[');
    const k = i > 0 ? bracketKeys(key, key.slice(0, i)) : undefined;
    if (k) {
      const filter = key.slice('experimental.'.length, i);
      return { permission: (v) => ({ metadata: { filter, path: k.map((key) => ({ key })), value: { string_match: stringMatcher(v) } } }), httpOnly: false };
    }
  }
  return undefined;
}

interface WhenParts { principals: Principal[]; permissions: Permission[]; httpOnly: boolean; unknown: string[] }

function whenParts(when: AuthorizationCondition[] | undefined, ctx: RuleContext): WhenParts {
  const out: WhenParts = { principals: [], permissions: [], httpOnly: false, unknown: [] };
  for (const c of Array.isArray(when) ? when : []) {
    if (!c || typeof c.key !== 'string') continue;
    const m = conditionMatcher(c.key, ctx);
    const values = strings(c.values), notValues = strings(c.notValues);
    if (!values.length && !notValues.length) continue;
    if (!m) {
      // never silently widen: an unknown condition matches nothing (its ANDed rule then matches nothing)
      out.unknown.push(c.key);
      out.permissions.push(orRules([]));
      continue;
    }
    if (ctx.tcp && m.httpOnly) { out.httpOnly = true; continue; }
    if ('principal' in m) out.principals.push(fieldPrincipal(values, notValues, m.principal)!);
    else out.permissions.push(fieldPermission(values, notValues, m.permission)!);
  }
  return out;
}

export interface RuleResult {
  /** The Envoy Policy; undefined when the rule can match nothing here (HTTP-only rule of an ALLOW on TCP). */
  policy?: EnvoyResource;
  /** `when` keys with no translation (their rule matches nothing). */
  unknownKeys: string[];
  /** HTTP-only attributes were dropped or made the rule match nothing (TCP). */
  httpOnly: boolean;
}

export function translateRule(rule: AuthorizationRule | undefined, ctx: RuleContext): RuleResult {
  const r = (rule && typeof rule === 'object' ? rule : {}) as AuthorizationRule;
  const w = whenParts(r.when, ctx);
  const froms = (Array.isArray(r.from) ? r.from : []).map((f) => sourceParts(f?.source, ctx));
  const tos = (Array.isArray(r.to) ? r.to : []).map((t) => operationParts(t?.operation, ctx));
  const httpOnly = w.httpOnly || froms.some((f) => f.httpOnly) || tos.some((t) => t.httpOnly);
  if (httpOnly && ctx.onHttpOnly === 'drop-rule') return { unknownKeys: w.unknown, httpOnly };
  const principals = froms.length
    ? froms.map((f) => andIds([...f.parts, ...w.principals]))
    : [w.principals.length ? andIds(w.principals) : anyPrincipal()];
  const permissions = tos.length
    ? tos.map((t) => andRules([...t.parts, ...w.permissions]))
    : [w.permissions.length ? andRules(w.permissions) : anyPermission()];
  return { policy: { permissions, principals }, unknownKeys: w.unknown, httpOnly };
}
