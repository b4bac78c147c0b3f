// proxy/tls: the workload's own key and certificate signing request, made locally at start-up as Istio's agent
// does (the private key never leaves the proxy): ECDSA P-256, one URI SAN = the workload's SPIFFE ID.
// @peculiar/x509 (+ reflect-metadata) is loaded on first use: it adds ~20 MB RSS, and proxies without a
// service account never make a CSR.
import { webcrypto } from 'node:crypto';

type X509 = typeof import('@peculiar/x509');
let x509Lib: Promise<X509> | undefined;
function loadX509(): Promise<X509> {
  x509Lib ??= import('reflect-metadata').then(() => import('@peculiar/x509')).then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Crypto);
    return m;
  });
  return x509Lib;
}

export interface KeyAndCsr {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  csrPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function generateKeyAndCsr(spiffeId: string): Promise<KeyAndCsr> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return { privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), csrPem: csr.toString('pem') };
}
