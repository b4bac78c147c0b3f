// config/validation: which validator checks which kind — each pairs a spec schema with Istio's semantic rules.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { isPlainObject } from './context.ts';
import { checkSchema, type Schema } from './schema.ts';
import { checkDestinationRule, destinationRuleSpec } from './destinationrule.ts';
import { checkVirtualService, virtualServiceSpec } from './virtualservice.ts';
import { checkGateway, gatewaySpec } from './gateway.ts';
import { checkSidecar, sidecarSpec } from './sidecar.ts';
import { checkServiceEntry, serviceEntrySpec } from './serviceentry.ts';
import { checkWorkloadEntry, checkWorkloadGroup, workloadEntrySpec, workloadGroupSpec } from './workload.ts';
import { checkPeerAuthentication, peerAuthenticationSpec } from './peerauthentication.ts';
import { checkRequestAuthentication, requestAuthenticationSpec } from './requestauthentication.ts';
import { authorizationPolicySpec, checkAuthorizationPolicy } from './authorizationpolicy.ts';
import { checkTelemetry, telemetrySpec } from './telemetry.ts';
import { checkConfigMap, checkEndpointSlice, checkEndpoints, checkService } from './kubernetes.ts';

export type KindValidator = (obj: ConfigObject, issues: Issues) => void;

/** Schema first (types, required, enums, unknown fields), then the kind's semantic rules on what is there. */
function istioKind(spec: Schema, rules: KindValidator, specRequired = false): KindValidator {
  return (obj, issues) => {
    if (obj.spec === undefined || obj.spec === null) {
      if (specRequired) {
        issues.error('spec', 'Required value');
        return;
      }
      obj = { ...obj, spec: {} };
    }
    checkSchema(obj.spec, spec, 'spec', issues);
    if (isPlainObject(obj.spec)) rules(obj, issues);
  };
}

export const KIND_VALIDATORS: Record<string, KindValidator> = {
  VirtualService: istioKind(virtualServiceSpec, checkVirtualService),
  DestinationRule: istioKind(destinationRuleSpec, checkDestinationRule),
  Gateway: istioKind(gatewaySpec, checkGateway),
  Sidecar: istioKind(sidecarSpec, checkSidecar),
  ServiceEntry: istioKind(serviceEntrySpec, checkServiceEntry, true),
  WorkloadEntry: istioKind(workloadEntrySpec, checkWorkloadEntry, true),
  WorkloadGroup: istioKind(workloadGroupSpec, checkWorkloadGroup, true),
  PeerAuthentication: istioKind(peerAuthenticationSpec, checkPeerAuthentication),
  RequestAuthentication: istioKind(requestAuthenticationSpec, checkRequestAuthentication),
  AuthorizationPolicy: istioKind(authorizationPolicySpec, checkAuthorizationPolicy),
  Telemetry: istioKind(telemetrySpec, checkTelemetry),
  Service: checkService,
  Endpoints: checkEndpoints,
  EndpointSlice: checkEndpointSlice,
  ConfigMap: checkConfigMap,
};
