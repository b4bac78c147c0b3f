// config/validation: DestinationRule traffic policy — schema and Istio's rules for connection pools, load balancing,
// outlier detection, client TLS, tunnels and per-port settings (also used by Sidecar's inbound connection pool).
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, has, isPlainObject, p } from './context.ts';
import { arr, durAny, enm, num, obj, str, uint32, type Schema } from './schema.ts';
import { clientTLS, connectionPool, loadBalancer, outlierDetection, portSelector } from './common.ts';
import { fqdnProblem, isIPAddress } from './values.ts';

const portTrafficPolicy: Schema = obj({ port: portSelector, loadBalancer, connectionPool, outlierDetection, tls: clientTLS });

export const trafficPolicy: Schema = obj({
  loadBalancer,
  connectionPool,
  outlierDetection,
  tls: clientTLS,
  portLevelSettings: arr(portTrafficPolicy, { maxItems: 4096 }),
  tunnel: obj({ protocol: str(), targetHost: str(), targetPort: uint32 }, { required: ['targetHost', 'targetPort'] }),
  proxyProtocol: obj({ version: enm(['V1', 'V2']) }),
  retryBudget: obj({ percent: num({ min: 0, max: 100 }), minRetryConcurrency: uint32, budgetInterval: durAny }),
});

const TP_FIELDS = ['outlierDetection', 'connectionPool', 'loadBalancer', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'];

export function checkTrafficPolicy(tp: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(tp)) return;
  if (!TP_FIELDS.some((f) => has(tp, f))) {
    issues.error(path, 'traffic policy must have at least one field');
    return;
  }
  if (has(tp, 'tunnel') && has(tp, 'proxyProtocol')) issues.error(p(path, 'proxyProtocol'), 'tunnel and proxyProtocol must not be set together');
  checkOutlier(tp.outlierDetection, p(path, 'outlierDetection'), issues);
  checkConnectionPool(tp.connectionPool, p(path, 'connectionPool'), issues);
  checkLoadBalancer(tp.loadBalancer, has(tp, 'outlierDetection'), p(path, 'loadBalancer'), issues);
  checkClientTLS(tp.tls, p(path, 'tls'), issues);
  asArr(tp.portLevelSettings).forEach((pl, i) => {
    const pp = `${path}.portLevelSettings[${i}]`;
    if (!isPlainObject(pl)) return;
    if (!has(pl, 'port')) issues.error(p(pp, 'port'), 'portTrafficPolicy must have valid port');
    if (!['outlierDetection', 'connectionPool', 'loadBalancer', 'tls'].some((f) => has(pl, f))) {
      issues.error(pp, 'port traffic policy must have at least one field');
      return;
    }
    checkOutlier(pl.outlierDetection, p(pp, 'outlierDetection'), issues);
    checkConnectionPool(pl.connectionPool, p(pp, 'connectionPool'), issues);
    checkLoadBalancer(pl.loadBalancer, has(pl, 'outlierDetection'), p(pp, 'loadBalancer'), issues);
    checkClientTLS(pl.tls, p(pp, 'tls'), issues);
  });
  if (isPlainObject(tp.tunnel)) {
    const t = tp.tunnel;
    const proto = asStr(t.protocol);
    if (proto && proto !== 'CONNECT' && proto !== 'POST') issues.error(p(path, 'tunnel.protocol'), 'tunnel protocol must be "CONNECT" or "POST"');
    const host = asStr(t.targetHost);
    if (host !== undefined && !isIPAddress(host) && fqdnProblem(host)) issues.error(p(path, 'tunnel.targetHost'), `tunnel target host must be valid FQDN or IP address: ${host}`);
    const tport = asNum(t.targetPort);
    if (tport !== undefined && (tport < 1 || tport > 65535)) issues.error(p(path, 'tunnel.targetPort'), `tunnel target port is invalid: port must be between 1-65535 (got ${tport})`);
  }
}

function checkPercent(v: unknown, path: string, issues: Issues): void {
  const n = asNum(v);
  if (n !== undefined && (n < 0 || n > 100)) issues.error(path, `percentage ${n} is not in range 0..100`);
}

function checkOutlier(od: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(od)) return;
  if (asNum(od.consecutiveErrors)) issues.warn(p(path, 'consecutiveErrors'), 'outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead');
  if (od.splitExternalLocalOriginErrors !== true && (asNum(od.consecutiveLocalOriginFailures) ?? 0) > 0) {
    issues.error(p(path, 'consecutiveLocalOriginFailures'), 'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false');
  }
  checkPercent(od.maxEjectionPercent, p(path, 'maxEjectionPercent'), issues);
  checkPercent(od.minHealthPercent, p(path, 'minHealthPercent'), issues);
}

