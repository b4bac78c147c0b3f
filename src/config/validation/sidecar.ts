// config/validation: Sidecar — schema and Istio's rules for ingress/egress listeners, binds, capture modes and hosts.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, has, isPlainObject, p } from './context.ts';
import { arr, enm, obj, str, strs, uint32, type Schema } from './schema.ts';
import { connectionPool, destination, networkingWorkloadSelector, serverTLS, checkDestination } from './common.ts';
import { checkConnectionPool } from './trafficpolicy.ts';
import { checkNamespaceSlashHost } from './hostnames.ts';
import { checkServerTLS } from './servertls.ts';
import { fqdnProblem, isHTTPProtocol, isIPAddress, isTLSProtocol, parseProtocol, portNameProblem, protocolProblem, unixAddressProblem } from './values.ts';

const sidecarPort: Schema = obj({ number: uint32, protocol: str(), name: str(), targetPort: uint32 });
const captureMode = enm(['DEFAULT', 'IPTABLES', 'NONE']);

export const sidecarSpec: Schema = obj({
  workloadSelector: networkingWorkloadSelector,
  ingress: arr(obj({ port: sidecarPort, bind: str(), captureMode, defaultEndpoint: str(), tls: serverTLS, connectionPool }, { required: ['port'] })),
  egress: arr(obj({ port: sidecarPort, bind: str(), captureMode, hosts: strs }, { required: ['hosts'] })),
  inboundConnectionPool: connectionPool,
  outboundTrafficPolicy: obj({ mode: enm(['REGISTRY_ONLY', 'ALLOW_ANY']), egressProxy: destination }),
});

function checkPortNumber(n: unknown, path: string, issues: Issues): void {
  const v = asNum(n) ?? 0;
  if (v < 1 || v > 65535) issues.error(path, `port must be between 1-65535 (got ${v})`);
}

function checkPortNameProto(port: Record<string, any>, path: string, issues: Issues): void {
  const name = asStr(port.name);
  if (name) {
    const prob = portNameProblem(name);
    if (prob) issues.error(p(path, 'name'), prob);
  }
  const pp = protocolProblem(asStr(port.protocol));
  if (pp) issues.error(p(path, 'protocol'), pp);
}

