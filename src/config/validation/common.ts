// config/validation: schemas and rules shared by several Istio kinds (selectors, target refs, destinations,
// string matches, traffic policy pieces, TLS settings, label maps, exportTo).
import type { Issues } from './context.ts';
import { asArr, asObj, asStr, has, isPlainObject, key, p } from './context.ts';
import { arr, bool, dur, durAny, durOrZero, enm, int32, map, num, obj, port, str, strMap, strs, uint32, type Schema } from './schema.ts';
import { cidrProblem, isDNS1123Label, wildcardDomainProblem } from './values.ts';
import { labelKeyProblem, labelValueProblem } from './metadata.ts';

export const stringMatch: Schema = obj({ exact: str(), prefix: str(), regex: str() }, { oneOf: ['exact', 'prefix', 'regex'] });
export const portSelector: Schema = obj({ number: port });
export const destination: Schema = obj({ host: str(), subset: str(), port: portSelector }, { required: ['host'] });
const headerOperations: Schema = obj({ set: strMap, add: strMap, remove: strs });
export const headers: Schema = obj({ request: headerOperations, response: headerOperations });
export const percent: Schema = obj({ value: num() });

/** networking.istio.io WorkloadSelector: `labels`, no wildcards. */
export const networkingWorkloadSelector: Schema = obj({
  labels: map(str({ maxLength: 63, check: (v) => (v.includes('*') ? 'wildcard is not supported in selector' : undefined) }), {
    maxProperties: 256,
    keyCheck: (k) => (k === '' ? 'empty key is not supported in selector' : k.includes('*') ? 'wildcard is not supported in selector' : undefined),
  }),
});

/** istio.type.v1beta1.WorkloadSelector: `matchLabels`. */
export const typeWorkloadSelector: Schema = obj({
  matchLabels: map(str({ maxLength: 63, check: (v) => (v.includes('*') ? 'wildcard not allowed in label value match' : undefined) }), {
    maxProperties: 4096,
    keyCheck: (k) => (k === '' ? 'key must not be empty' : k.includes('*') ? 'wildcard not allowed in label key match' : undefined),
  }),
});

const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
export const policyTargetReference: Schema = obj(
  {
    group: str({ maxLength: 253, pattern: GROUP, patternHint: 'a DNS subdomain or ""' }),
    kind: str({ minLength: 1, maxLength: 63, pattern: KIND, patternHint: 'a kind name (letters, digits, "-")' }),
    name: str({ minLength: 1, maxLength: 253 }),
    namespace: str({ check: (v) => (v.length > 0 ? 'cross namespace referencing is not currently supported' : undefined) }),
  },
  { required: ['kind', 'name'] },
);
export const policyTargetReferences: Schema = arr(policyTargetReference, { maxItems: 16 });

/** Kinds a policy may target, as group/kind ("" is the core group). */
const ALLOWED_TARGET_KINDS = ['/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'];

/** selector / targetRef / targetRefs: at most one; referenced kinds must be ones a policy can attach to. */
export function checkPolicyTargets(spec: Record<string, any>, issues: Issues): void {
  const set = ['selector', 'targetRef', 'targetRefs'].filter((f) => (f === 'targetRefs' ? asArr(spec[f]).length > 0 : has(spec, f)));
  if (set.length > 1) issues.error(p('spec', set[set.length - 1]!), `only one of targetRefs or selector can be set (found ${set.join(', ')})`);
  const refs: [string, unknown][] = [['spec.targetRef', spec.targetRef], ...asArr(spec.targetRefs).map((r, i): [string, unknown] => [`spec.targetRefs[${i}]`, r])];
  for (const [path, r] of refs) {
    if (!isPlainObject(r)) continue;
    const g = asStr(r.group) ?? '';
    const k = asStr(r.kind);
    if (k !== undefined && KIND.test(k) && GROUP.test(g) && !ALLOWED_TARGET_KINDS.includes(`${g}/${k}`)) {
      issues.error(p(path, 'kind'), `targetRef must be to one of Service, ServiceEntry, Gateway (gateway.networking.k8s.io), GatewayClass but was ${g}/${k}`);
    }
  }
  if (isPlainObject(spec.selector) && Object.keys(asObj(spec.selector.matchLabels)).length === 0) {
    issues.warn('spec.selector', 'workload selector specified without labels');
  }
}

/** Kubernetes label rules for a map of labels (keys are qualified names, values short tokens). */
export function checkLabels(m: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(m)) return;
  for (const [k, v] of Object.entries(m)) {
    const kp = labelKeyProblem(k);
    if (kp) issues.error(key(path, k), kp);
    if (typeof v === 'string') {
      const vp = labelValueProblem(v);
      if (vp) issues.error(key(path, k), vp);
    }
  }
}

