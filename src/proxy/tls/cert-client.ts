// proxy/tls: calls the control plane's Istio-compatible CertificateService (istio.v1.auth.IstioCertificateService/
// CreateCertificate) with a CSR and the node's metadata as the identity claim; returns [leaf, ..., root].
import * as grpc from '@grpc/grpc-js';
import { istioCertificateService, type CertificateRequest, type CertificateResponse } from '../../envoy/istio-ca.ts';

export type CertificateSigner = (req: CertificateRequest) => Promise<string[]>;

type Unary = (req: CertificateRequest, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: CertificateResponse) => void) => void;

/** A signer over gRPC to host:port (the xDS address: istiod serves both there). `close()` releases the channel. */
export function grpcSigner(server: { host: string; port: number }, timeoutMs = 10_000): CertificateSigner & { close(): void } {
  const Ctor = grpc.makeGenericClientConstructor(istioCertificateService, 'IstioCertificateService');
  const client = new Ctor(`${server.host}:${server.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { CreateCertificate: Unary };
  const sign = ((req: CertificateRequest) => new Promise<string[]>((resolve, reject) => {
    client.CreateCertificate(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(new Error(`CreateCertificate: ${err.details || err.message}`));
      else if (!res?.certChain?.length) reject(new Error('CreateCertificate: empty certificate chain'));
      else resolve(res.certChain);
    });
  })) as CertificateSigner & { close(): void };
  sign.close = () => client.close();
  return sign;
}
