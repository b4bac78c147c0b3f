// config/validation: Istio's rules for one VirtualService HTTP route (conflicts, matches, headers, CORS, fault,
// redirect, direct response, retries, rewrite, mirrors, destinations).
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, has, isPlainObject, key, p } from './context.ts';
import { checkDestination, checkLabels } from './common.ts';
import { parseGoDuration } from '../../common/duration.ts';
import { GRPC_STATUS, headerValueProblem, isDNS1123Label, isHeaderName, PSEUDO_HEADERS, regexProblem } from './values.ts';
import { checkGatewayNames } from './vs-common.ts';

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);
const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
/** HTTP status codes with a registered meaning (what Go's StatusText knows). */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424,
  425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

const isAuthorityHeader = (h: string): boolean => h.toLowerCase() === ':authority' || h.toLowerCase() === 'host';
const isInternalHeader = (h: string): boolean => h.startsWith(':') || h.toLowerCase() === 'host';

export function isJwtClaimRoute(name: string): boolean {
  return /^@request\.auth\.claims(\.[^.\[\]]+|(\[[^\[\]]+\])+)+$/.test(name) || /^@request\.auth\.claims\./.test(name);
}

function checkStringMatch(sm: unknown, path: string, issues: Issues, regexOnly = false): void {
  if (!isPlainObject(sm)) return;
  if (!regexOnly && sm.prefix === '') issues.error(p(path, 'prefix'), 'prefix string match should not be empty');
  if (typeof sm.regex === 'string') {
    if (sm.regex === '') issues.error(p(path, 'regex'), 'regex string match should not be empty');
    else {
      const prob = regexProblem(sm.regex);
      if (prob) issues.error(p(path, 'regex'), prob);
    }
  }
}

function checkHeaderOps(h: unknown, path: string, issues: Issues): void {
  const req = asObj(asObj(h).request);
  const resp = asObj(asObj(h).response);
  for (const op of ['add', 'set'] as const) {
    for (const [name, val] of Object.entries(asObj(req[op]))) {
      const kp = key(`${path}.request.${op}`, name);
      if (isInternalHeader(name) && !isAuthorityHeader(name)) issues.error(kp, `invalid header "${name}": header cannot have ":" prefix`);
      if (typeof val === 'string') {
        const prob = headerValueProblem(val);
        if (prob) issues.error(kp, prob);
      }
    }
    for (const [name, val] of Object.entries(asObj(resp[op]))) {
      const kp = key(`${path}.response.${op}`, name);
      const prob = headerOpNameProblem(name);
      if (prob) issues.error(kp, prob);
      if (typeof val === 'string') {
        const vp = headerValueProblem(val);
        if (vp) issues.error(kp, vp);
      }
    }
  }
  for (const [where, o] of [['request', req], ['response', resp]] as const) {
    asArr(o.remove).forEach((name, i) => {
      if (typeof name !== 'string') return;
      const prob = headerOpNameProblem(name);
      if (prob) issues.error(`${path}.${where}.remove[${i}]`, prob);
    });
  }
}

function headerOpNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (name.toLowerCase() === 'host') return `invalid header "${name}": cannot set Host header`;
  if (isInternalHeader(name)) return `invalid header "${name}": header cannot have ":" prefix`;
  return undefined;
}

function checkPercentage(pc: unknown, path: string, issues: Issues): void {
  const v = asNum(asObj(pc).value);
  if (v === undefined) return;
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) issues.error(p(path, 'value'), `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`);
}

