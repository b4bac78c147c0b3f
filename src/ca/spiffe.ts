// ca: SPIFFE identities as Istio writes them — spiffe://<trust domain>/ns/<namespace>/sa/<service account>.

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export function spiffeUri(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parse Istio's SPIFFE form; undefined for anything else (other path shapes, bad characters). */
export function parseSpiffeUri(uri: string): WorkloadIdentity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  const [, trustDomain, namespace, serviceAccount] = m as unknown as [string, string, string, string];
  if (!/^[a-z0-9._-]+$/i.test(trustDomain) || !NAME.test(namespace) || !NAME.test(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}
