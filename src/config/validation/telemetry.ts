// config/validation: Telemetry — schema and Istio's rules for metrics overrides, tracing and access logging.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asObj, isPlainObject, key } from './context.ts';
import { arr, bool, dur, enm, map, num, obj, str, type Schema } from './schema.ts';
import { checkPolicyTargets, policyTargetReference, policyTargetReferences, typeWorkloadSelector } from './common.ts';

const providers = arr(obj({ name: str({ minLength: 1 }) }, { required: ['name'] }));
const workloadMode = enm(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']);
const METRICS = ['ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES'];

const customTag: Schema = obj(
  {
    literal: obj({ value: str({ minLength: 1 }) }, { required: ['value'] }),
    environment: obj({ name: str({ minLength: 1 }), defaultValue: str() }, { required: ['name'] }),
    header: obj({ name: str({ minLength: 1 }), defaultValue: str() }, { required: ['name'] }),
    formatter: obj({ value: str({ minLength: 1 }) }, { required: ['value'] }),
  },
  { oneOf: ['literal', 'environment', 'header', 'formatter'] },
);

export const telemetrySpec: Schema = obj({
  selector: typeWorkloadSelector,
  targetRef: policyTargetReference,
  targetRefs: policyTargetReferences,
  tracing: arr(
    obj({
      match: obj({ mode: workloadMode }),
      providers,
      randomSamplingPercentage: num({ min: 0, max: 100 }),
      disableSpanReporting: bool,
      customTags: map(customTag),
      useRequestIdForTraceSampling: bool,
      enableIstioTags: bool,
      disableContextPropagation: bool,
    }),
  ),
  metrics: arr(
    obj({
      providers,
      overrides: arr(
        obj({
          match: obj({ metric: enm(METRICS), customMetric: str({ minLength: 1 }), mode: workloadMode }, { oneOf: ['metric', 'customMetric'] }),
          disabled: bool,
          tagOverrides: map(obj({ operation: enm(['UPSERT', 'REMOVE']), value: str() })),
        }),
      ),
      reportingInterval: dur,
    }),
  ),
  accessLogging: arr(obj({ match: obj({ mode: workloadMode }), providers, disabled: bool, filter: obj({ expression: str() }) })),
});

export function checkTelemetry(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  checkPolicyTargets(spec, issues);
  const tracing = asArr(spec.tracing);
  if (tracing.length > 1) issues.warn('spec.tracing', 'multiple tracing is not currently supported');
  tracing.forEach((t, i) => {
    if (asArr(asObj(t).providers).length > 1) issues.warn(`spec.tracing[${i}].providers`, 'multiple providers is not currently supported');
    for (const name of Object.keys(asObj(asObj(t).customTags))) {
      if (name === '') issues.error(`spec.tracing[${i}].customTags`, 'tag name may not be empty');
    }
  });
  asArr(spec.metrics).forEach((m, i) => {
    asArr(asObj(m).overrides).forEach((o, j) => {
      const op = `spec.metrics[${i}].overrides[${j}]`;
      if (o === null) {
        issues.error(op, 'overrides may not be null');
        return;
      }
      for (const [tag, to] of Object.entries(asObj(asObj(o).tagOverrides))) {
        const tp = key(`${op}.tagOverrides`, tag);
        if (tag === '') issues.warn(tp, 'tagOverrides name may not be empty');
        if (!isPlainObject(to)) {
          if (to === null) issues.error(tp, 'tagOverrides may not be null');
          continue;
        }
        if ((to.operation ?? 'UPSERT') === 'UPSERT' && (to.value === undefined || to.value === null || to.value === '')) issues.error(`${tp}.value`, 'value must be set when operation is UPSERT');
        if (to.operation === 'REMOVE' && to.value !== undefined && to.value !== null) issues.error(`${tp}.value`, 'value must not be set when operation is REMOVE');
      }
    });
  });
}
