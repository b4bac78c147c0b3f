// config/validation: ServiceEntry — schema and Istio's rules for hosts, addresses, ports, resolution and endpoints.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, has, isPlainObject } from './context.ts';
import { arr, enm, obj, port, str, strs, type Schema } from './schema.ts';
import { checkExportTo, networkingWorkloadSelector } from './common.ts';
import { checkWorkloadEntrySpec, workloadEntryFields } from './workload.ts';
import { cidrProblem, fqdnProblem, isHTTPProtocol, isTLSProtocol, parseProtocol, partialWildcardProblem, portNameProblem, protocolProblem, wildcardDomainProblem } from './values.ts';

export const serviceEntrySpec: Schema = obj(
  {
    hosts: arr(str({ check: (v) => (v === '*' ? 'hostname cannot be wildcard' : undefined) }), { minItems: 1, maxItems: 256 }),
    addresses: arr(str({ maxLength: 64 }), { maxItems: 256 }),
    ports: arr(obj({ number: port, protocol: str({ maxLength: 256 }), name: str({ maxLength: 256 }), targetPort: port }, { required: ['number', 'name'] }), { maxItems: 256 }),
    location: enm(['MESH_EXTERNAL', 'MESH_INTERNAL']),
    resolution: enm(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']),
    endpoints: arr(obj(workloadEntryFields), { maxItems: 4096 }),
    workloadSelector: networkingWorkloadSelector,
    exportTo: strs,
    subjectAltNames: strs,
  },
  { required: ['hosts'] },
);

export function checkServiceEntry(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const resolution = asStr(spec.resolution) ?? 'NONE';
  const hosts = asArr(spec.hosts).filter((h): h is string => typeof h === 'string');
  const endpoints = asArr(spec.endpoints);
  if (isPlainObject(spec.workloadSelector) && Object.keys(asObj(spec.workloadSelector.labels)).length === 0) {
    issues.warn('spec.workloadSelector', 'service entry: workload selector specified without labels, will be applied to all services in namespace');
  }
  if (has(spec, 'workloadSelector') && has(spec, 'endpoints')) issues.error('spec.endpoints', 'only one of WorkloadSelector or Endpoints can be set');

  asArr(spec.hosts).forEach((h, i) => {
    if (typeof h !== 'string' || h === '*') return; // "*" is reported by the schema
    const prob = wildcardDomainProblem(h);
    if (prob) issues.error(`spec.hosts[${i}]`, prob);
    else if (resolution !== 'DYNAMIC_DNS') {
      const pw = partialWildcardProblem(h);
      if (pw) issues.warn(`spec.hosts[${i}]`, pw);
    }
  });


  asArr(spec.addresses).forEach((a, i) => {
    if (typeof a !== 'string') return;
    const prob = cidrProblem(a);
    if (prob) issues.error(`spec.addresses[${i}]`, prob);
    if (a.includes('/')) {

      if (resolution !== 'NONE' && resolution !== 'STATIC') issues.error(`spec.addresses[${i}]`, 'CIDR addresses are allowed only for NONE/STATIC resolution types');
    }
  });

  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  const ports = asArr(spec.ports);
  ports.forEach((pt, i) => {
    const pp = `spec.ports[${i}]`;
    if (!isPlainObject(pt)) {
      if (pt === null) issues.error(pp, 'service entry port may not be null');
      return;
    }
    const name = asStr(pt.name);
    if (name !== undefined) {
      if (portNames.has(name)) issues.error(`${pp}.name`, `Duplicate value: service entry port name "${name}" already defined`);
      portNames.add(name);
      const prob = portNameProblem(name);
      if (prob) issues.error(`${pp}.name`, prob);
    }
    const n = asNum(pt.number);
    if (n !== undefined) {
      if (portNumbers.has(n)) issues.error(`${pp}.number`, `port number cannot be duplicated: ${n}`);
      portNumbers.add(n);
    }
    const pp2 = protocolProblem(asStr(pt.protocol));
    if (pp2) issues.error(`${pp}.protocol`, pp2);
  });

  switch (resolution) {
    case 'NONE':
      if (has(spec, 'endpoints')) issues.error('spec.endpoints', 'NONE mode cannot set endpoints');
      if (has(spec, 'workloadSelector')) issues.warn('spec.workloadSelector', 'workloadSelector should not be set when resolution mode is NONE');
      break;
    case 'STATIC':
      endpoints.forEach((e, i) => {
        if (e === null) issues.error(`spec.endpoints[${i}]`, 'endpoint cannot be nil');
        else if (isPlainObject(e)) checkWorkloadEntrySpec(e, `spec.endpoints[${i}]`, issues, portNames, false);
      });
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      if (endpoints.length === 0) {
        const bad = hosts.findIndex((h) => h !== '*' && fqdnProblem(h) !== undefined);
        if (bad >= 0) issues.error(`spec.hosts[${bad}]`, `hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution mode ${resolution}`);
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) issues.error('spec.endpoints', 'DNS_ROUND_ROBIN mode cannot have multiple endpoints');
      endpoints.forEach((e, i) => {
        if (e === null) issues.error(`spec.endpoints[${i}]`, 'endpoint cannot be nil');
        else if (isPlainObject(e)) checkWorkloadEntrySpec(e, `spec.endpoints[${i}]`, issues, portNames, true);
      });
      if (asArr(spec.addresses).length > 0 && hosts.length > 1 && ports.some((pt) => { const pr = parseProtocol(asStr(asObj(pt).protocol)); return !isHTTPProtocol(pr) && !isTLSProtocol(pr); })) {
        issues.warn('spec.hosts', 'service entry can not have more than one host specified simultaneously with address and tcp port');
      }
      break;
    }
    case 'DYNAMIC_DNS': {
      hosts.forEach((h, i) => {
        if (!h.startsWith('*')) issues.error(`spec.hosts[${i}]`, `host must be wildcarded for resolution mode ${resolution}`);
      });
      if (asArr(spec.addresses).length > 0) issues.error('spec.addresses', `addresses cannot be set for resolution type ${resolution}`);
      if (endpoints.length > 0) issues.error('spec.endpoints', `endpoints cannot be set for resolution type ${resolution}`);
      ports.forEach((pt, i) => {
        const pr = parseProtocol(asStr(asObj(pt).protocol));
        if (pr !== 'http' && pr !== 'tls' && pr !== 'grpc' && pr !== 'http2') issues.error(`spec.ports[${i}].protocol`, `only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type ${resolution}`);
      });
      if (!has(spec, 'location')) issues.error('spec.location', `location must be MESH_EXTERNAL or MESH_INTERNAL for resolution type ${resolution}`);
      break;
    }
  }

  if (resolution !== 'NONE' && hosts.length > 1) {
    const i = ports.findIndex((pt) => {
      const pr = parseProtocol(asStr(asObj(pt).protocol));
      return !isHTTPProtocol(pr) && !isTLSProtocol(pr);
    });
    if (i >= 0) issues.error(`spec.ports[${i}].protocol`, 'multiple hosts provided with non-HTTP, non-TLS ports');
  }
  checkExportTo(spec.exportTo, obj.metadata.namespace, true, 'spec.exportTo', issues);
}
