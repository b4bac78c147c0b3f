// config/validation: WorkloadEntry and WorkloadGroup (and the endpoint shape ServiceEntry reuses).
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asObj, asStr, has, isPlainObject, key } from './context.ts';
import { arr, int, map, obj, port, str, type Schema } from './schema.ts';
import { checkLabels } from './common.ts';
import { fqdnProblem, isIPAddress, unixAddressProblem } from './values.ts';

const PORT_NAME = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const nonNegInt32 = int({ min: 0, max: 2147483647 });

export const workloadEntryFields = {
  address: str({
    maxLength: 256,
    check: (v) => (v.startsWith('unix://') ? unixAddressProblem(v.slice('unix://'.length)) : undefined),
  }),
  ports: map(port, { maxProperties: 128, keyCheck: (k) => (k.length < 63 && PORT_NAME.test(k) ? undefined : `Invalid value: port name "${k}" must be valid (a DNS label)`) }),
  labels: map(str(), { maxProperties: 256 }),
  network: str({ maxLength: 2048 }),
  locality: str({ maxLength: 2048 }),
  weight: int({ min: 0, max: 4294967295 }),
  serviceAccount: str({ maxLength: 253 }),
};
export const workloadEntrySpec: Schema = obj(workloadEntryFields);

/**
 * Rules shared by WorkloadEntry and ServiceEntry endpoints. `servicePorts` (ServiceEntry) restricts port names;
 * `allowFQDN` is false where only IPs make sense (STATIC endpoints).
 */
export function checkWorkloadEntrySpec(we: Record<string, any>, path: string, issues: Issues, servicePorts?: Set<string>, allowFQDN = true): void {
  const addr = asStr(we.address) ?? '';
  if (addr === '') {
    if (!we.network) issues.error(`${path}.address`, 'Address is required');
    else issues.warn(`${path}.address`, `address is unset with network "${we.network}"`);
  }
  if (addr.startsWith('unix://')) {
    if (has(we, 'ports')) issues.error(`${path}.ports`, 'UDS may not include ports');
    if (servicePorts && servicePorts.size !== 1) issues.error(`${path}.address`, 'exactly 1 service port required for unix endpoints');
  } else if (addr !== '' && !isIPAddress(addr)) {
    if (!allowFQDN) issues.error(`${path}.address`, `endpoint address "${addr}" is not a valid IP address`);
    else if (fqdnProblem(addr)) issues.error(`${path}.address`, `endpoint address "${addr}" is not a valid FQDN or an IP address`);
  }
  if (servicePorts) {
    for (const name of Object.keys(asObj(we.ports))) {
      if (!servicePorts.has(name)) issues.error(key(`${path}.ports`, name), `endpoint port ${name} is not defined by the service entry`);
    }
  }
  checkLabels(we.labels, `${path}.labels`, issues);
}

export function checkWorkloadEntry(obj: ConfigObject, issues: Issues): void {
  checkWorkloadEntrySpec(obj.spec as Record<string, any>, 'spec', issues);
}

const probePort = port;
export const workloadGroupSpec: Schema = obj(
  {
    metadata: obj({ labels: map(str(), { maxProperties: 256 }), annotations: map(str(), { maxProperties: 256 }) }),
    template: obj(workloadEntryFields),
    probe: obj(
      {
        initialDelaySeconds: nonNegInt32,
        timeoutSeconds: nonNegInt32,
        periodSeconds: nonNegInt32,
        successThreshold: nonNegInt32,
        failureThreshold: nonNegInt32,
        httpGet: obj(
          {
            path: str(),
            port: probePort,
            host: str(),
            scheme: str({ check: (v) => (['', 'HTTP', 'HTTPS'].includes(v) ? undefined : 'scheme must be one of [HTTP, HTTPS]') }),
            httpHeaders: arr(obj({ name: str({ pattern: /^[-_A-Za-z0-9]+$/, patternHint: '^[-_A-Za-z0-9]+$' }), value: str() })),
          },
          { required: ['port'] },
        ),
        tcpSocket: obj({ host: str(), port: probePort }, { required: ['port'] }),
        exec: obj({ command: arr(str({ minLength: 1 })) }, { required: ['command'] }),
        grpc: obj({ port: probePort, service: str() }),
      },
      { oneOf: ['httpGet', 'tcpSocket', 'exec', 'grpc'] },
    ),
  },
  { required: ['template'] },
);

export function checkWorkloadGroup(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const tmpl = asObj(spec.template);
  if (asStr(tmpl.address)?.startsWith('unix://') && has(tmpl, 'ports')) issues.error('spec.template.ports', 'UDS may not include ports');
  checkLabels(asObj(spec.metadata).labels, 'spec.metadata.labels', issues);
  checkLabels(tmpl.labels, 'spec.template.labels', issues);
  const probe = spec.probe;
  if (isPlainObject(probe)) {
    if (isPlainObject(probe.exec) && Array.isArray(probe.exec.command) && probe.exec.command.length === 0) issues.error('spec.probe.exec.command', 'exec.command is required');
    if (isPlainObject(probe.httpGet)) {
      (Array.isArray(probe.httpGet.httpHeaders) ? probe.httpGet.httpHeaders : []).forEach((h: unknown, i: number) => {
        if (h === null) issues.error(`spec.probe.httpGet.httpHeaders[${i}]`, 'invalid nil header');
        else if (isPlainObject(h) && (h.name === undefined || h.name === '')) issues.error(`spec.probe.httpGet.httpHeaders[${i}].name`, 'header name cannot be empty');
      });
    }
  }
}