/** Rules for spec.http[i]. `delegate` says the VirtualService is itself a delegate (it has no hosts). */
export function checkHTTPRoute(r: Record<string, any>, path: string, isDelegateVS: boolean, issues: Issues): void {
  const routes = asArr(r.route);
  const isRoot = has(r, 'delegate') && !isDelegateVS;
  // Conflicts: a route does exactly one thing.
  if (isRoot) {
    if (has(r, 'redirect')) issues.error(p(path, 'redirect'), `root HTTP route ${r.name ?? ''} must not specify redirect`.replace('  ', ' '));
    if (has(r, 'route')) issues.error(p(path, 'route'), `root HTTP route ${r.name ?? ''} must not specify route`.replace('  ', ' '));
  } else {
    if (isDelegateVS && has(r, 'delegate')) issues.error(p(path, 'delegate'), 'delegate HTTP route cannot contain delegate');
    if (has(r, 'redirect')) {
      if (routes.length > 0) issues.error(p(path, 'redirect'), 'HTTP route cannot contain both route and redirect');
      if (has(r, 'fault')) issues.error(p(path, 'fault'), 'HTTP route cannot contain both fault and redirect');
      if (has(r, 'rewrite')) issues.error(p(path, 'rewrite'), 'HTTP route rule cannot contain both rewrite and redirect');
      if (has(r, 'directResponse')) issues.error(p(path, 'directResponse'), 'HTTP route rule cannot contain both directResponse and redirect');
    } else if (has(r, 'directResponse')) {
      if (routes.length > 0) issues.error(p(path, 'directResponse'), 'HTTP route cannot contain both route and directResponse');
      if (has(r, 'fault')) issues.error(p(path, 'fault'), 'HTTP route cannot contain both fault and directResponse');
      if (has(r, 'rewrite')) issues.error(p(path, 'rewrite'), 'HTTP route rule cannot contain both rewrite and directResponse');
    } else if (routes.length === 0) {
      issues.error(p(path, 'route'), 'HTTP route, redirect or directResponse is required');
    }
  }
  if (has(r, 'mirror') && asArr(r.mirrors).length > 0) issues.error(p(path, 'mirrors'), 'HTTP route cannot contain both mirror and mirrors');

  // Matches.
  asArr(r.match).forEach((m, i) => {
    if (!isPlainObject(m)) return;
    const mp = `${path}.match[${i}]`;
    for (const [field, regexOnly] of [['headers', false], ['withoutHeaders', false]] as const) {
      for (const [name, sm] of Object.entries(asObj(m[field]))) {
        const kp = key(`${mp}.${field}`, name);
        if (sm === null) issues.error(kp, `header match ${name} cannot be null`);
        if (name === '') issues.error(kp, 'header name cannot be empty');
        else if (!isJwtClaimRoute(name) && !PSEUDO_HEADERS.has(name) && !isHeaderName(name)) issues.error(kp, `header name ${name} is not a valid header name`);
        if (field === 'withoutHeaders' && asObj(sm).regex === '*') continue;
        checkStringMatch(sm, kp, issues, regexOnly);
      }
    }
    checkStringMatch(m.uri, `${mp}.uri`, issues, true);
    for (const f of ['scheme', 'method', 'authority']) checkStringMatch(m[f], `${mp}.${f}`, issues);
    for (const [name, sm] of Object.entries(asObj(m.queryParams))) checkStringMatch(sm, key(`${mp}.queryParams`, name), issues);
    if (isDelegateVS || isRoot) {
      for (const f of ['uri', 'scheme', 'method', 'authority']) if (has(asObj(m[f]), 'regex')) issues.error(`${mp}.${f}.regex`, `${f} match does not support regex match for delegating`);
    }
    const port = asNum(m.port);
    if (port !== undefined && port !== 0 && (port < 1 || port > 65535)) issues.error(`${mp}.port`, `port must be between 1-65535 (got ${port})`);
    checkLabels(m.sourceLabels, `${mp}.sourceLabels`, issues);
    checkGatewayNames(m.gateways, `${mp}.gateways`, issues);
    const sns = asStr(m.sourceNamespace);
    if (sns && !isDNS1123Label(sns)) issues.error(`${mp}.sourceNamespace`, `sourceNamespace match ${sns} is invalid`);
  });

  checkHeaderOps(r.headers, p(path, 'headers'), issues);
  checkCors(r.corsPolicy, p(path, 'corsPolicy'), issues);
  checkFault(r.fault, p(path, 'fault'), issues);

  for (const f of ['mirrorPercent', 'mirror_percent']) {
    if (!has(r, f)) continue;
    const v = asNum(r[f]);
    if (v !== undefined && v > 100) issues.error(p(path, f), `mirror_percent must have a max value of 100 (it has ${v})`);
    issues.warn(p(path, f), `using deprecated setting "${f}", use "mirrorPercentage" instead`);
  }
  const mpv = asNum(asObj(r.mirrorPercentage).value);
  if (mpv !== undefined && (mpv < 0 || mpv > 100)) issues.error(p(path, 'mirrorPercentage.value'), `mirror percentage must be in range 0..100 (it has ${mpv})`);
  checkDestination(r.mirror, p(path, 'mirror'), issues);
  asArr(r.mirrors).forEach((m, i) => {
    checkDestination(asObj(m).destination, `${path}.mirrors[${i}].destination`, issues);
    const v = asNum(asObj(asObj(m).percentage).value);
    if (v !== undefined && (v < 0 || v > 100)) issues.error(`${path}.mirrors[${i}].percentage.value`, `mirror percentage must be in range 0..100 (it has ${v})`);
  });

  checkRedirect(r.redirect, asArr(r.match), p(path, 'redirect'), issues);
  checkDirectResponse(r.directResponse, p(path, 'directResponse'), issues);
  checkRetries(r.retries, p(path, 'retries'), issues);
  checkRewrite(r.rewrite, p(path, 'rewrite'), issues);
  // Authority may be rewritten in one place only.
  let authority = asStr(asObj(r.rewrite).authority) ?? '';
  const req = asObj(asObj(r.headers).request);
  for (const op of ['set', 'add']) {
    for (const [k, v] of Object.entries(asObj(req[op]))) {
      if (!isAuthorityHeader(k)) continue;
      if (authority !== '') issues.error(key(`${path}.headers.request.${op}`, k), `authority header cannot be set multiple times: have "${authority}", attempting to set "${String(v)}"`);
      authority = String(v);
    }
  }
  checkRouteDestinations(routes, p(path, 'route'), issues, true);
}

