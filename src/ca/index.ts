// ca: certificate authority stage — root (generated or plugged in), CSR signing into SPIFFE workload
// certificates, and the Istio-compatible CertificateService handler the control plane serves.
export { CertificateAuthority, type CaOptions, type SignOptions } from './authority.ts';
export { certificateServiceHandlers, claimedIdentity, istioCertificateService, type CertificateServiceStats } from './service.ts';
export { spiffeUri, parseSpiffeUri, type WorkloadIdentity } from './spiffe.ts';