/** exportTo: ".", "*", "~" (ServiceEntry only) or namespace names; no duplicates; "*" and "~" alone. */
export function checkExportTo(v: unknown, namespace: string, isServiceEntry: boolean, path: string, issues: Issues, drWithSelector = false): void {
  const list = asArr(v);
  if (list.length === 0) return;
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (typeof e !== 'string') return;
    const ip = `${path}[${i}]`;
    const k = e === '.' ? namespace : e;
    if (seen.has(k)) {
      issues.error(ip, k !== e ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${e}`);
      return;
    }
    if (e === '~' && !isServiceEntry) issues.error(ip, 'exportTo "~" is only allowed for ServiceEntry');
    else if (e !== '.' && e !== '*' && e !== '~' && !isDNS1123Label(e)) issues.error(ip, `exportTo entry "${e}" must be ".", "*" or a namespace name`);
    seen.add(k);
  });
  if (seen.has('*') && list.length > 1) issues.error(path, 'cannot have both public (*) and non-public exportTo values for a resource');
  if (seen.has('~') && list.length > 1) issues.error(path, 'cannot export service entry to no one (~) and someone');
  if (drWithSelector && seen.size > 0) {
    if (!seen.has(namespace)) issues.error(path, 'destination rule with workload selector cannot have exportTo beyond current namespace');
    else if (seen.size > 1) issues.error(path, 'destination rule with workload selector cannot have multiple entries in exportTo');
  }
}

/** Destination host/subset/port rules (shapes are checked by the schema). */
export function checkDestination(d: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(d)) return;
  const host = asStr(d.host);
  if (host !== undefined) {
    if (host === '*') issues.error(p(path, 'host'), `invalid destination host ${host}`);
    else {
      const prob = wildcardDomainProblem(host);
      if (prob) issues.error(p(path, 'host'), prob);
    }
  }
  const subset = d.subset;
  if (typeof subset === 'string') {
    if (subset === '') issues.error(p(path, 'subset'), 'subset name cannot be empty');
    else if (!isDNS1123Label(subset)) issues.error(p(path, 'subset'), `subset name is invalid: ${subset}`);
  }
}

/** IP address or CIDR list entries. */
export function checkCidrs(list: unknown, path: string, issues: Issues): void {
  asArr(list).forEach((v, i) => {
    if (typeof v !== 'string') return;
    const prob = cidrProblem(v);
    if (prob) issues.error(`${path}[${i}]`, prob);
  });
}

// --- traffic policy pieces (DestinationRule, Sidecar) ---

const h2UpgradePolicy = enm(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']);
export const connectionPool: Schema = obj({
  tcp: obj({
    maxConnections: int32,
    connectTimeout: dur,
    tcpKeepalive: obj({ probes: uint32, time: dur, interval: dur }),
    maxConnectionDuration: dur,
    idleTimeout: durOrZero,
  }),
  http: obj({
    http1MaxPendingRequests: int32,
    http2MaxRequests: int32,
    maxRequestsPerConnection: int32,
    maxRetries: int32,
    idleTimeout: dur,
    h2UpgradePolicy,
    useClientProtocol: bool,
    maxConcurrentStreams: int32,
    http2KeepAlive: obj({ interval: dur, timeout: dur }),
  }),
});

const localityFailover = arr(obj({ from: str(), to: str() }));
export const loadBalancer: Schema = obj(
  {
    simple: enm(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']),
    consistentHash: obj(
      {
        httpHeaderName: str(),
        httpCookie: obj({ name: str(), path: str(), ttl: durAny, attributes: arr(obj({ name: str(), value: str() }, { required: ['name'] })) }, { required: ['name'] }),
        useSourceIp: bool,
        httpQueryParameterName: str(),
        ringHash: obj({ minimumRingSize: { t: 'int', min: 0 } }),
        maglev: obj({ tableSize: { t: 'int', min: 0 } }),
        minimumRingSize: { t: 'int', min: 0 },
      },
      { oneOfGroups: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], ['ringHash', 'maglev']] },
    ),
    localityLbSetting: obj({
      distribute: arr(obj({ from: str(), to: map(uint32) })),
      failover: localityFailover,
      failoverPriority: strs,
      enabled: bool,
    }),
    zoneAwareLbSetting: obj({ enabled: bool, failover: localityFailover, failoverPriority: strs, minClusterSize: { t: 'int', min: 1, max: 4294967295 } }),
    warmupDurationSecs: dur,
    warmup: obj({ duration: dur, minimumPercent: num({ min: 0, max: 100 }), aggression: num({ min: 0 }) }, { required: ['duration'] }),
    backendUtilization: obj({
      errorUtilizationPenaltyPercent: uint32,
      metricNamesForComputingUtilization: strs,
      weightExpirationPeriod: durAny,
      weightStabilizationPeriod: durAny,
      weightUpdatePeriod: durAny,
    }),
  },
  { oneOf: ['simple', 'consistentHash', 'backendUtilization'] },
);

export const outlierDetection: Schema = obj({
  splitExternalLocalOriginErrors: bool,
  consecutiveLocalOriginFailures: uint32,
  consecutiveGatewayErrors: uint32,
  consecutive5xxErrors: uint32,
  interval: dur,
  baseEjectionTime: dur,
  maxEjectionPercent: int32,
  minHealthPercent: int32,
  consecutiveErrors: int32,
  outlierDetectionHttpErrorCodes: arr({ t: 'int', min: 100, max: 599 }),
});

export const clientTLS: Schema = obj({
  mode: enm(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
  clientCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  credentialName: str(),
  subjectAltNames: strs,
  sni: str(),
  insecureSkipVerify: bool,
  caCrl: str(),
});

export const serverTLS: Schema = obj({
  httpsRedirect: bool,
  mode: enm(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']),
  serverCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  caCrl: str(),
  credentialName: str(),
  credentialNames: arr(str(), { minItems: 1, maxItems: 2 }),
  tlsCertificates: arr(obj({ serverCertificate: str(), privateKey: str(), caCertificates: str() }), { minItems: 1, maxItems: 2 }),
  caCertCredentialName: str(),
  subjectAltNames: strs,
  verifyCertificateSpki: strs,
  verifyCertificateHash: strs,
  minProtocolVersion: enm(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']),
  maxProtocolVersion: enm(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']),
  cipherSuites: strs,
  ecdhCurves: strs,
  insecureSkipVerify: bool,
});
