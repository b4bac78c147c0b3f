// config/validation: RequestAuthentication — schema and Istio's rules for JWT rules (issuer, JWKS, token locations).
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asStr, isPlainObject } from './context.ts';
import { arr, bool, dur, enm, obj, str, type Schema } from './schema.ts';
import { checkPolicyTargets, policyTargetReference, policyTargetReferences, typeWorkloadSelector } from './common.ts';

/** A JWKS URL must be http(s) with a host. */
function jwksUriProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'url must have scheme http:// or https://';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `url must have scheme http:// or https:// (got "${u.protocol.replace(/:$/, '')}")`;
  return undefined;
}

const nonEmpty = str({ minLength: 1 });
const jwksUri = str({ minLength: 1, maxLength: 2048, check: jwksUriProblem });

const jwtRule: Schema = obj({
  issuer: nonEmpty,
  audiences: arr(nonEmpty),
  jwksUri,
  jwks_uri: jwksUri,
  jwks: str(),
  fromHeaders: arr(obj({ name: nonEmpty, prefix: str() }, { required: ['name'] })),
  fromParams: arr(nonEmpty),
  fromCookies: arr(nonEmpty),
  outputPayloadToHeader: str(),
  forwardOriginalToken: bool,
  outputClaimToHeaders: arr(obj({ header: str({ minLength: 1, pattern: /^[-_A-Za-z0-9]+$/, patternHint: '^[-_A-Za-z0-9]+$' }), claim: nonEmpty }, { required: ['header', 'claim'] })),
  spaceDelimitedClaims: arr(nonEmpty, { maxItems: 64 }),
  timeout: dur,
  presence: enm(['OPTIONAL', 'REQUIRED']),
});

export const requestAuthenticationSpec: Schema = obj({
  selector: typeWorkloadSelector,
  targetRef: policyTargetReference,
  targetRefs: policyTargetReferences,
  jwtRules: arr(jwtRule, { maxItems: 4096 }),
});

export function checkRequestAuthentication(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  checkPolicyTargets(spec, issues);
  asArr(spec.jwtRules).forEach((r, i) => {
    if (!isPlainObject(r)) return;
    const rp = `spec.jwtRules[${i}]`;
    const uris = ['jwksUri', 'jwks_uri', 'jwks'].filter((f) => r[f] !== undefined && r[f] !== null);
    if (uris.length > 1) issues.error(`${rp}.${uris[1]}`, 'only one of jwks or jwksUri can be set');
    if (!asStr(r.issuer) && !asStr(r.jwksUri) && !asStr(r.jwks_uri)) issues.error(`${rp}.issuer`, 'issuer or jwksUri must be non-empty string');
    if (typeof r.jwks === 'string' && r.jwks !== '') {
      try {
        const set = JSON.parse(r.jwks) as unknown;
        if (!isPlainObject(set) || !Array.isArray(set.keys)) issues.error(`${rp}.jwks`, 'jwks parse error: a JWKS is a JSON object with a "keys" array');
        else if (set.keys.some((k) => isPlainObject(k) && ('d' in k || 'k' in k))) issues.warn(`${rp}.jwks`, 'jwks contains private key material; only public keys are used for verification');
      } catch (e) {
        issues.error(`${rp}.jwks`, `jwks parse error: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  });
}