function checkCors(c: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(c)) return;
  asArr(c.allowOrigins).forEach((o, i) => {
    const op = `${path}.allowOrigins[${i}]`;
    const obj = asObj(o);
    const match = asStr(obj.exact) ?? asStr(obj.prefix) ?? asStr(obj.regex) ?? '';
    if (match === '') issues.error(op, `'${match}' is not a valid match type for CORS allow origins`);
    else checkStringMatch(o, op, issues, true);
  });
  asArr(c.allowMethods).forEach((m, i) => {
    if (typeof m === 'string' && !CORS_METHODS.has(m)) issues.error(`${path}.allowMethods[${i}]`, `"${m}" is not a supported HTTP method`);
  });
  for (const f of ['allowHeaders', 'exposeHeaders']) {
    asArr(c[f]).forEach((h, i) => {
      if (typeof h !== 'string') return;
      if (h === '') issues.error(`${path}.${f}[${i}]`, 'header name cannot be empty');
      else if (h !== '*' && !isHeaderName(h)) issues.error(`${path}.${f}[${i}]`, `header name ${h} is not a valid header name`);
    });
  }
  const maxAge = parseGoDuration(c.maxAge);
  if (maxAge !== undefined && maxAge % 1e9 !== 0) issues.error(p(path, 'maxAge'), 'maxAge duration is accurate only to seconds precision');
}

function checkFault(f: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(f)) return;
  if (!has(f, 'abort') && !has(f, 'delay')) issues.error(path, 'HTTP fault injection must have an abort and/or a delay');
  if (isPlainObject(f.abort)) {
    const a = f.abort;
    checkPercentage(a.percentage, p(path, 'abort.percentage'), issues);
    if (has(a, 'grpcStatus')) {
      if (typeof a.grpcStatus === 'string' && !GRPC_STATUS.has(a.grpcStatus)) issues.error(p(path, 'abort.grpcStatus'), `gRPC status "${a.grpcStatus}" is not supported, use a name such as NOT_FOUND`);
    } else if (has(a, 'http2Error')) issues.error(p(path, 'abort.http2Error'), 'HTTP/2 abort fault injection not supported yet');
    else if (has(a, 'httpStatus')) {
      const s = asNum(a.httpStatus);
      if (s !== undefined && (s < 200 || s > 600)) issues.error(p(path, 'abort.httpStatus'), `HTTP status ${s} is not in range 200-599`);
    } else issues.warn(p(path, 'abort'), 'abort configured, but error type not set');
  }
  if (isPlainObject(f.delay)) {
    checkPercentage(f.delay.percentage, p(path, 'delay.percentage'), issues);
    if (has(f.delay, 'exponentialDelay')) issues.error(p(path, 'delay.exponentialDelay'), 'exponentialDelay not supported yet');
  }
}

function checkRedirect(rd: unknown, matches: unknown[], path: string, issues: Issues): void {
  if (!isPlainObject(rd)) return;
  if (rd.uri && rd.prefixRewrite) {
    issues.error(p(path, 'prefixRewrite'), 'redirect may only specify one of uri or prefixRewrite');
    return;
  }
  if (rd.prefixRewrite) {
    for (const m of matches) {
      const uri = asObj(m).uri;
      if (isPlainObject(uri) && !has(uri, 'prefix')) {
        issues.error(p(path, 'prefixRewrite'), 'redirect prefixRewrite requires all URI matches to use prefix match type');
        return;
      }
    }
  }
  if (!rd.uri && !rd.prefixRewrite && !rd.authority && !has(rd, 'port') && !has(rd, 'derivePort') && !rd.scheme) {
    issues.error(path, 'redirect must specify URI, authority, scheme, or port');
    return;
  }
  const code = asNum(rd.redirectCode);
  if (code !== undefined && code !== 0 && (code < 300 || code > 399)) issues.error(p(path, 'redirectCode'), `${code} is not a valid redirect code, must be 3xx`);
  if (rd.scheme && rd.scheme !== 'http' && rd.scheme !== 'https') issues.error(p(path, 'scheme'), 'invalid redirect scheme, must be "http" or "https"');
  const port = asNum(rd.port);
  if (port !== undefined && port > 65535) issues.error(p(path, 'port'), `port must be between 1-65535 (got ${port})`);
}

