// proxy/config: narrowed, validated shapes of Envoy's RBAC (HTTP and network) and jwt_authn filter configs.
import type { CidrRange, HeaderMatcher, RouteMatch, StringMatch } from './types.ts';

/** type.matcher.v3.ValueMatcher. */
export type ValueMatch =
  | { kind: 'null' }
  | { kind: 'double'; exact?: number; range?: { start: number; end: number } }
  | { kind: 'string'; string: StringMatch }
  | { kind: 'bool'; value: boolean }
  | { kind: 'present'; present: boolean }
  /** list_match: the value is a list and one of its items matches. */
  | { kind: 'list'; oneOf: ValueMatch }
  | { kind: 'or'; any: ValueMatch[] };

/** type.matcher.v3.MetadataMatcher: a value in dynamic metadata (namespace `filter`, then `path` keys). */
export interface MetadataMatch {
  filter: string;
  path: string[];
  value: ValueMatch;
  invert: boolean;
}

/** config.rbac.v3.Permission (what the request asks for). */
export type RbacPermission =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; rules: RbacPermission[] }
  | { kind: 'not'; rule: RbacPermission }
  | { kind: 'header'; header: HeaderMatcher }
  /** Path without the query string. */
  | { kind: 'url_path'; path: StringMatch }
  | { kind: 'destination_ip'; cidr: CidrRange }
  | { kind: 'destination_port'; port: number }
  /** [start, end) */
  | { kind: 'destination_port_range'; start: number; end: number }
  | { kind: 'metadata'; metadata: MetadataMatch }
  | { kind: 'requested_server_name'; name: StringMatch };

/** config.rbac.v3.Principal (who is asking). */
export type RbacPrincipal =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; ids: RbacPrincipal[] }
  | { kind: 'not'; id: RbacPrincipal }
  /** mTLS peer: `name` matches its URI SAN (SPIFFE ID); absent: any authenticated peer. */
  | { kind: 'authenticated'; name?: StringMatch }
  /** direct_remote_ip: the connection's peer; remote_ip: the original client (x-forwarded-for); source_ip: deprecated = direct. */
  | { kind: 'direct_remote_ip' | 'remote_ip' | 'source_ip'; cidr: CidrRange }
  | { kind: 'header'; header: HeaderMatcher }
  | { kind: 'url_path'; path: StringMatch }
  | { kind: 'metadata'; metadata: MetadataMatch };

export interface RbacPolicyConfig {
  name: string;
  /** ORed. */
  permissions: RbacPermission[];
  /** ORed. */
  principals: RbacPrincipal[];
}

export interface RbacRulesConfig {
  action: 'ALLOW' | 'DENY' | 'LOG';
  /** Sorted by name, as Envoy iterates its policy map in name order (the first match names the policy). */
  policies: RbacPolicyConfig[];
}

/** HTTP RBAC (rules_stat_prefix) or network RBAC (stat_prefix). */
export interface RbacConfig {
  /** Absent: the filter enforces nothing (only shadow rules, if any). */
  rules?: RbacRulesConfig;
  shadowRules?: RbacRulesConfig;
  statPrefix: string;
  shadowStatPrefix: string;
  /** Network RBAC only: evaluate once (Envoy's default ONE_TIME_ON_FIRST_BYTE) or continuously. */
  enforcement?: 'ONE_TIME_ON_FIRST_BYTE' | 'CONTINUOUS';
}

/** jwt_authn.v3.JwtRequirement. */
export type JwtRequirement =
  | { kind: 'provider'; provider: string; audiences?: string[] }
  | { kind: 'any' | 'all'; requirements: JwtRequirement[] }
  | { kind: 'allow_missing' }
  | { kind: 'allow_missing_or_failed' };

/** Where a provider looks for a token: a header (after value_prefix), a query parameter or a cookie. */
export type JwtLocation = { kind: 'header'; name: string; prefix: string } | { kind: 'param'; name: string } | { kind: 'cookie'; name: string };

export interface JwtProviderConfig {
  name: string;
  /** Empty: any issuer. */
  issuer: string;
  /** Empty: any audience. */
  audiences: string[];
  subjects?: StringMatch;
  requireExpiration: boolean;
  maxLifetimeMs?: number;
  /** The JWKS JSON text (local_jwks inline). */
  jwks: string;
  /** In Envoy's order; defaults (Authorization: Bearer, access_token) filled in when none is configured. */
  locations: JwtLocation[];
  forward: boolean;
  forwardPayloadHeader?: string;
  padForwardPayloadHeader: boolean;
  payloadInMetadata?: string;
  headerInMetadata?: string;
  failedStatusInMetadata?: string;
  /** Envoy's default is 60 s. */
  clockSkewSeconds: number;
  claimToHeaders: Array<{ header: string; claim: string }>;
  /** normalize_payload_in_metadata.space_delimited_claims. */
  spaceDelimitedClaims: string[];
}

export interface JwtRuleConfig {
  match: RouteMatch;
  /** Absent: matching requests need no token (requirement_name resolved at decode time). */
  requires?: JwtRequirement;
}

export interface JwtAuthnConfig {
  providers: Record<string, JwtProviderConfig>;
  rules: JwtRuleConfig[];
  bypassCorsPreflight: boolean;
  stripFailureResponse: boolean;
}
