// config/validation: the Kubernetes kinds Rigging reads — Service, Endpoints, EndpointSlice and the `istio` ConfigMap.
// Only the fields Rigging uses are checked; other Kubernetes fields are left alone.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asObj, isPlainObject } from './context.ts';
import { arr, bool, checkSchema, enm, int, intOrString, map, obj, str, strMap, type Schema } from './schema.ts';
import { checkLabels } from './common.ts';
import { checkMeshConfigText } from './meshconfig.ts';
import { isDNS1123Label, isIPAddress } from './values.ts';

const protocol = enm(['TCP', 'UDP', 'SCTP']);
const portNum = int({ min: 1, max: 65535 });

const servicePort: Schema = obj({ name: str(), port: portNum, targetPort: intOrString, protocol, appProtocol: str(), nodePort: int({ min: 0, max: 65535 }) }, { required: ['port'] });
const serviceSpec: Schema = obj({
  ports: arr(servicePort),
  selector: strMap,
  clusterIP: str(),
  clusterIPs: arr(str()),
  type: enm(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
  externalName: str(),
}, { open: true });

const endpointPort: Schema = obj({ name: str(), port: portNum, protocol, appProtocol: str() }, { required: ['port'] });
const endpointAddress: Schema = obj({ ip: str(), hostname: str(), nodeName: str(), targetRef: map({ t: 'any' }) }, { required: ['ip'], open: true });

export function checkService(o: ConfigObject, issues: Issues): void {
  if (o.spec === undefined || o.spec === null) return; // a Service without spec has no ports to serve
  checkSchema(o.spec, serviceSpec, 'spec', issues);
  const ports = asArr(asObj(o.spec).ports);
  const names = new Set<string>();
  ports.forEach((pt, i) => {
    if (!isPlainObject(pt)) return;
    const name = pt.name;
    if (ports.length > 1 && (typeof name !== 'string' || name === '')) issues.error(`spec.ports[${i}].name`, 'port name is required when a Service has more than one port');
    if (typeof name === 'string' && name !== '') {
      if (!isDNS1123Label(name.toLowerCase()) || name !== name.toLowerCase()) issues.error(`spec.ports[${i}].name`, `port name "${name}" must be a lower case DNS-1123 label`);
      if (names.has(name)) issues.error(`spec.ports[${i}].name`, `Duplicate value: "${name}"`);
      names.add(name);
    }
    const tp = pt.targetPort;
    if (typeof tp === 'number' && (tp < 1 || tp > 65535)) issues.error(`spec.ports[${i}].targetPort`, `port must be between 1-65535 (got ${tp})`);
    if (typeof tp === 'string' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(tp) && !/^\d+$/.test(tp)) issues.error(`spec.ports[${i}].targetPort`, `targetPort "${tp}" must be a number or a port name`);
  });
  checkLabels(asObj(o.spec).selector, 'spec.selector', issues);
}

export function checkEndpoints(o: ConfigObject, issues: Issues): void {
  const subsets = o.extra?.subsets;
  if (subsets === undefined || subsets === null) return;
  checkSchema(subsets, arr(obj({ addresses: arr(endpointAddress), notReadyAddresses: arr(endpointAddress), ports: arr(endpointPort) })), 'subsets', issues);
  asArr(subsets).forEach((s, i) => {
    for (const f of ['addresses', 'notReadyAddresses']) {
      asArr(asObj(s)[f]).forEach((a, j) => {
        const ip = asObj(a).ip;
        if (typeof ip === 'string' && !isIPAddress(ip)) issues.error(`subsets[${i}].${f}[${j}].ip`, `"${ip}" is not a valid IP address`);
      });
    }
  });
}

export function checkEndpointSlice(o: ConfigObject, issues: Issues): void {
  const extra = o.extra ?? {};
  const at = extra.addressType;
  if (at === undefined) issues.error('addressType', 'Required value');
  else checkSchema(at, enm(['IPv4', 'IPv6', 'FQDN']), 'addressType', issues);
  const endpoints = extra.endpoints;
  if (endpoints !== undefined && endpoints !== null) {
    checkSchema(endpoints, arr(obj({
      addresses: arr(str(), { minItems: 1 }),
      conditions: obj({ ready: bool, serving: bool, terminating: bool }),
      hostname: str(),
      nodeName: str(),
      zone: str(),
      targetRef: map({ t: 'any' }),
    }, { required: ['addresses'], open: true })), 'endpoints', issues);
    asArr(endpoints).forEach((e, i) => {
      asArr(asObj(e).addresses).forEach((a, j) => {
        if (typeof a === 'string' && (at === 'IPv4' || at === 'IPv6') && !isIPAddress(a)) issues.error(`endpoints[${i}].addresses[${j}]`, `"${a}" is not a valid ${at} address`);
      });
    });
  }
  if (extra.ports !== undefined && extra.ports !== null) checkSchema(extra.ports, arr(obj({ name: str(), port: portNum, protocol, appProtocol: str() }, { open: true })), 'ports', issues);
  if (!o.metadata?.labels?.['kubernetes.io/service-name']) issues.warn('metadata.labels', 'EndpointSlice has no kubernetes.io/service-name label, so it belongs to no Service');
}

export function checkConfigMap(o: ConfigObject, issues: Issues): void {
  const data = o.extra?.data;
  if (data === undefined || data === null) return;
  if (!isPlainObject(data)) {
    issues.error('data', 'must be a map of string to string');
    return;
  }
  for (const [k, v] of Object.entries(data)) if (typeof v !== 'string') issues.error(`data.${k}`, 'ConfigMap values must be strings');
  if (data.mesh !== undefined) checkMeshConfigText(data.mesh, 'data.mesh', issues);
}
