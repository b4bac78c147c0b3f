// config/validation: AuthorizationPolicy — schema and Istio's rules for actions, providers, sources, operations
// and conditions.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asObj, has, isPlainObject, p } from './context.ts';
import { arr, enm, obj, str, strs, type Schema } from './schema.ts';
import { checkPolicyTargets, policyTargetReference, policyTargetReferences, typeWorkloadSelector } from './common.ts';
import { cidrProblem } from './values.ts';

const serviceAccounts = arr(str({ maxLength: 320 }), { maxItems: 16 });
const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'trustDomains', 'notTrustDomains'];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];

export const authorizationPolicySpec: Schema = obj({
  selector: typeWorkloadSelector,
  targetRef: policyTargetReference,
  targetRefs: policyTargetReferences,
  rules: arr(
    obj({
      from: arr(obj({ source: obj({ ...Object.fromEntries(SOURCE_FIELDS.map((f) => [f, strs])), serviceAccounts, notServiceAccounts: serviceAccounts }) }), { maxItems: 512 }),
      to: arr(obj({ operation: obj(Object.fromEntries(OPERATION_FIELDS.map((f) => [f, strs]))) })),
      when: arr(obj({ key: str(), values: strs, notValues: strs }, { required: ['key'] })),
    }),
    { maxItems: 512 },
  ),
  action: enm(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']),
  provider: obj({ name: str() }),
});

function emptyValue(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (v === '') issues.error(`${path}[${i}]`, 'empty value not allowed');
  });
}

function wildcardValues(list: unknown, path: string, issues: Issues, trustDomain = false): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string') return;
    const n = v.split('*').length - 1;
    if (n > 1) issues.error(`${path}[${i}]`, `at most one wildcard is allowed: "${v}"`);
    else if (n === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*')) issues.error(`${path}[${i}]`, `wildcard is only allowed at the start or end: "${v}"`);
    if (trustDomain && v.includes('/')) issues.error(`${path}[${i}]`, `trust domain must not contain '/': "${v}"`);
  });
}

function serviceAccountValues(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string') return;
    const ip = `${path}[${i}]`;
    if (v.includes('*')) issues.error(ip, 'wildcard not allowed in service accounts');
    const parts = v.split('/');
    if (parts.length > 2) issues.error(ip, `expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}"`);
    else if (parts.some((x) => x === '')) issues.error(ip, `expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}"`);
  });
}

function ipValues(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string' || v === '') return;
    const prob = cidrProblem(v);
    if (prob) issues.error(`${path}[${i}]`, v.includes('/') ? `bad CIDR range (${v})` : `bad IP address (${v})`);
  });
}

function portValues(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string' || v === '') return;
    if (!/^\d+$/.test(v) || Number(v) > 65535) issues.error(`${path}[${i}]`, `bad port (${v})`);
  });
}

/** Path templates: "{*}" matches one segment, "{**}" the rest (last only); other braces are invalid. */
function pathTemplates(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string') return;
    const hasTemplate = v.includes('{*}') || v.includes('{**}');
    let anySeen = false;
    for (const glob of v.replace(/^\/+|\/+$/g, '').split('/')) {
      if ((glob === '{*}' || glob === '{**}') && anySeen) {
        issues.error(`${path}[${i}]`, `invalid or unsupported path ${v}: {**} is not the last operator`);
        return;
      }
      if (glob === '{**}') { anySeen = true; continue; }
      if (glob === '{*}') continue;
      if (/[{}]/.test(glob)) {
        issues.error(`${path}[${i}]`, `invalid or unsupported path ${v}: contains '{' or '}' beyond a supported path template`);
        return;
      }
      if (hasTemplate && !/^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/.test(glob)) {
        issues.error(`${path}[${i}]`, `invalid or unsupported path ${v}: contains segment ${glob} with invalid string literal`);
        return;
      }
    }
  });
}

const mapKey = (k: string): boolean => {
  const open = k.indexOf('[');
  return k.endsWith(']') && open > 0 && open < k.length - 2;
};

/** What Istio accepts as `when` keys, and the values each takes. */
function checkCondition(key: string, w: Record<string, any>, path: string, issues: Issues): void {
  const badKey = (m: string) => issues.error(p(path, 'key'), m);
  if (key.startsWith('request.headers') || key.startsWith('request.auth.claims') || key.startsWith('experimental.envoy.filters.')) {
    if (!mapKey(key)) badKey(`bad key (${key}): should have format a[b]`);
    return;
  }
  const each = (f: (list: unknown, path: string, issues: Issues) => void) => {
    f(w.values, p(path, 'values'), issues);
    f(w.notValues, p(path, 'notValues'), issues);
  };
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return each(ipValues);
    case 'destination.port':
      return each(portValues);
    case 'source.serviceAccount':
      return each(serviceAccountValues);
    case 'source.trustDomain':
      return each(wildcardValues);
    case 'source.namespace':
    case 'source.principal':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'connection.sni':
      return;
    case 'destination.namespace':
      return badKey(`attribute ${key} is replaced by the metadata.namespace`);
    case 'destination.name':
    case 'destination.user':
      return badKey(`deprecated attribute ${key}: only supported in v1alpha1`);
  }
  if (key.startsWith('destination.labels')) return badKey(`attribute ${key} is replaced by the workload selector`);
  badKey(`unknown attribute: ${key}`);
}

