// ca: the crypto plumbing the certificate authority shares — WebCrypto ECDSA P-256 keys for @peculiar/x509,
// PEM encoding of keys and certificates. 'reflect-metadata' must load before @peculiar/x509 (its DI needs it).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** ECDSA P-256 with SHA-256: what Istio uses for workload keys by default when asked for EC keys. */
export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** PKCS#8 PEM ("PRIVATE KEY"), which Node's TLS and OpenSSL read. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

/** Import a PKCS#8 PEM EC P-256 private key for signing (the root key of a plugged-in CA). */
export async function importPrivateKeyPem(text: string): Promise<CryptoKey> {
  const der = pemBlocks(text, 'PRIVATE KEY')[0];
  if (!der) throw new Error('no PKCS#8 "PRIVATE KEY" block (convert EC keys with `openssl pkcs8 -topk8 -nocrypt`)');
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']) as Promise<CryptoKey>;
}

/** DER bodies of every PEM block with this label, in order. */
export function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** Split a PEM bundle into one PEM string per certificate. */
export function splitCertificates(text: string): string[] {
  return pemBlocks(text, 'CERTIFICATE').map((der) => pem('CERTIFICATE', der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer));
}

/** URI SANs of a certificate or CSR extension list. */
export function uriSans(exts: readonly x509.Extension[]): string[] {
  const out: string[] = [];
  for (const e of exts) {
    if (!(e instanceof x509.SubjectAlternativeNameExtension)) continue;
    for (const n of e.names.items) if (n.type === 'url') out.push(n.value);
  }
  return out;
}
