// proxy/tls: workload identity and TLS for the proxy — the certificate agent (CSR -> CertificateService, rotation,
// SDS "default"/"ROOTCA"), Node TLS options from xDS TLS contexts, the tls_inspector, TLS on sockets, peer identity.
export { WorkloadCertAgent, WORKLOAD_SECRET, ROOT_SECRET, type WorkloadCert, type WorkloadCertOptions } from './agent.ts';
export { grpcSigner, type CertificateSigner } from './cert-client.ts';
export { generateKeyAndCsr } from './csr.ts';
export { clientTlsOptions, serverTlsOptions, resolveTls, secretSources, mapSecrets, sanAllowed, certSans, type SecretSource, type Prepared } from './context.ts';
export { inspectClientHello, MAX_CLIENT_HELLO, type Inspection } from './inspector.ts';
export { terminateTls, originateTls, ReplaySocket, type ByteReader } from './stream.ts';
export { peerIdentity, xfccElement, type PeerIdentity } from './peer.ts';
export { LiveSecrets, type AgentLike } from './live-secrets.ts';
export { applyXfcc } from './xfcc.ts';
export { tlsIO, writesThrough } from './io.ts';
export { tlsDialIO, tlsForEndpoint } from './upstream.ts';
export { inspectConnection, acceptTls, LISTENER_TLS_INSPECTOR, type Inspected } from './downstream.ts';
