// config: TypeScript shapes of Istio's security.istio.io specs (PeerAuthentication, RequestAuthentication,
// AuthorizationPolicy), fields as in Istio's protos (camelCase JSON). Every field is optional as in the API;
// config/validation enforces what is required.

/** istio.type.v1beta1.WorkloadSelector */
export interface WorkloadSelector { matchLabels?: Record<string, string> }

/** istio.type.v1beta1.PolicyTargetReference: the Service, ServiceEntry or Gateway a policy attaches to. */
export interface PolicyTargetReference { group?: string; kind: string; name: string; namespace?: string }

// ---- PeerAuthentication
export type MutualTLSMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';
export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: MutualTLSMode };
  /** Keys are port numbers written as strings ("8080"). */
  portLevelMtls?: Record<string, { mode?: MutualTLSMode }>;
}

// ---- RequestAuthentication
export interface JWTHeader { name: string; prefix?: string }
export interface ClaimToHeader { header: string; claim: string }
export interface JWTRule {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  /** Older spelling of jwksUri that Istio's CRD still accepts. */
  jwks_uri?: string;
  /** An inline JWKS document (JSON text). */
  jwks?: string;
  fromHeaders?: JWTHeader[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: ClaimToHeader[];
  spaceDelimitedClaims?: string[];
  timeout?: string;
  presence?: 'OPTIONAL' | 'REQUIRED';
}
export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  jwtRules?: JWTRule[];
}

// ---- AuthorizationPolicy
export interface AuthorizationSource {
  principals?: string[]; notPrincipals?: string[];
  requestPrincipals?: string[]; notRequestPrincipals?: string[];
  namespaces?: string[]; notNamespaces?: string[];
  serviceAccounts?: string[]; notServiceAccounts?: string[];
  ipBlocks?: string[]; notIpBlocks?: string[];
  remoteIpBlocks?: string[]; notRemoteIpBlocks?: string[];
  trustDomains?: string[]; notTrustDomains?: string[];
}
export interface AuthorizationOperation {
  hosts?: string[]; notHosts?: string[];
  ports?: string[]; notPorts?: string[];
  methods?: string[]; notMethods?: string[];
  paths?: string[]; notPaths?: string[];
}
export interface AuthorizationCondition { key: string; values?: string[]; notValues?: string[] }
export interface AuthorizationRule {
  from?: { source?: AuthorizationSource }[];
  to?: { operation?: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}
export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  /** Absent `rules` and `rules: []` differ: ALLOW with no rules denies everything; with `[{}]` it allows all. */
  rules?: AuthorizationRule[];
  action?: AuthorizationAction;
  provider?: { name?: string };
}
