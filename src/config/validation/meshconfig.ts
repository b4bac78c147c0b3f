// config/validation: Istio's MeshConfig as carried in the `istio` ConfigMap (data.mesh, a YAML document).
// Only validation lives here; turning it into mesh defaults belongs to src/model/mesh.ts.
import { parse } from 'yaml';
import type { Issues } from './context.ts';
import { asObj, asStr, isPlainObject, p } from './context.ts';
import { any, arr, bool, checkSchema, dur, enm, int, map, obj, str, strs, uint32, type Schema } from './schema.ts';
import { checkRetries } from './httproute.ts';
import { checkLocalityLb } from './trafficpolicy.ts';
import { clientTLS } from './common.ts';
import { fqdnProblem, isDNS1123Label, isIPAddress } from './values.ts';
import { parseGoDuration } from '../../common/duration.ts';

/** MeshConfig's top-level fields (Istio's mesh/v1alpha1 config). Fields Rigging reads get a full schema; the
 * rest are accepted as they are so that a real Istio mesh config loads. */
const OTHER_MESH_FIELDS = [
  'proxyListenPort', 'proxyInboundListenPort', 'proxyHttpPort', 'hboneIdleTimeout', 'tcpKeepalive', 'ingressClass',
  'ingressService', 'ingressControllerMode', 'ingressSelector', 'accessLogFormat', 'enableEnvoyAccessLogService',
  'disableEnvoyListenerLog', 'inboundTrafficPolicy', 'configSources', 'caCertificates', 'defaultServiceExportTo',
  'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo', 'zoneAwareLbSetting', 'dnsRefreshRate',
  'h2UpgradePolicy', 'inboundClusterStatName', 'outboundClusterStatName', 'certificates', 'serviceSettings',
  'serviceScopeConfigs', 'enablePrometheusMerge', 'verifyCertificateAtClient', 'ca', 'extensionProviders',
  'defaultProviders', 'discoverySelectors', 'pathNormalization', 'meshMTLS', 'tlsDefaults', 'defaultTrafficPolicy',
  'serviceEntryVisibility', 'defaultInboundHttpRetryPolicy', 'trustDomainAliases', 'enableAutoMtls', 'connectTimeout',
  'protocolDetectionTimeout',
];

/** ProxyConfig (MeshConfig.defaultConfig) fields; the ones Rigging reads are typed. */
const OTHER_PROXY_FIELDS = [
  'configPath', 'binaryPath', 'discoveryRefreshDelay', 'zipkinAddress', 'statsdUdpAddress', 'envoyMetricsServiceAddress',
  'availabilityZone', 'customConfigFile', 'statNameLength', 'proxyBootstrapTemplatePath', 'interceptionMode', 'sds',
  'envoyAccessLogService', 'envoyMetricsService', 'runtimeValues', 'extraStatTags', 'gatewayTopology', 'meshId',
  'readinessProbe', 'proxyStatsMatcher', 'caCertificatesPem', 'image', 'privateKeyProvider', 'proxyHeaders',
  'fileFlushInterval', 'fileFlushMinSizeKb', 'statsCompression', 'connectionSettings', 'controlPlaneAuthPolicy',
];

const port = int({ min: 0, max: 65535 });
const httpRetry: Schema = obj({
  attempts: int({ min: -2147483648, max: 2147483647 }),
  perTryTimeout: dur,
  retryOn: str(),
  retryRemoteLocalities: bool,
  retryIgnorePreviousHosts: bool,
  backoff: dur,
});

const proxyConfig: Schema = obj({
  ...Object.fromEntries(OTHER_PROXY_FIELDS.map((f) => [f, any])),
  drainDuration: dur,
  terminationDrainDuration: dur,
  discoveryAddress: str(),
  proxyAdminPort: port,
  statusPort: port,
  concurrency: int({ min: 0, max: 2147483647 }),
  tracing: any,
  proxyMetadata: map(str()),
  holdApplicationUntilProxyStarts: bool,
});

