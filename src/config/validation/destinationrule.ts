// config/validation: DestinationRule — schema and Istio's rules (host, subsets, traffic policy, exportTo, selector).
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asStr, isPlainObject } from './context.ts';
import { arr, obj, str, strMap, strs, type Schema } from './schema.ts';
import { checkExportTo, checkLabels, typeWorkloadSelector } from './common.ts';
import { checkTrafficPolicy, trafficPolicy } from './trafficpolicy.ts';
import { isDNS1123Label, wildcardDomainProblem } from './values.ts';

export const destinationRuleSpec: Schema = obj(
  {
    host: str(),
    trafficPolicy,
    subsets: arr(obj({ name: str(), labels: strMap, trafficPolicy }, { required: ['name'] })),
    exportTo: strs,
    workloadSelector: typeWorkloadSelector,
  },
  { required: ['host'] },
);

export function checkDestinationRule(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const host = asStr(spec.host);
  if (host !== undefined) {
    const prob = wildcardDomainProblem(host);
    if (prob) issues.error('spec.host', prob);
  }
  checkTrafficPolicy(spec.trafficPolicy, 'spec.trafficPolicy', issues);
  const names = new Set<string>();
  asArr(spec.subsets).forEach((s, i) => {
    const sp = `spec.subsets[${i}]`;
    if (!isPlainObject(s)) {
      if (s === null) issues.error(sp, 'subset may not be null');
      return;
    }
    const name = asStr(s.name);
    if (name !== undefined) {
      if (names.has(name)) issues.error(`${sp}.name`, `duplicate subset names: ${name}`);
      names.add(name);
      if (name === '') issues.error(`${sp}.name`, 'subset name cannot be empty');
      else if (!isDNS1123Label(name)) issues.error(`${sp}.name`, `subset name is invalid: ${name}`);
    }
    checkLabels(s.labels, `${sp}.labels`, issues);
    checkTrafficPolicy(s.trafficPolicy, `${sp}.trafficPolicy`, issues);
  });
  checkExportTo(spec.exportTo, obj.metadata.namespace, false, 'spec.exportTo', issues, isPlainObject(spec.workloadSelector));
  if (isPlainObject(spec.workloadSelector) && Object.keys(spec.workloadSelector.matchLabels ?? {}).length === 0) {
    issues.warn('spec.workloadSelector', 'workload selector specified without labels');
  }
}
