// proxy/config: decodes Envoy RBAC (config.rbac.v3, HTTP and network filter configs) with every problem reported at
// its field path; variants we do not evaluate are rejected (NACK), never ignored — an ignored rule would let traffic in.
import { isIP } from 'node:net';
import { type Ctx, type Obj, arr, enumName, headerMatcher, isObj, num, obj, str, stringMatch, wrappedNum } from './decode-common.ts';
import type { MetadataMatch, RbacConfig, RbacPermission, RbacPolicyConfig, RbacPrincipal, RbacRulesConfig, ValueMatch } from './authz-types.ts';
import type { CidrRange, StringMatch } from './types.ts';

const NOTHING: RbacPermission = { kind: 'not', rule: { kind: 'any' } };
const NOBODY: RbacPrincipal = { kind: 'not', id: { kind: 'any' } };

function oneKey(v: Obj, keys: readonly string[], ctx: Ctx, field: string): string | undefined {
  const set = keys.filter((k) => v[k] !== undefined);
  if (set.length > 1) ctx.err(field, `only one of ${set.join(', ')} may be set`);
  return set[0];
}

export function cidr(v: unknown, ctx: Ctx, field: string): CidrRange | undefined {
  const o = obj(v);
  const addressPrefix = str(o?.address_prefix) ?? '';
  const fam = isIP(addressPrefix);
  if (!fam) { ctx.err(`${field}.address_prefix`, `not an IP address: ${JSON.stringify(addressPrefix)}`); return undefined; }
  const prefixLen = wrappedNum(o?.prefix_len) ?? num(o?.prefix_len) ?? 0;
  if (prefixLen < 0 || prefixLen > (fam === 4 ? 32 : 128)) { ctx.err(`${field}.prefix_len`, `out of range for IPv${fam}: ${prefixLen}`); return undefined; }
  return { addressPrefix, prefixLen };
}

function pathMatcher(v: unknown, ctx: Ctx, field: string): StringMatch | undefined {
  const o = obj(v);
  if (!o || !isObj(o.path)) { ctx.err(`${field}.path`, 'url_path needs a path string matcher'); return undefined; }
  return stringMatch(o.path, ctx, `${field}.path`);
}