function checkDirectResponse(dr: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(dr)) return;
  const body = asObj(dr.body);
  let size = 0;
  if (typeof body.string === 'string') size = Buffer.byteLength(body.string);
  if (typeof body.bytes === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.bytes) || body.bytes.length % 4 !== 0) issues.error(p(path, 'body.bytes'), 'bytes must be base64-encoded');
    size = Buffer.from(body.bytes, 'base64').length;
  }
  if (size > 1024 * 1024) issues.error(p(path, 'body'), 'large direct_responses may impact control plane performance, must be less than 1MB');
  else if (size > 100 * 1024) issues.warn(p(path, 'body'), 'large direct_responses may impact control plane performance');
  const s = asNum(dr.status);
  if (s !== undefined && (s < 200 || s > 600)) issues.error(p(path, 'status'), `HTTP status ${s} is not in range 200-599`);
}

/** Shared with mesh config's default retry policy. */
export function checkRetries(rt: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(rt)) return;
  const attempts = asNum(rt.attempts) ?? 0;
  if (attempts < 0) issues.error(p(path, 'attempts'), 'attempts cannot be negative');
  if (attempts === 0 && (has(rt, 'perTryTimeout') || (rt.retryOn ?? '') !== '' || has(rt, 'retryRemoteLocalities'))) {
    issues.error(p(path, 'attempts'), 'http retry policy configured when attempts are set to 0 (disabled)');
  }
  if (typeof rt.retryOn === 'string' && rt.retryOn !== '') {
    for (const pol of rt.retryOn.split(',')) {
      const n = /^\d+$/.test(pol) ? Number(pol) : NaN;
      if (!KNOWN_STATUS.has(n) && !RETRY_ON.has(pol)) issues.error(p(path, 'retryOn'), `"${pol}" is not a valid retryOn policy`);
    }
  }
}

function checkRewrite(rw: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(rw)) return;
  if (rw.uri && has(rw, 'uriRegexRewrite')) {
    issues.error(p(path, 'uriRegexRewrite'), 'rewrite may only contain one of URI or UriRegexRewrite');
    return;
  }
  if (!rw.uri && !has(rw, 'uriRegexRewrite') && !rw.authority) {
    issues.error(path, 'rewrite must specify at least one of URI, UriRegexRewrite, or authority');
    return;
  }
  if (isPlainObject(rw.uriRegexRewrite)) {
    const rr = rw.uriRegexRewrite;
    if (!rr.match || !rr.rewrite) issues.error(p(path, 'uriRegexRewrite'), 'UriRegexRewrite requires both Rewrite and Match fields to be specified');
    else if (typeof rr.match === 'string') {
      const prob = regexProblem(rr.match);
      if (prob) issues.error(p(path, 'uriRegexRewrite.match'), prob);
    }
  }
}

/** Weighted destinations of HTTP, TLS and TCP routes. */
export function checkRouteDestinations(routes: unknown[], path: string, issues: Issues, http: boolean): void {
  let total = 0;
  let weighted = 0;
  routes.forEach((rd, i) => {
    const rp = `${path}[${i}]`;
    if (!isPlainObject(rd)) {
      if (rd === null) issues.error(rp, 'weight may not be nil');
      return;
    }
    if (http) checkHeaderOps(rd.headers, `${rp}.headers`, issues);
    checkDestination(rd.destination, `${rp}.destination`, issues);
    const w = asNum(rd.weight) ?? 0;
    if (w < 0) issues.error(`${rp}.weight`, `weight ${w} < 0`);
    if (has(rd, 'weight')) weighted++;
    total += w;
  });
  if (routes.length > 1 && total === 0) issues.error(path, 'total destination weight = 0');
  else if (routes.length > 1 && weighted > 0 && total !== 100) issues.warn(path, `destination weights sum to ${total}, not 100; they are applied in proportion`);
}
