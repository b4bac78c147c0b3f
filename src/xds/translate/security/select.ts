// xds/translate/security: which AuthorizationPolicies and RequestAuthentications apply to a proxy, as Istio
// selects them: a policy in the root namespace (MeshConfig rootNamespace) applies mesh-wide, one in namespace N
// to N's workloads; a selector (matchLabels) narrows either to the workloads whose labels it matches. Policies
// attached by targetRef(s) are for gateways/waypoints Rigging does not model: they apply to no proxy (Istio
// does not apply them to sidecars either) and are reported (see issues.ts).
import type { ConfigObject } from '../../../config/types.ts';
import type { AuthorizationPolicySpec, RequestAuthenticationSpec, WorkloadSelector } from '../../../config/types/security.ts';
import type { Proxy, PushSnapshot } from '../../../model/types.ts';
import { labelsMatch } from '../../../model/visibility.ts';

export type AuthzPolicy = ConfigObject<AuthorizationPolicySpec>;
export type RequestAuthn = ConfigObject<RequestAuthenticationSpec>;

const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

export function rootNamespace(s: { mesh?: Pick<PushSnapshot['mesh'], 'rootNamespace'> }): string {
  return s.mesh?.rootNamespace || 'istio-system';
}

export function hasTargetRef(spec: { targetRef?: unknown; targetRefs?: unknown } | undefined): boolean {
  if (!spec || typeof spec !== 'object') return false;
  return (!!spec.targetRef && typeof spec.targetRef === 'object') || (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0);
}

export function selectorLabels(sel: WorkloadSelector | undefined): Record<string, string> | undefined {
  const ml = sel && typeof sel === 'object' ? sel.matchLabels : undefined;
  return ml && typeof ml === 'object' && !Array.isArray(ml) && Object.keys(ml).length > 0 ? ml : undefined;
}

/** Does a policy of namespace `ns` with `selector` apply to this workload? */
export function selects(s: PushSnapshot, ns: string, selector: WorkloadSelector | undefined, proxy: Pick<Proxy, 'namespace' | 'labels'>): boolean {
  if (ns !== rootNamespace(s) && ns !== proxy.namespace) return false;
  const labels = selectorLabels(selector);
  return !labels || labelsMatch(labels, proxy.labels);
}

function applicable<T extends { selector?: WorkloadSelector; targetRef?: unknown; targetRefs?: unknown }>(
  s: PushSnapshot, all: readonly ConfigObject[], proxy: Pick<Proxy, 'namespace' | 'labels'>,
): ConfigObject<T>[] {
  return (all as ConfigObject<T>[]).filter((p) => p && p.metadata && p.spec && typeof p.spec === 'object'
    && !hasTargetRef(p.spec) && selects(s, p.metadata.namespace, p.spec.selector, proxy));
}

/** AuthorizationPolicies in force for the proxy, in snapshot order (namespace, name). */
export function authorizationPoliciesFor(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>): AuthzPolicy[] {
  return applicable<AuthorizationPolicySpec>(s, s.authorizationPolicies, proxy);
}

/** RequestAuthentications in force for the proxy, in snapshot order. */
export function requestAuthenticationsFor(s: PushSnapshot, proxy: Pick<Proxy, 'namespace' | 'labels'>): RequestAuthn[] {
  return applicable<RequestAuthenticationSpec>(s, s.requestAuthentications, proxy);
}

export function isDryRun(p: ConfigObject): boolean {
  return String(p.metadata.annotations?.[DRY_RUN_ANNOTATION] ?? '').toLowerCase() === 'true';
}

/** The policies' action (default ALLOW); unknown values are treated as DENY so a typo never opens access. */
export function actionOf(p: AuthzPolicy): 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM' {
  const a = p.spec.action;
  if (a === undefined || a === null) return 'ALLOW';
  return a === 'ALLOW' || a === 'DENY' || a === 'AUDIT' || a === 'CUSTOM' ? a : 'DENY';
}