export function checkConnectionPool(cp: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(cp)) return;
  if (!has(cp, 'http') && !has(cp, 'tcp')) {
    issues.error(path, 'connection pool must have at least one field');
    return;
  }
  const h = asObj(cp.http);
  for (const f of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'maxConcurrentStreams']) {
    if ((asNum(h[f]) ?? 0) < 0) issues.error(p(path, `http.${f}`), `${f} must be non-negative`);
  }
  if (h.h2UpgradePolicy === 'UPGRADE' && h.useClientProtocol === true) issues.error(p(path, 'http.useClientProtocol'), 'use client protocol must not be true when H2UpgradePolicy is UPGRADE');
  if (isPlainObject(h.http2KeepAlive)) {
    if (!has(h.http2KeepAlive, 'interval')) issues.error(p(path, 'http.http2KeepAlive.interval'), 'http2 keepalive interval is required');
    if (!has(h.http2KeepAlive, 'timeout')) issues.error(p(path, 'http.http2KeepAlive.timeout'), 'http2 keepalive timeout is required');
  }
  const t = asObj(cp.tcp);
  if ((asNum(t.maxConnections) ?? 0) < 0) issues.error(p(path, 'tcp.maxConnections'), 'max connections must be non-negative');
}

const TOPOLOGY_LABELS = new Set(['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']);

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

function checkLoadBalancer(lb: unknown, hasOutlier: boolean, path: string, issues: Issues): void {
  if (!isPlainObject(lb)) return;
  const ch = lb.consistentHash;
  if (isPlainObject(ch)) {
    const cp = p(path, 'consistentHash');
    if (isPlainObject(ch.httpCookie)) {
      if (ch.httpCookie.name === '') issues.error(`${cp}.httpCookie.name`, 'name required for HttpCookie');
      const seen = new Set<string>();
      asArr(ch.httpCookie.attributes).forEach((a, i) => {
        const n = asStr(asObj(a).name);
        if (n === undefined) return;
        if (n === '') issues.error(`${cp}.httpCookie.attributes[${i}].name`, 'cookie attribute name cannot be empty');
        else if (seen.has(n)) issues.error(`${cp}.httpCookie.attributes[${i}].name`, `duplicate cookie attribute name: ${n}`);
        seen.add(n);
      });
    }
    if (asNum(ch.minimumRingSize)) {
      issues.warn(`${cp}.minimumRingSize`, "consistent hash minimumRingSize is deprecated, use ringHash's minimumRingSize instead");
      if (has(ch, 'ringHash') || has(ch, 'maglev')) issues.error(`${cp}.minimumRingSize`, 'only one of MinimumRingSize or Maglev/Ringhash can be specified');
    }
    if (isPlainObject(ch.maglev)) {
      const ts = asNum(ch.maglev.tableSize) ?? 0;
      if (ts === 0) issues.error(`${cp}.maglev.tableSize`, 'tableSize must be set for maglev');
      else if (ts >= 5000011) issues.error(`${cp}.maglev.tableSize`, 'tableSize must be less than 5000011 for maglev');
      else if (!isPrime(ts)) issues.error(`${cp}.maglev.tableSize`, 'tableSize must be a prime number for maglev');
    }
  }
  if (has(lb, 'localityLbSetting') && has(lb, 'zoneAwareLbSetting')) issues.error(p(path, 'zoneAwareLbSetting'), 'only one of localityLbSetting and zoneAwareLbSetting can be set');
  checkLocalityLb(lb.localityLbSetting, hasOutlier, p(path, 'localityLbSetting'), issues, false);
  checkLocalityLb(lb.zoneAwareLbSetting, hasOutlier, p(path, 'zoneAwareLbSetting'), issues, true);
  if (isPlainObject(lb.warmup)) {
    const ag = asNum(lb.warmup.aggression);
    if (ag !== undefined && ag === 0) issues.error(p(path, 'warmup.aggression'), 'aggression should be greater than 0');
  }
}