export function checkAuthorizationPolicy(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  checkPolicyTargets(spec, issues);
  const action = spec.action ?? 'ALLOW';
  const rules = spec.rules;
  if (action === 'CUSTOM') {
    if (rules === undefined || rules === null) issues.error('spec.rules', 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request');
    else if (!asObj(spec.provider).name) issues.error('spec.provider.name', '`provider.name` must not be empty');
    asArr(rules).forEach((r, i) => {
      asArr(asObj(r).from).forEach((f, j) => {
        const src = asObj(asObj(f).source);
        for (const fld of ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals']) {
          if (asArr(src[fld]).length > 0) issues.error(`spec.rules[${i}].from[${j}].source.${fld}`, `from.${fld} is currently not supported with CUSTOM action`);
        }
      });
      asArr(asObj(r).when).forEach((w, j) => {
        const k = asObj(w).key;
        if (typeof k === 'string' && (['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(k) || k.startsWith('request.auth.'))) {
          issues.error(`spec.rules[${i}].when[${j}].key`, `${k} is currently not supported with CUSTOM action`);
        }
      });
    });
  }
  if (has(spec, 'provider') && action !== 'CUSTOM') issues.error('spec.provider', `\`provider\` must not be with non CUSTOM action, found ${action}`);
  if (action === 'DENY' && (rules === undefined || rules === null)) issues.error('spec.rules', 'DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request');

  asArr(rules).forEach((r, i) => {
    const rp = `spec.rules[${i}]`;
    if (!isPlainObject(r)) {
      if (r === null) issues.error(rp, '`rule` must not be nil');
      return;
    }
    if (Array.isArray(r.from) && r.from.length === 0) issues.error(`${rp}.from`, '`from` must not be empty');
    let fromExist = false;
    let toExist = false;
    let tcpInFrom = false;
    let tcpInTo = false;
    asArr(r.from).forEach((f, j) => {
      const fp = `${rp}.from[${j}]`;
      if (!isPlainObject(f)) {
        if (f === null) issues.error(fp, '`from` must not be nil');
        return;
      }
      if (!isPlainObject(f.source)) {
        issues.error(`${fp}.source`, '`from.source` must not be nil');
        return;
      }
      const src = f.source;
      const sp = `${fp}.source`;
      fromExist = true;
      const n = (k: string) => asArr(src[k]).length;
      if (n('principals') + n('notPrincipals') + n('namespaces') + n('notNamespaces') > 0 && n('serviceAccounts') + n('notServiceAccounts') > 0) {
        issues.error(`${sp}.${n('serviceAccounts') > 0 ? 'serviceAccounts' : 'notServiceAccounts'}`, 'Cannot set serviceAccounts with namespaces or principals');
      }
      if (![...SOURCE_FIELDS, 'serviceAccounts', 'notServiceAccounts'].some((k) => n(k) > 0)) issues.error(sp, '`from.source` must not be empty');
      for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) ipValues(src[k], `${sp}.${k}`, issues);
      for (const k of SOURCE_FIELDS) emptyValue(src[k], `${sp}.${k}`, issues);
      for (const k of ['serviceAccounts', 'notServiceAccounts']) {
        emptyValue(src[k], `${sp}.${k}`, issues);
        serviceAccountValues(src[k], `${sp}.${k}`, issues);
      }
      for (const k of ['trustDomains', 'notTrustDomains']) wildcardValues(src[k], `${sp}.${k}`, issues, true);
      if (['principals', 'notPrincipals', 'ipBlocks', 'notIpBlocks', 'namespaces', 'notNamespaces', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts'].some((k) => has(src, k))) tcpInFrom = true;
    });
    if (Array.isArray(r.to) && r.to.length === 0) issues.error(`${rp}.to`, '`to` must not be empty');
    asArr(r.to).forEach((t, j) => {
      const tp = `${rp}.to[${j}]`;
      if (!isPlainObject(t)) {
        if (t === null) issues.error(tp, '`to` must not be nil');
        return;
      }
      if (!isPlainObject(t.operation)) {
        issues.error(`${tp}.operation`, '`to.operation` must not be nil');
        return;
      }
      const op = t.operation;
      const opp = `${tp}.operation`;
      toExist = true;
      if (!OPERATION_FIELDS.some((k) => asArr(op[k]).length > 0)) issues.error(opp, '`to.operation` must not be empty');
      portValues(op.ports, `${opp}.ports`, issues);
      portValues(op.notPorts, `${opp}.notPorts`, issues);
      for (const k of OPERATION_FIELDS) emptyValue(op[k], `${opp}.${k}`, issues);
      pathTemplates(op.paths, `${opp}.paths`, issues);
      pathTemplates(op.notPaths, `${opp}.notPaths`, issues);
      if (has(op, 'ports') || has(op, 'notPorts')) tcpInTo = true;
    });
    asArr(r.when).forEach((w, j) => {
      const wp = `${rp}.when[${j}]`;
      if (!isPlainObject(w) || typeof w.key !== 'string') return;
      if (w.key === '') {
        issues.error(`${wp}.key`, '`key` must not be empty');
        return;
      }
      if (asArr(w.values).length === 0 && asArr(w.notValues).length === 0) {
        issues.error(wp, `at least one of \`values\` or \`notValues\` must be set for key ${w.key}`);
        return;
      }
      emptyValue(w.values, `${wp}.values`, issues);
      emptyValue(w.notValues, `${wp}.notValues`, issues);
      checkCondition(w.key, w, wp, issues);
    });
    if (action === 'DENY' && ((fromExist && !toExist && !tcpInFrom) || (toExist && !tcpInTo))) {
      issues.warn(rp, 'this DENY rule uses only HTTP attributes, so it denies all traffic to TCP ports in its scope; specify the ports explicitly');
    }
  });
}
