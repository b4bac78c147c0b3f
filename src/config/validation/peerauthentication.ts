// config/validation: PeerAuthentication — schema and Istio's rules for mTLS modes and port-level settings.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asObj, has, isPlainObject } from './context.ts';
import { enm, map, obj } from './schema.ts';
import { typeWorkloadSelector } from './common.ts';

const mtlsMode = obj({ mode: enm(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']) });

/** Port keys are numbers written as strings, 1..65535. */
function portKeyProblem(k: string): string | undefined {
  if (!/^-?\d+$/.test(k)) return `type conversion error from string to int: port "${k}" is not a number`;
  const n = Number(k);
  return n >= 1 && n <= 65535 ? undefined : `port must be between 1-65535 (got ${k})`;
}

export const peerAuthenticationSpec = obj({
  selector: typeWorkloadSelector,
  mtls: mtlsMode,
  portLevelMtls: map(mtlsMode, { minProperties: 1, keyCheck: portKeyProblem }),
});

export function checkPeerAuthentication(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const labels = asObj(asObj(spec.selector).matchLabels);
  if (has(spec, 'portLevelMtls') && Object.keys(labels).length === 0) {
    issues.error('spec.portLevelMtls', 'portLevelMtls requires selector (mesh- and namespace-wide peer authentication cannot have port level mTLS)');
  }
  if (isPlainObject(spec.selector) && Object.keys(labels).length === 0) issues.warn('spec.selector', 'workload selector specified without labels');
}