/** Locality load balancing: distribute weights, failover regions, locality syntax. Also used for mesh config. */
export function checkLocalityLb(ls: unknown, hasOutlier: boolean, path: string, issues: Issues, zoneAware: boolean): void {
  if (!isPlainObject(ls)) return;
  const distribute = asArr(ls.distribute);
  const failover = asArr(ls.failover);
  const priority = asArr(ls.failoverPriority).filter((x): x is string => typeof x === 'string');
  if (!zoneAware && distribute.length > 0 && failover.length > 0) {
    issues.error(path, "can not simultaneously specify 'distribute' and 'failover'");
    return;
  }
  for (const [i, l] of priority.entries()) {
    if (!TOPOLOGY_LABELS.has(l)) continue;
    if (zoneAware) issues.error(`${path}.failoverPriority[${i}]`, `'failoverPriority' for zone aware lb must not use topology label '${l}'`);
    else if (failover.length > 0) {
      issues.error(`${path}.failoverPriority[${i}]`, `can not simultaneously set 'failover' and topology label '${l}' in 'failoverPriority'`);
      return;
    }
  }
  const sources: string[] = [];
  distribute.forEach((d, i) => {
    const dp = `${path}.distribute[${i}]`;
    const from = asStr(asObj(d).from);
    if (from !== undefined) sources.push(from);
    let total = 0;
    const dests: string[] = [];
    for (const [loc, w] of Object.entries(asObj(asObj(d).to))) {
      dests.push(loc);
      const n = asNum(w) ?? 0;
      if (n <= 0 || n > 100) {
        issues.error(`${dp}.to`, 'locality weight must be in range [1, 100]');
        return;
      }
      total += n;
    }
    if (total !== 100) {
      issues.error(`${dp}.to`, `total locality weight ${total} != 100`);
      return;
    }
    const prob = localitiesProblem(dests);
    if (prob) issues.error(`${dp}.to`, prob);
  });
  const prob = localitiesProblem(sources);
  if (prob) issues.error(p(path, 'distribute'), prob);
  if ((failover.length > 0 || priority.length > 0) && !hasOutlier) issues.warn(path, 'outlier detection policy must be provided for failover');
  const what = zoneAware ? 'zone aware lb failover' : 'locality lb failover';
  failover.forEach((f, i) => {
    const from = asStr(asObj(f).from) ?? '';
    const to = asStr(asObj(f).to) ?? '';
    const fp = `${path}.failover[${i}]`;
    if (from === to) issues.error(fp, `${what} settings must specify different regions`);
    if (from.includes('/') || to.includes('/')) issues.error(fp, `${what} only specifies region`);
    if (from.includes('*') || to.includes('*')) issues.error(fp, `${what} region should not contain '*' wildcard`);
  });
}

/** region[/zone[/subzone]] with an optional trailing "*", and no overlaps between entries. */
function localitiesProblem(localities: string[]): string | undefined {
  const seen = new Map<string, Set<string>>(); // region -> zones ("*" for all), zone key "zone/sub"
  for (const loc of localities) {
    const stars = loc.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !loc.endsWith('*'))) return `locality ${loc} wildcard '*' number can not exceed 1 and must be in the end`;
    if (seen.has('*')) return `locality ${loc} overlap with previous specified ones`;
    const items = loc.split('/', 3);
    if (loc.split('/').length > 3 || items.some((x) => x === '')) return `locality ${loc} must not contain empty region/zone/subzone info`;
    const [region, zone, sub] = items as [string, string?, string?];
    const zones = seen.get(region);
    if (zone === undefined) {
      if (zones) return `locality ${loc} overlap with previous specified ones`;
      seen.set(region, new Set(['*']));
      continue;
    }
    const z = zones ?? new Set<string>();
    if (z.has('*')) return `locality ${loc} overlap with previous specified ones`;
    const zk = sub === undefined ? `${zone}/*` : `${zone}/${sub}`;
    if (z.has(`${zone}/*`) || z.has(zk) || (sub === undefined && [...z].some((k) => k.startsWith(`${zone}/`)))) return `locality ${loc} overlap with previous specified ones`;
    z.add(zk);
    seen.set(region, z);
  }
  return undefined;
}

function checkClientTLS(tls: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(tls)) return;
  const mode = asStr(tls.mode) ?? 'DISABLE';
  const cred = asStr(tls.credentialName) ?? '';
  if (tls.insecureSkipVerify === true) {
    if (mode === 'SIMPLE' && (tls.caCertificates || cred || has(tls, 'subjectAltNames'))) {
      issues.error(p(path, 'insecureSkipVerify'), 'cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true');
    }
    if (mode === 'MUTUAL' && (tls.caCertificates || has(tls, 'subjectAltNames'))) {
      issues.error(p(path, 'insecureSkipVerify'), 'cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true');
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && cred !== '') {
    if (tls.clientCertificate || tls.caCertificates || tls.privateKey || tls.caCrl) {
      issues.error(p(path, 'credentialName'), 'cannot specify client certificates or CA certificate or CA CRL If credentialName is set');
    }
    return;
  }
  if (mode === 'MUTUAL') {
    if (!tls.clientCertificate) issues.error(p(path, 'clientCertificate'), 'client certificate required for mutual tls');
    if (!tls.privateKey) issues.error(p(path, 'privateKey'), 'private key required for mutual tls');
  }
}
