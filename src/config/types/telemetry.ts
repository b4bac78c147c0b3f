// config: TypeScript shapes of Istio's telemetry.istio.io Telemetry spec (metrics, tracing, access logging),
// fields as in Istio's protos (camelCase JSON). Every field is optional as in the API.
import type { PolicyTargetReference, WorkloadSelector } from './security.ts';

export type WorkloadMode = 'CLIENT_AND_SERVER' | 'CLIENT' | 'SERVER';
export interface ProviderRef { name: string }

export interface TracingCustomTag {
  literal?: { value: string };
  environment?: { name: string; defaultValue?: string };
  header?: { name: string; defaultValue?: string };
  formatter?: { value: string };
}
export interface Tracing {
  match?: { mode?: WorkloadMode };
  providers?: ProviderRef[];
  randomSamplingPercentage?: number | null;
  disableSpanReporting?: boolean | null;
  customTags?: Record<string, TracingCustomTag>;
  useRequestIdForTraceSampling?: boolean | null;
  enableIstioTags?: boolean | null;
  disableContextPropagation?: boolean | null;
}

export type IstioMetric =
  | 'ALL_METRICS' | 'REQUEST_COUNT' | 'REQUEST_DURATION' | 'REQUEST_SIZE' | 'RESPONSE_SIZE'
  | 'TCP_OPENED_CONNECTIONS' | 'TCP_CLOSED_CONNECTIONS' | 'TCP_SENT_BYTES' | 'TCP_RECEIVED_BYTES'
  | 'GRPC_REQUEST_MESSAGES' | 'GRPC_RESPONSE_MESSAGES';
export interface MetricSelector { metric?: IstioMetric; customMetric?: string; mode?: WorkloadMode }
/** operation defaults to UPSERT, which needs a value; REMOVE must not have one. */
export interface TagOverride { operation?: 'UPSERT' | 'REMOVE'; value?: string }
export interface MetricsOverrides { match?: MetricSelector; disabled?: boolean | null; tagOverrides?: Record<string, TagOverride> }
export interface Metrics { providers?: ProviderRef[]; overrides?: MetricsOverrides[]; reportingInterval?: string }

export interface AccessLogging {
  match?: { mode?: WorkloadMode };
  providers?: ProviderRef[];
  disabled?: boolean | null;
  /** A CEL expression choosing which requests are logged. */
  filter?: { expression?: string };
}

export interface TelemetrySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  tracing?: Tracing[];
  metrics?: Metrics[];
  accessLogging?: AccessLogging[];
}
