// xds/translate/security: what the security translation could not do as written, as ValidationIssues naming the
// policy and field (for logs and the debug API): CUSTOM actions whose provider is unusable (enforced as DENY) or that
// meet another provider on one workload, targetRef policies applied to
// no proxy, `when` keys with no translation, and jwksUri values whose JWKS could not be fetched. Pure.
import type { ValidationIssue } from '../../../config/types.ts';
import { ErrorCodes } from '../../../common/errors.ts';
import type { PushSnapshot, Service } from '../../../model/types.ts';
import { customProblems, providerOf } from './ext-authz.ts';
import { hasTargetRef, actionOf, isDryRun, rootNamespace, selectorLabels, type AuthzPolicy, type RequestAuthn } from './select.ts';
import { conditionMatcher } from './rule.ts';
import { jwksFor } from './jwks.ts';

/** Takes a snapshot, or just its security objects (the control plane can report without building one). */
export function securityIssues(
  s: Pick<PushSnapshot, 'authorizationPolicies' | 'requestAuthentications' | 'jwks'> & Partial<Pick<PushSnapshot, 'mesh' | 'domainSuffix'>>,
  lookup?: (host: string) => Service | undefined,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  // without the mesh config and registry the provider cannot be checked: every CUSTOM policy is reported
  const custom = customProblems(s.authorizationPolicies as AuthzPolicy[], s.mesh, lookup, s.domainSuffix);
  const warn = (kind: string, o: { metadata: { namespace: string; name: string } }, path: string, code: string, message: string) =>
    out.push({ severity: 'warning', code, kind, name: `${o.metadata.namespace}/${o.metadata.name}`, path, message });
  for (const p of s.authorizationPolicies as AuthzPolicy[]) {
    if (!p?.spec || typeof p.spec !== 'object') continue;
    if (hasTargetRef(p.spec)) warn('AuthorizationPolicy', p, p.spec.targetRef ? 'spec.targetRef' : 'spec.targetRefs', ErrorCodes.XDS_AUTHZ_UNSUPPORTED, 'policies attached by targetRef are not applied by Rigging (no waypoint or Gateway API gateway); use a selector');
    const bad = actionOf(p) === 'CUSTOM' ? custom.get(p) : undefined;
    if (bad) {
      const checked = s.mesh !== undefined && lookup !== undefined;
      warn('AuthorizationPolicy', p, 'spec.provider.name', ErrorCodes.XDS_AUTHZ_UNSUPPORTED, checked
        ? `CUSTOM provider unusable (${bad}): as Istio does, the requests its rules match are denied`
        : `CUSTOM: ${bad}; otherwise, as Istio does, the requests its rules match are denied`);
    }
    (Array.isArray(p.spec.rules) ? p.spec.rules : []).forEach((r, i) => {
      (Array.isArray(r?.when) ? r.when : []).forEach((w, j) => {
        const hasValues = (Array.isArray(w?.values) && w.values.length > 0) || (Array.isArray(w?.notValues) && w.notValues.length > 0);
        if (w && typeof w.key === 'string' && hasValues && !conditionMatcher(w.key, { namespace: p.metadata.namespace, tcp: false, onHttpOnly: 'drop-field' })) {
          warn('AuthorizationPolicy', p, `spec.rules[${i}].when[${j}].key`, ErrorCodes.XDS_AUTHZ_UNSUPPORTED, `condition ${w.key} is not supported: rule ${i} matches nothing`);
        }
      });
    });
  }
  out.push(...providerConflicts(s.authorizationPolicies as AuthzPolicy[], rootNamespace(s)));
  for (const p of s.requestAuthentications as RequestAuthn[]) {
    if (!p?.spec || typeof p.spec !== 'object') continue;
    if (hasTargetRef(p.spec)) warn('RequestAuthentication', p, p.spec.targetRef ? 'spec.targetRef' : 'spec.targetRefs', ErrorCodes.XDS_AUTHZ_UNSUPPORTED, 'policies attached by targetRef are not applied by Rigging (no waypoint or Gateway API gateway); use a selector');
    (Array.isArray(p.spec.jwtRules) ? p.spec.jwtRules : []).forEach((r, i) => {
      if (!r || typeof r !== 'object') return;
      const c = jwksFor(s, r);
      if (c.source === 'unavailable' && !c.uri) {
        warn('RequestAuthentication', p, `spec.jwtRules[${i}].jwks`, ErrorCodes.XDS_AUTHZ_UNSUPPORTED, `${c.error}; every token of issuer ${r.issuer ?? '(none)'} fails verification`);
      } else if (c.source === 'unavailable') { // c.uri is set: the rule's jwksUri or oidc:<issuer>
        warn('RequestAuthentication', p, `spec.jwtRules[${i}].jwksUri`, ErrorCodes.XDS_JWKS_FETCH, `JWKS from ${c.uri}: ${c.error}; every token of issuer ${r.issuer ?? '(none)'} fails verification until it is fetched`);
      }
    });
  }
  return out;
}

/**
 * Enforced CUSTOM policies naming different providers that can select one workload (namespaces compatible: the same,
 * or one is the root namespace; no label both selectors name with different values). One provider per workload is
 * what Rigging applies (planCustom, as Istio did before it allowed several): on such a workload the CUSTOM rules of
 * both deny, so each pair is reported once, naming both policies and providers.
 */
function providerConflicts(policies: readonly AuthzPolicy[], root: string): ValidationIssue[] {
  const custom = policies.filter((p) => p?.spec && typeof p.spec === 'object' && actionOf(p) === 'CUSTOM' && !isDryRun(p) && !hasTargetRef(p.spec) && providerOf(p));
  const out: ValidationIssue[] = [];
  for (let i = 0; i < custom.length; i++) {
    for (let j = i + 1; j < custom.length; j++) {
      const a = custom[i]!, b = custom[j]!;
      if (providerOf(a) === providerOf(b)) continue;
      const na = a.metadata.namespace, nb = b.metadata.namespace;
      if (na !== nb && na !== root && nb !== root) continue;
      const la = selectorLabels(a.spec.selector) ?? {}, lb = selectorLabels(b.spec.selector) ?? {};
      if (Object.keys(la).some((k) => k in lb && lb[k] !== la[k])) continue;
      out.push({
        severity: 'warning', code: ErrorCodes.XDS_AUTHZ_UNSUPPORTED, kind: 'AuthorizationPolicy', name: `${nb}/${b.metadata.name}`, path: 'spec.provider.name',
        message: `CUSTOM provider ${providerOf(b)} and ${na}/${a.metadata.name}'s provider ${providerOf(a)} can apply to the same workload; one provider per workload is supported: where both apply, the requests their rules match are denied`,
      });
    }
  }
  return out;
}