function valueMatch(v: unknown, ctx: Ctx, field: string): ValueMatch | undefined {
  const o = obj(v);
  if (!o) { ctx.err(field, 'missing value matcher'); return undefined; }
  const k = oneKey(o, ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'], ctx, field);
  switch (k) {
    case 'null_match': return { kind: 'null' };
    case 'double_match': {
      const d = obj(o.double_match) ?? {};
      if (isObj(d.range)) return { kind: 'double', range: { start: num(d.range.start) ?? 0, end: num(d.range.end) ?? 0 } };
      return { kind: 'double', exact: num(d.exact) ?? 0 };
    }
    case 'string_match': {
      const s = stringMatch(o.string_match, ctx, `${field}.string_match`);
      return s ? { kind: 'string', string: s } : undefined;
    }
    case 'bool_match': return { kind: 'bool', value: o.bool_match === true };
    case 'present_match': return { kind: 'present', present: o.present_match === true };
    case 'list_match': {
      const l = obj(o.list_match);
      if (!l || !isObj(l.one_of)) { ctx.err(`${field}.list_match.one_of`, 'list_match needs one_of'); return undefined; }
      const inner = valueMatch(l.one_of, ctx, `${field}.list_match.one_of`);
      return inner ? { kind: 'list', oneOf: inner } : undefined;
    }
    case 'or_match': {
      const list = arr(obj(o.or_match)?.value_matchers);
      if (list.length < 2) ctx.err(`${field}.or_match.value_matchers`, 'needs at least 2 matchers');
      const any = list.map((m, i) => valueMatch(m, ctx, `${field}.or_match.value_matchers[${i}]`)).filter((m): m is ValueMatch => !!m);
      return { kind: 'or', any };
    }
  }
  ctx.err(field, 'value matcher sets no match (null_match, double_match, string_match, bool_match, present_match, list_match, or_match)');
  return undefined;
}

function metadataMatch(v: unknown, ctx: Ctx, field: string): MetadataMatch | undefined {
  const o = obj(v) ?? {};
  const filter = str(o.filter) ?? '';
  if (!filter) ctx.err(`${field}.filter`, 'must not be empty');
  const path: string[] = [];
  const segs = arr(o.path);
  if (segs.length === 0) ctx.err(`${field}.path`, 'needs at least one segment');
  segs.forEach((s, i) => {
    const key = str(obj(s)?.key);
    if (!key) ctx.err(`${field}.path[${i}].key`, 'path segment needs a key');
    else path.push(key);
  });
  const value = valueMatch(o.value, ctx, `${field}.value`);
  if (!value) return undefined;
  return { filter, path, value, invert: o.invert === true };
}

const PERMISSION_KEYS = ['and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'metadata', 'not_rule', 'requested_server_name', 'matcher', 'uri_template'] as const;

export function permission(v: unknown, ctx: Ctx, field: string): RbacPermission {
  const o = obj(v);
  if (!o) { ctx.err(field, 'permission must be an object'); return NOTHING; }
  const k = oneKey(o, PERMISSION_KEYS, ctx, field);
  const f = `${field}.${k}`;
  switch (k) {
    case 'and_rules':
    case 'or_rules': {
      const list = arr(obj(o[k])?.rules);
      if (list.length === 0) ctx.err(`${f}.rules`, 'needs at least one rule');
      return { kind: k === 'and_rules' ? 'and' : 'or', rules: list.map((r, i) => permission(r, ctx, `${f}.rules[${i}]`)) };
    }
    case 'any':
      if (o.any !== true) ctx.err(f, 'any must be true');
      return { kind: 'any' };
    case 'header': {
      const h = headerMatcher(o.header, ctx, f);
      return h ? { kind: 'header', header: h } : NOTHING;
    }
    case 'url_path': {
      const p = pathMatcher(o.url_path, ctx, f);
      return p ? { kind: 'url_path', path: p } : NOTHING;
    }
    case 'destination_ip': {
      const c = cidr(o.destination_ip, ctx, f);
      return c ? { kind: 'destination_ip', cidr: c } : NOTHING;
    }
    case 'destination_port': {
      const p = num(o.destination_port) ?? 0;
      if (p < 0 || p > 65535) ctx.err(f, `invalid port ${p}`);
      return { kind: 'destination_port', port: p };
    }
    case 'destination_port_range': {
      const r = obj(o.destination_port_range) ?? {};
      const start = num(r.start) ?? 0;
      const end = num(r.end) ?? 0;
      if (end < start) ctx.err(f, `end ${end} is before start ${start}`);
      return { kind: 'destination_port_range', start, end };
    }
    case 'metadata': {
      const m = metadataMatch(o.metadata, ctx, f);
      return m ? { kind: 'metadata', metadata: m } : NOTHING;
    }
    case 'not_rule':
      return { kind: 'not', rule: permission(o.not_rule, ctx, f) };
    case 'requested_server_name': {
      const s = stringMatch(o.requested_server_name, ctx, f);
      return s ? { kind: 'requested_server_name', name: s } : NOTHING;
    }
    case 'matcher':
    case 'uri_template':
      ctx.err(f, `RBAC permission ${k} (extension ${JSON.stringify(str(obj(o[k])?.name) ?? '')}) is not supported`);
      return NOTHING;
  }
  ctx.err(field, 'permission sets no rule');
  return NOTHING;
}

const PRINCIPAL_KEYS = ['and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'metadata', 'filter_state', 'not_id'] as const;

export function principal(v: unknown, ctx: Ctx, field: string): RbacPrincipal {
  const o = obj(v);
  if (!o) { ctx.err(field, 'principal must be an object'); return NOBODY; }
  const k = oneKey(o, PRINCIPAL_KEYS, ctx, field);
  const f = `${field}.${k}`;
  switch (k) {
    case 'and_ids':
    case 'or_ids': {
      const list = arr(obj(o[k])?.ids);
      if (list.length === 0) ctx.err(`${f}.ids`, 'needs at least one id');
      return { kind: k === 'and_ids' ? 'and' : 'or', ids: list.map((r, i) => principal(r, ctx, `${f}.ids[${i}]`)) };
    }
    case 'any':
      if (o.any !== true) ctx.err(f, 'any must be true');
      return { kind: 'any' };
    case 'authenticated': {
      const a = obj(o.authenticated) ?? {};
      if (a.principal_name === undefined) return { kind: 'authenticated' };
      const s = stringMatch(a.principal_name, ctx, `${f}.principal_name`);
      return s ? { kind: 'authenticated', name: s } : NOBODY;
    }
    case 'source_ip':
    case 'direct_remote_ip':
    case 'remote_ip': {
      const c = cidr(o[k], ctx, f);
      return c ? { kind: k, cidr: c } : NOBODY;
    }
    case 'header': {
      const h = headerMatcher(o.header, ctx, f);
      return h ? { kind: 'header', header: h } : NOBODY;
    }
    case 'url_path': {
      const p = pathMatcher(o.url_path, ctx, f);
      return p ? { kind: 'url_path', path: p } : NOBODY;
    }
    case 'metadata': {
      const m = metadataMatch(o.metadata, ctx, f);
      return m ? { kind: 'metadata', metadata: m } : NOBODY;
    }
    case 'not_id':
      return { kind: 'not', id: principal(o.not_id, ctx, f) };
    case 'filter_state':
      ctx.err(f, 'RBAC principal filter_state is not supported');
      return NOBODY;
  }
  ctx.err(field, 'principal sets no identifier');
  return NOBODY;
}

function policy(name: string, v: unknown, ctx: Ctx, field: string): RbacPolicyConfig {
  const o = obj(v) ?? {};
  if (o.condition !== undefined || o.checked_condition !== undefined) {
    ctx.err(`${field}.${o.condition !== undefined ? 'condition' : 'checked_condition'}`, 'CEL policy conditions are not supported');
  }
  const perms = arr(o.permissions);
  const ids = arr(o.principals);
  if (perms.length === 0) ctx.err(`${field}.permissions`, 'needs at least one permission');
  if (ids.length === 0) ctx.err(`${field}.principals`, 'needs at least one principal');
  return {
    name,
    permissions: perms.map((p, i) => permission(p, ctx, `${field}.permissions[${i}]`)),
    principals: ids.map((p, i) => principal(p, ctx, `${field}.principals[${i}]`)),
  };
}

const ACTIONS = ['ALLOW', 'DENY', 'LOG'] as const;
const ENFORCEMENT = ['ONE_TIME_ON_FIRST_BYTE', 'CONTINUOUS'] as const;

/** config.rbac.v3.RBAC. */
function rbacRules(v: unknown, ctx: Ctx, field: string): RbacRulesConfig {
  const o = obj(v) ?? {};
  const action = o.action === undefined ? 'ALLOW' : enumName(o.action, ACTIONS);
  if (!action) ctx.err(`${field}.action`, `unknown action ${JSON.stringify(o.action)}`);
  const al = obj(o.audit_logging_options);
  if (al) {
    arr(al.logger_configs).forEach((l, i) => {
      if (obj(l)?.is_optional !== true) ctx.err(`${field}.audit_logging_options.logger_configs[${i}]`, 'RBAC audit loggers are not supported (set is_optional to skip)');
    });
  }
  const policies = Object.keys(obj(o.policies) ?? {}).sort().map((name) => policy(name, (o.policies as Obj)[name], ctx, `${field}.policies[${JSON.stringify(name)}]`));
  return { action: action ?? 'ALLOW', policies };
}

/** envoy.extensions.filters.http.rbac.v3.RBAC. */
export function decodeHttpRbac(v: Obj, ctx: Ctx, field: string): RbacConfig {
  for (const k of ['matcher', 'shadow_matcher'] as const) {
    if (v[k] !== undefined) ctx.err(`${field}.${k}`, `RBAC ${k} (unified matcher API) is not supported; use rules / shadow_rules`);
  }
  const out: RbacConfig = { statPrefix: str(v.rules_stat_prefix) ?? '', shadowStatPrefix: str(v.shadow_rules_stat_prefix) ?? '' };
  if (v.rules !== undefined) out.rules = rbacRules(v.rules, ctx, `${field}.rules`);
  if (v.shadow_rules !== undefined) out.shadowRules = rbacRules(v.shadow_rules, ctx, `${field}.shadow_rules`);
  return out;
}

/** envoy.extensions.filters.network.rbac.v3.RBAC. */
export function decodeNetworkRbac(v: Obj, ctx: Ctx, field: string): RbacConfig {
  for (const k of ['matcher', 'shadow_matcher', 'delay_deny'] as const) {
    if (v[k] !== undefined) ctx.err(`${field}.${k}`, `network RBAC ${k} is not supported`);
  }
  const statPrefix = str(v.stat_prefix) ?? '';
  if (!statPrefix) ctx.err(`${field}.stat_prefix`, 'must not be empty');
  const enf = v.enforcement_type === undefined ? 'ONE_TIME_ON_FIRST_BYTE' : enumName(v.enforcement_type, ENFORCEMENT);
  if (!enf) ctx.err(`${field}.enforcement_type`, `unknown enforcement type ${JSON.stringify(v.enforcement_type)}`);
  const out: RbacConfig = { statPrefix, shadowStatPrefix: str(v.shadow_rules_stat_prefix) ?? '', enforcement: enf ?? 'ONE_TIME_ON_FIRST_BYTE' };
  if (v.rules !== undefined) out.rules = rbacRules(v.rules, ctx, `${field}.rules`);
  if (v.shadow_rules !== undefined) out.shadowRules = rbacRules(v.shadow_rules, ctx, `${field}.shadow_rules`);
  return out;
}
