// config/validation: VirtualService — Istio's rules for hosts, gateways, delegation, and HTTP/TLS/TCP routes.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, isPlainObject } from './context.ts';
import { checkCidrs, checkExportTo, checkLabels } from './common.ts';
import { checkHTTPRoute, checkRouteDestinations, isJwtClaimRoute } from './httproute.ts';
import { checkGatewayNames, hostSubsetOf, hostsOverlap, MESH_GATEWAY } from './vs-common.ts';
import { isIPAddress, wildcardDomainProblem } from './values.ts';
import { warnUnreachableRules } from './unreachable.ts';

export { virtualServiceSpec } from './vs-schema.ts';

export function checkVirtualService(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const hosts = asArr(spec.hosts).filter((h): h is string => typeof h === 'string');
  const gateways = asArr(spec.gateways).filter((g): g is string => typeof g === 'string');
  const http = asArr(spec.http);
  const tls = asArr(spec.tls);
  const tcp = asArr(spec.tcp);
  const isDelegate = hosts.length === 0;
  if (isDelegate) {
    // A VirtualService without hosts can only be the target of another one's `delegate`.
    if (gateways.length > 0) issues.error('spec.gateways', 'delegate virtual service must have no gateways specified');
    if (tls.length > 0) issues.error('spec.tls', 'delegate virtual service must have no tls route specified');
    if (tcp.length > 0) issues.error('spec.tcp', 'delegate virtual service must have no tcp route specified');
  }
  checkGatewayNames(spec.gateways, 'spec.gateways', issues);
  const appliesToGateway = gateways.length > 0 && !gateways.includes(MESH_GATEWAY);
  const appliesToMesh = !appliesToGateway;

  if (!appliesToGateway) {
    http.forEach((r, i) => {
      asArr(asObj(r).match).forEach((m, j) => {
        for (const f of ['headers', 'withoutHeaders']) {
          for (const k of Object.keys(asObj(asObj(m)[f]))) {
            if (isJwtClaimRoute(k)) issues.error(`spec.http[${i}].match[${j}].${f}`, `JWT claim based routing (key: ${k}) is only supported for gateway, found no gateways`);
          }
        }
      });
    });
  }

  let allValid = true;
  asArr(spec.hosts).forEach((h, i) => {
    if (typeof h !== 'string') return;
    const hp = `spec.hosts[${i}]`;
    const prob = wildcardDomainProblem(h);
    if (prob) {
      if (!isIPAddress(h)) {
        issues.error(hp, prob);
        allValid = false;
      }
    } else if (appliesToMesh && h === '*') {
      issues.error(hp, 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allValid = false;
    }
  });
  if (allValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostsOverlap(hosts[i]!, hosts[j]!)) issues.error(`spec.hosts[${j}]`, `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
      }
    }
  }

  if (http.length === 0 && tcp.length === 0 && tls.length === 0) issues.error('spec', 'http, tcp or tls must be provided in virtual service');
  http.forEach((r, i) => {
    if (r === null) issues.error(`spec.http[${i}]`, 'http route may not be null');
    else if (isPlainObject(r)) checkHTTPRoute(r, `spec.http[${i}]`, isDelegate, issues);
  });
  tls.forEach((r, i) => {
    if (!isPlainObject(r)) return;
    const rp = `spec.tls[${i}]`;
    const match = asArr(r.match);
    if (match.length === 0) issues.error(`${rp}.match`, 'TLS route must have at least one match condition');
    match.forEach((m, j) => {
      const mp = `${rp}.match[${j}]`;
      if (!isPlainObject(m)) return;
      const sni = asArr(m.sniHosts);
      if (Array.isArray(m.sniHosts) && sni.length === 0) issues.error(`${mp}.sniHosts`, 'TLS match must have at least one SNI host');
      sni.forEach((s, k) => {
        if (typeof s !== 'string') return;
        const sp = `${mp}.sniHosts[${k}]`;
        const prob = appliesToGateway && s.startsWith('outbound_') ? undefined : wildcardDomainProblem(s);
        if (prob) {
          if (isIPAddress(s)) issues.warn(sp, `using an IP address ("${s}") goes against SNI spec and most clients do not support this`);
          else issues.error(sp, prob);
          return;
        }
        if (!hosts.some((h) => hostSubsetOf(s, h))) issues.error(sp, `SNI host "${s}" is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`);
      });
      checkL4Match(m, mp, issues);
    });
    const routes = asArr(r.route);
    if (routes.length === 0) issues.error(`${rp}.route`, 'TLS route is required');
    checkRouteDestinations(routes, `${rp}.route`, issues, false);
  });
  tcp.forEach((r, i) => {
    if (!isPlainObject(r)) return;
    const rp = `spec.tcp[${i}]`;
    asArr(r.match).forEach((m, j) => {
      if (m === null) issues.error(`${rp}.match[${j}]`, 'tcp match may not be nil');
      else if (isPlainObject(m)) {
        checkL4Match(m, `${rp}.match[${j}]`, issues);
        if (typeof m.sourceSubnet === 'string') checkCidrs([m.sourceSubnet], `${rp}.match[${j}].sourceSubnet`, issues);
      }
    });
    const routes = asArr(r.route);
    if (routes.length === 0) issues.error(`${rp}.route`, 'TCP route is required');
    checkRouteDestinations(routes, `${rp}.route`, issues, false);
  });
  checkExportTo(spec.exportTo, obj.metadata.namespace, false, 'spec.exportTo', issues);
  warnUnreachableRules(http, 'spec.http', issues);
  warnUnreachableRules(tcp, 'spec.tcp', issues);
  warnUnreachableRules(tls, 'spec.tls', issues);
}

function checkL4Match(m: Record<string, any>, path: string, issues: Issues): void {
  checkCidrs(m.destinationSubnets, `${path}.destinationSubnets`, issues);
  const port = asNum(m.port);
  if (port !== undefined && port !== 0 && (port < 1 || port > 65535)) issues.error(`${path}.port`, `port must be between 1-65535 (got ${port})`);
  checkLabels(m.sourceLabels, `${path}.sourceLabels`, issues);
  checkGatewayNames(m.gateways, `${path}.gateways`, issues);
  const sns = asStr(m.sourceNamespace);
  if (sns !== undefined && sns !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sns)) issues.error(`${path}.sourceNamespace`, `sourceNamespace match ${sns} is invalid`);
}