const meshConfigSchema: Schema = obj({
  ...Object.fromEntries(OTHER_MESH_FIELDS.map((f) => [f, any])),
  connectTimeout: dur,
  protocolDetectionTimeout: { t: 'duration', allowZero: true, minNs: 1_000_000 },
  trustDomain: str(),
  trustDomainAliases: strs,
  rootNamespace: str(),
  enableTracing: bool,
  accessLogFile: str(),
  accessLogFormat: str(),
  accessLogEncoding: enm(['TEXT', 'JSON']),
  outboundTrafficPolicy: obj({ mode: enm(['REGISTRY_ONLY', 'ALLOW_ANY', 'ALLOW_ANY_DYNAMIC_DNS']) }),
  defaultHttpRetryPolicy: httpRetry,
  defaultInboundHttpRetryPolicy: httpRetry,
  defaultConfig: proxyConfig,
  enableAutoMtls: bool,
  localityLbSetting: any,
  ingressControllerMode: enm(['UNSPECIFIED', 'OFF', 'DEFAULT', 'STRICT']),
  tcpKeepalive: obj({ probes: uint32, time: dur, interval: dur }),
  defaultServiceExportTo: strs,
  defaultVirtualServiceExportTo: strs,
  defaultDestinationRuleExportTo: strs,
  tls: clientTLS,
  extensionProviders: arr(obj({ name: str({ minLength: 1 }) }, { required: ['name'], open: true })),
});

/** Trust domains: DNS labels separated by dots (a trailing dot is allowed). */
function trustDomainProblem(d: string): string | undefined {
  if (d.length === 0) return 'empty domain name not allowed';
  const parts = d.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && parts[i] === '') return undefined;
    if (!isDNS1123Label(parts[i]!)) return `trust domain name "${d}" invalid`;
  }
  return undefined;
}

function hostPortProblem(addr: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(addr);
  if (!m) return `unable to split "${addr}" into host:port`;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port must be between 1-65535 (got ${port})`;
  if (!isIPAddress(host) && fqdnProblem(host)) return `"${host}" is not a valid hostname or an IP address`;
  return undefined;
}

/** Validate the YAML text of data.mesh; `path` names it (e.g. "data.mesh"). */
export function checkMeshConfigText(text: unknown, path: string, issues: Issues): void {
  if (typeof text !== 'string') {
    issues.error(path, 'mesh config must be a string holding YAML');
    return;
  }
  let mesh: unknown;
  try {
    mesh = parse(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    issues.error(path, `mesh config is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return;
  }
  if (mesh === null || mesh === undefined) return; // empty: every default applies
  if (!isPlainObject(mesh)) {
    issues.error(path, 'mesh config must be a YAML mapping');
    return;
  }
  checkMeshConfig(mesh, path, issues);
}

function checkMeshConfig(mesh: Record<string, any>, path: string, issues: Issues): void {
  checkSchema(mesh, meshConfigSchema, path, issues);
  const td = asStr(mesh.trustDomain);
  if (td !== undefined) {
    const prob = trustDomainProblem(td);
    if (prob) issues.error(p(path, 'trustDomain'), prob);
  }
  (Array.isArray(mesh.trustDomainAliases) ? mesh.trustDomainAliases : []).forEach((d: unknown, i: number) => {
    if (typeof d !== 'string') return;
    const prob = trustDomainProblem(d);
    if (prob) issues.error(`${path}.trustDomainAliases[${i}]`, prob);
  });
  const rootNs = asStr(mesh.rootNamespace);
  if (rootNs !== undefined && !isDNS1123Label(rootNs)) issues.error(p(path, 'rootNamespace'), `rootNamespace "${rootNs}" must be a DNS-1123 label`);
  const alf = asStr(mesh.accessLogFile);
  if (alf !== undefined && alf !== '' && !alf.startsWith('/')) issues.error(p(path, 'accessLogFile'), `accessLogFile "${alf}" must be an absolute path such as /dev/stdout`);
  checkRetries(mesh.defaultHttpRetryPolicy, p(path, 'defaultHttpRetryPolicy'), issues);
  const inbound = asObj(mesh.defaultInboundHttpRetryPolicy);
  if (isPlainObject(mesh.defaultInboundHttpRetryPolicy)) {
    checkRetries(inbound, p(path, 'defaultInboundHttpRetryPolicy'), issues);
    if ((inbound.attempts ?? 0) === 0 && inbound.backoff !== undefined) issues.error(p(path, 'defaultInboundHttpRetryPolicy.backoff'), 'backoff configured when attempts are set to 0 (disabled)');
    for (const f of ['perTryTimeout', 'retryRemoteLocalities', 'retryIgnorePreviousHosts']) {
      if (inbound[f] !== undefined) issues.warn(p(path, `defaultInboundHttpRetryPolicy.${f}`), `${f} is ignored by the default inbound http retry policy`);
    }
  }
  checkLocalityLb(mesh.localityLbSetting, true, p(path, 'localityLbSetting'), issues, false);
  const dc = mesh.defaultConfig;
  if (isPlainObject(dc)) {
    const da = asStr(dc.discoveryAddress);
    if (da) {
      const prob = hostPortProblem(da);
      if (prob) issues.error(p(path, 'defaultConfig.discoveryAddress'), prob);
    }
    for (const f of ['proxyAdminPort', 'statusPort']) {
      const v = dc[f];
      if (typeof v === 'number' && v === 0) issues.error(p(path, `defaultConfig.${f}`), `port must be between 1-65535 (got 0)`);
    }
    const dd = parseGoDuration(dc.drainDuration); // a malformed one is reported by the schema
    if (dd !== undefined && dd % 1e9 !== 0) issues.error(p(path, 'defaultConfig.drainDuration'), 'drain time only supports durations to seconds precision');
  }
  checkExtensionProviders(mesh.extensionProviders, p(path, 'extensionProviders'), issues);
  if (mesh.enableTracing === true && isPlainObject(dc) && dc.tracing === undefined && !Array.isArray(mesh.extensionProviders)) {
    issues.notice(p(path, 'enableTracing'), 'tracing is enabled but no tracer is configured (defaultConfig.tracing or extensionProviders)');
  }
}


