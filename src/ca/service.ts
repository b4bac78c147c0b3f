// ca: the CertificateService handler on the control plane's xDS port (Istio's istiod serves the same API on its
// xDS port): verifies that the CSR asks for the identity the caller claims and signs it.
//
// Trust: Istio's agents prove who they are with a Kubernetes service-account JWT that istiod checks with the
// API server. Local mode has no platform token, so the caller's claim (node metadata NAMESPACE + SERVICE_ACCOUNT
// in the request's metadata) is believed: trust on first use. Anyone who can reach the port can obtain a
// certificate for any identity in the trust domain; keep the port on loopback (the default) in local mode.
import * as grpc from '@grpc/grpc-js';
import type { CertificateRequest, CertificateResponse } from '../envoy/istio-ca.ts';
import { istioCertificateService } from '../envoy/istio-ca.ts';
import { isRigError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { CertificateAuthority } from './authority.ts';
import { spiffeUri } from './spiffe.ts';

export { istioCertificateService };

/** The SPIFFE ID a request claims, from its node metadata; undefined when it names no service account. */
export function claimedIdentity(ca: CertificateAuthority, md: Record<string, unknown>): string | undefined {
  const sa = typeof md.SERVICE_ACCOUNT === 'string' ? md.SERVICE_ACCOUNT : undefined;
  const ns = typeof md.NAMESPACE === 'string' ? md.NAMESPACE : undefined;
  if (!sa) return undefined;
  if (sa.startsWith('spiffe://')) return sa;
  return spiffeUri({ trustDomain: ca.trustDomain, namespace: ns || 'default', serviceAccount: sa });
}

export interface CertificateServiceStats { issued: number; rejected: number }

/** Handlers for istioCertificateService; `stats` counts outcomes (for the control plane's monitoring). */
export function certificateServiceHandlers(ca: CertificateAuthority, log?: Logger, stats: CertificateServiceStats = { issued: 0, rejected: 0 }): grpc.UntypedServiceImplementation {
  return {
    CreateCertificate: (call: grpc.ServerUnaryCall<CertificateRequest, CertificateResponse>, cb: grpc.sendUnaryData<CertificateResponse>) => {
      const req = call.request;
      const identity = claimedIdentity(ca, req.metadata ?? {});
      if (!identity) {
        stats.rejected++;
        cb({ code: grpc.status.UNAUTHENTICATED, details: 'request metadata names no SERVICE_ACCOUNT (and NAMESPACE) to check the CSR against' });
        return;
      }
      ca.signCsr(req.csr, { identity, ttlMs: req.validityDurationSeconds * 1000 }).then((certChain) => {
        stats.issued++;
        log?.info({ identity, ttlSeconds: req.validityDurationSeconds || undefined }, 'issued workload certificate');
        cb(null, { certChain });
      }, (e: unknown) => {
        stats.rejected++;
        log?.warn({ identity, err: errorMessage(e) }, 'certificate request rejected');
        cb({ code: isRigError(e) ? grpc.status.PERMISSION_DENIED : grpc.status.INTERNAL, details: errorMessage(e) });
      });
    },
  };
}