export function checkSidecar(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  if (isPlainObject(spec.workloadSelector) && Object.keys(asObj(spec.workloadSelector.labels)).length === 0) {
    issues.warn('spec.workloadSelector', 'sidecar: workload selector specified without labels, will be applied to all services in namespace');
  }
  const ingress = asArr(spec.ingress);
  const egress = asArr(spec.egress);
  if (ingress.length === 0 && egress.length === 0 && !has(spec, 'outboundTrafficPolicy') && !has(spec, 'inboundConnectionPool')) {
    issues.error('spec', 'sidecar: empty configuration provided');
    return;
  }
  const ingressPorts = new Set<number>();
  ingress.forEach((l, i) => {
    const lp = `spec.ingress[${i}]`;
    if (!isPlainObject(l)) {
      if (l === null) issues.error(lp, 'sidecar: ingress may not be null');
      return;
    }
    if (!isPlainObject(l.port)) return; // the schema reports the missing port
    const port = l.port;
    if ((asNum(port.targetPort) ?? 0) > 0) issues.error(`${lp}.port.targetPort`, 'targetPort has no impact on Sidecars');
    checkPortNameProto(port, `${lp}.port`, issues);
    checkPortNumber(port.number, `${lp}.port.number`, issues);
    const bind = asStr(l.bind);
    if (bind && !isIPAddress(bind)) issues.error(`${lp}.bind`, `${bind} is not a valid IP`);
    const n = asNum(port.number) ?? 0;
    if (ingressPorts.has(n)) issues.error(`${lp}.port.number`, 'sidecar: ports on IP bound listeners must be unique');
    ingressPorts.add(n);
    const de = asStr(l.defaultEndpoint);
    if (de) checkDefaultEndpoint(de, `${lp}.defaultEndpoint`, issues);
    if (isPlainObject(l.tls)) {
      const t = l.tls;
      const tp = `${lp}.tls`;
      if (asArr(t.subjectAltNames).length > 0) issues.error(`${tp}.subjectAltNames`, 'sidecar: subjectAltNames is not supported in ingress tls');
      if (t.httpsRedirect === true) issues.error(`${tp}.httpsRedirect`, 'sidecar: httpsRedirect is not supported');
      if (t.credentialName) issues.error(`${tp}.credentialName`, 'sidecar: credentialName is not currently supported');
      if (asArr(t.credentialNames).length > 0) issues.error(`${tp}.credentialNames`, 'sidecar: credentialNames is not currently supported');
      if (asArr(t.tlsCertificates).length > 0) issues.error(`${tp}.tlsCertificates`, 'sidecar: tlsCertificates is not currently supported');
      if (t.mode === 'ISTIO_MUTUAL' || t.mode === 'AUTO_PASSTHROUGH') issues.error(`${tp}.mode`, `cannot set mode to ${t.mode} in sidecar ingress tls`);
      if (!isTLSProtocol(parseProtocol(asStr(port.protocol)))) issues.error(tp, 'server cannot have TLS settings for non HTTPS/TLS ports');
      checkServerTLS(t, tp, issues);
    }
    checkConnectionPool(l.connectionPool, `${lp}.connectionPool`, issues);
    if (has(asObj(l.connectionPool), 'http') && !isHTTPProtocol(parseProtocol(asStr(port.protocol)))) {
      issues.warn(`${lp}.connectionPool.http`, `sidecar: HTTP connection pool settings are configured for port ${n} but its protocol is not HTTP; only TCP settings will apply`);
    }
  });
  checkConnectionPool(spec.inboundConnectionPool, 'spec.inboundConnectionPool', issues);

  const egressPorts = new Set<number>();
  const udsBinds = new Set<string>();
  let catchAll = false;
  egress.forEach((l, i) => {
    const lp = `spec.egress[${i}]`;
    if (!isPlainObject(l)) {
      if (l === null) issues.error(lp, 'egress listener may not be null');
      return;
    }
    if (!isPlainObject(l.port)) {
      // One listener may omit its port, catching all other traffic; it must come last.
      if (catchAll) {
        issues.error(lp, 'sidecar: egress can have only one listener with empty port');
        return;
      }
      if (i === egress.length - 1) catchAll = true;
      else issues.error(lp, 'sidecar: the egress listener with empty port should be the last listener in the list');
    } else {
      const port = l.port;
      if ((asNum(port.targetPort) ?? 0) > 0) issues.error(`${lp}.port.targetPort`, 'targetPort has no impact on Sidecars');
      checkPortNameProto(port, `${lp}.port`, issues);
      const bind = asStr(l.bind) ?? '';
      const n = asNum(port.number) ?? 0;
      if (n === 0) {
        if (!bind.startsWith('unix://')) issues.error(`${lp}.bind`, 'sidecar: ports with 0 value must have a unix domain socket bind address');
        else {
          const prob = unixAddressProblem(bind.slice('unix://'.length));
          if (prob) issues.error(`${lp}.bind`, prob);
        }
        const cm = asStr(l.captureMode) ?? 'DEFAULT';
        if (cm !== 'DEFAULT' && cm !== 'NONE') issues.error(`${lp}.captureMode`, 'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners');
        if (udsBinds.has(bind)) issues.error(`${lp}.bind`, 'sidecar: unix domain socket values for listeners must be unique');
        udsBinds.add(bind);
      } else {
        checkPortNumber(n, `${lp}.port.number`, issues);
        if (bind !== '' && !isIPAddress(bind)) issues.error(`${lp}.bind`, `${bind} is not a valid IP`);
        if (egressPorts.has(n)) issues.error(`${lp}.port.number`, 'sidecar: ports on IP bound listeners must be unique');
        egressPorts.add(n);
      }
    }
    const hosts = asArr(l.hosts);
    if (Array.isArray(l.hosts) && hosts.length === 0) issues.error(`${lp}.hosts`, 'sidecar: egress listener must contain at least one host');
    const byNs = new Map<string, Set<string>>();
    hosts.forEach((h, j) => {
      if (typeof h !== 'string') return;
      const hp = `${lp}.hosts[${j}]`;
      const slash = h.indexOf('/');
      if (slash > 0 && !h.startsWith('~')) {
        const ns = h.slice(0, slash) === '.' ? obj.metadata.namespace : h.slice(0, slash);
        const svc = h.slice(slash + 1);
        const set = byNs.get(ns) ?? new Set<string>();
        if (svc !== '*' ? set.has(svc) || set.has('*') : set.size > 0) issues.warn(hp, `duplicated egress host: ${h}`);
        set.add(svc);
        byNs.set(ns, set);
      }
      checkNamespaceSlashHost(h, false, hp, issues);
    });
    if (byNs.get('*')?.has('*') && byNs.size !== 1) issues.warn(`${lp}.hosts`, '`*/*` host selects all resources, no other hosts can be added');
  });

  const otp = spec.outboundTrafficPolicy;
  if (isPlainObject(otp) && isPlainObject(otp.egressProxy)) {
    if (otp.mode !== 'ALLOW_ANY') issues.error('spec.outboundTrafficPolicy.egressProxy', 'sidecar: egressProxy must be set only with ALLOW_ANY outboundTrafficPolicy mode');
    else {
      const host = asStr(otp.egressProxy.host);
      if (host !== undefined) {
        const prob = fqdnProblem(host);
        if (prob) issues.error('spec.outboundTrafficPolicy.egressProxy.host', prob);
      }
      if (!isPlainObject(otp.egressProxy.port)) issues.error('spec.outboundTrafficPolicy.egressProxy.port', 'sidecar: egressProxy port must be non-nil');
      else checkDestination(otp.egressProxy, 'spec.outboundTrafficPolicy.egressProxy', issues);
    }
  }
}

/** 127.0.0.1:port, 0.0.0.0:port, [::1]:port, [::]:port, :port or unix://path. */
function checkDefaultEndpoint(de: string, path: string, issues: Issues): void {
  if (de.startsWith('unix://')) {
    const prob = unixAddressProblem(de.slice('unix://'.length));
    if (prob) issues.error(path, prob);
    return;
  }
  const m = /^(?:\[([^\]]*)\]|([^:]*)):([^:]*)$/.exec(de);
  if (!m) {
    issues.error(path, `sidecar: defaultEndpoint "${de}" must be host:port`);
    return;
  }
  const host = m[1] ?? m[2] ?? '';
  if (host !== '' && !['127.0.0.1', '0.0.0.0', '::1', '::'].includes(host)) {
    issues.error(path, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
  }
  const port = m[3]!;
  if (!/^\d+$/.test(port)) issues.error(path, `sidecar: defaultEndpoint port (${port}) is not a number`);
  else if (Number(port) < 1 || Number(port) > 65535) issues.error(path, `port must be between 1-65535 (got ${port})`);
}