/**
 * extensionProviders: names unique; the ext_authz kinds (AuthorizationPolicy CUSTOM) need a service host, a port
 * in 1-65535, a positive timeout, a pathPrefix starting with "/", a statusOnError that is an HTTP status, and
 * header name lists of non-empty strings.
 */
function checkExtensionProviders(list: unknown, path: string, issues: Issues): void {
  if (!Array.isArray(list)) return;
  const seen = new Set<string>();
  list.forEach((prov: unknown, i: number) => {
    if (!isPlainObject(prov)) return;
    const at = `${path}[${i}]`;
    if (typeof prov.name === 'string') {
      if (seen.has(prov.name)) issues.error(`${at}.name`, `duplicate extension provider name ${prov.name}`);
      seen.add(prov.name);
    }
    for (const kind of ['envoyExtAuthzHttp', 'envoyExtAuthzGrpc'] as const) {
      const e = prov[kind];
      if (e === undefined) continue;
      const f = `${at}.${kind}`;
      if (!isPlainObject(e)) { issues.error(f, 'must be an object'); continue; }
      const service = e.service;
      const host = typeof service === 'string' ? service.slice(service.indexOf('/') + 1) : '';
      if (!host) issues.error(`${f}.service`, 'service is required (a host name, or namespace/host)');
      else if (host !== '*' && !isIPAddress(host) && fqdnProblem(host.replace(/^\*\./, 'x.'))) issues.error(`${f}.service`, `"${service}" is not a valid host name`);
      const port = typeof e.port === 'string' && /^\d+$/.test(e.port) ? Number(e.port) : e.port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) issues.error(`${f}.port`, `port must be between 1-65535 (got ${JSON.stringify(e.port ?? null)})`);
      if (e.timeout !== undefined) {
        const t = parseGoDuration(e.timeout);
        if (t === undefined || t <= 0) issues.error(`${f}.timeout`, `timeout must be a positive duration such as "2s" (got ${JSON.stringify(e.timeout)})`);
      }
      if (e.statusOnError !== undefined && e.statusOnError !== '') {
        const c = Number(e.statusOnError);
        if (!Number.isInteger(c) || c < 100 || c > 599) issues.error(`${f}.statusOnError`, `statusOnError must be an HTTP status code (got ${JSON.stringify(e.statusOnError)})`);
      }
      if (kind === 'envoyExtAuthzHttp') {
        if (e.pathPrefix !== undefined && (typeof e.pathPrefix !== 'string' || (e.pathPrefix !== '' && !e.pathPrefix.startsWith('/')))) issues.error(`${f}.pathPrefix`, `pathPrefix must begin with "/" (got ${JSON.stringify(e.pathPrefix)})`);
        for (const h of ['includeRequestHeadersInCheck', 'includeHeadersInCheck', 'headersToUpstreamOnAllow', 'headersToDownstreamOnDeny', 'headersToDownstreamOnAllow'] as const) {
          const v = e[h];
          if (v === undefined) continue;
          if (!Array.isArray(v)) { issues.error(`${f}.${h}`, 'must be a list of header names'); continue; }
          v.forEach((x: unknown, j: number) => { if (typeof x !== 'string' || x === '' || /[\s:]/.test(x)) issues.error(`${f}.${h}[${j}]`, `invalid header name ${JSON.stringify(x)}`); });
        }
        const add = e.includeAdditionalHeadersInCheck;
        if (add !== undefined && (!isPlainObject(add) || Object.values(add).some((v) => typeof v !== 'string'))) issues.error(`${f}.includeAdditionalHeadersInCheck`, 'must map header names to string values');
      }
    }
  });
}
