// ca: the certificate authority — a self-signed root (generated, or plugged in from a directory as Istio's
// cacerts secret: ca-cert.pem/ca-key.pem signing with root-cert.pem as trust anchor and cert-chain.pem between)
// signing workload CSRs into SPIFFE certificates (URI SAN only, as Istio's), 24 h by default.
import { readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RigError, ErrorCodes } from '../common/errors.ts';
import { EC_ALG, generateKeyPair, importPrivateKeyPem, privateKeyPem, splitCertificates, uriSans, x509 } from './crypto.ts';
import { parseSpiffeUri, spiffeUri, type WorkloadIdentity } from './spiffe.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface CaOptions {
  /** SPIFFE trust domain; default "cluster.local" as Istio's. */
  trustDomain?: string;
  /** Workload certificate lifetime when the request names none; default 24 h (Istio's DEFAULT_WORKLOAD_CERT_TTL). */
  workloadTtlMs?: number;
  /** Longest lifetime a request may ask for; default 90 days (Istio's MAX_WORKLOAD_CERT_TTL). */
  maxWorkloadTtlMs?: number;
  /** Generated root lifetime; default 10 years (Istio's self-signed root). */
  rootTtlMs?: number;
  /** Wall-clock time in epoch ms (certificate validity is calendar time); injectable for tests. */
  now?: () => number;
}

export interface SignOptions {
  /** Requested lifetime (capped at maxWorkloadTtlMs); default workloadTtlMs. */
  ttlMs?: number;
  /** The SPIFFE URI the caller proved or claimed; the CSR must ask for exactly this identity. */
  identity?: string;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return b.toString('hex');
}

/** Issued certificates start a minute early: a peer whose clock is slightly behind must still accept them. */
const BACKDATE_MS = 60_000;

export class CertificateAuthority {
  readonly trustDomain: string;
  private readonly workloadTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly signingCert: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
    /** PEM certificates from the signing cert up to and including the root (the tail of every issued chain). */
    private readonly issuerChain: string[],
    private readonly rootPem: string,
    opts: CaOptions,
  ) {
    this.trustDomain = opts.trustDomain ?? 'cluster.local';
    this.workloadTtlMs = opts.workloadTtlMs ?? DAY;
    this.maxTtlMs = opts.maxWorkloadTtlMs ?? 90 * DAY;
    this.now = opts.now ?? Date.now;
  }

  /** A new self-signed root (O=<trust domain>, as Istio's self-signed CA names itself). */
  static async generate(opts: CaOptions = {}): Promise<CertificateAuthority> {
    const now = (opts.now ?? Date.now)();
    const td = opts.trustDomain ?? 'cluster.local';
    const keys = await generateKeyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `O=${td}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + (opts.rootTtlMs ?? 3650 * DAY)),
      keys,
      signingAlgorithm: EC_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pem = cert.toString('pem') + '\n';
    return new CertificateAuthority(cert, keys.privateKey, [pem], pem, opts);
  }

  /**
   * Plugged-in CA material from `dir`: root-cert.pem (trust anchor), the signing pair ca-cert.pem + ca-key.pem
   * (an intermediate) or, without them, root-cert.pem + root-key.pem, and optional cert-chain.pem (from the
   * signing cert up to the root). Throws RigError CA_SIGN naming the file that is missing or unreadable.
   */
  static async load(dir: string, opts: CaOptions = {}): Promise<CertificateAuthority> {
    const read = (name: string): string => {
      try { return readFileSync(join(dir, name), 'utf8'); } catch (e) {
        throw new RigError(ErrorCodes.CA_SIGN, `CA directory ${dir}: cannot read ${name}: ${(e as Error).message}`);
      }
    };
    const rootPem = read('root-cert.pem');
    const intermediate = existsSync(join(dir, 'ca-cert.pem'));
    const certFile = intermediate ? 'ca-cert.pem' : 'root-cert.pem';
    const keyFile = intermediate ? 'ca-key.pem' : 'root-key.pem';
    let cert: x509.X509Certificate;
    let key: CryptoKey;
    try { cert = new x509.X509Certificate(read(certFile)); } catch (e) {
      if (e instanceof RigError) throw e;
      throw new RigError(ErrorCodes.CA_SIGN, `CA directory ${dir}: ${certFile} is not a PEM certificate`);
    }
    try { key = await importPrivateKeyPem(read(keyFile)); } catch (e) {
      if (e instanceof RigError) throw e;
      throw new RigError(ErrorCodes.CA_SIGN, `CA directory ${dir}: ${keyFile}: ${(e as Error).message}`);
    }
    let chain = existsSync(join(dir, 'cert-chain.pem')) ? splitCertificates(read('cert-chain.pem')) : [];
    if (!chain.length) chain = intermediate ? [cert.toString('pem') + '\n', ...splitCertificates(rootPem)] : splitCertificates(rootPem);
    return new CertificateAuthority(cert, key, chain, rootPem.endsWith('\n') ? rootPem : rootPem + '\n', opts);
  }

  /** Write root-cert.pem, root-key.pem and cert-chain.pem so a later run can load the same root (generated roots only). */
  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'root-cert.pem'), this.rootPem);
    writeFileSync(join(dir, 'root-key.pem'), await privateKeyPem(this.signingKey), { mode: 0o600 });
    writeFileSync(join(dir, 'cert-chain.pem'), this.issuerChain.join(''));
  }

  /** The trust bundle every workload validates peers with. */
  rootCertPem(): string {
    return this.rootPem;
  }

  /**
   * Sign a PEM PKCS#10 CSR. The CSR must carry a valid signature and exactly one URI SAN, a SPIFFE ID of this
   * trust domain, equal to `identity` when given (the identity the caller authenticated as). Returns the chain
   * [leaf, ...intermediates, root] as Istio's CertificateService does.
   */
  async signCsr(csrPem: string, o: SignOptions = {}): Promise<string[]> {
    let csr: x509.Pkcs10CertificateRequest;
    try { csr = new x509.Pkcs10CertificateRequest(csrPem); } catch {
      throw new RigError(ErrorCodes.CA_SIGN, 'CSR is not a PEM PKCS#10 certificate request');
    }
    if (!(await csr.verify())) throw new RigError(ErrorCodes.CA_SIGN, 'CSR signature does not verify');
    const sans = uriSans(csr.extensions);
    if (sans.length !== 1) throw new RigError(ErrorCodes.CA_SIGN, `CSR must request exactly one URI SAN (the SPIFFE ID), has ${sans.length}`);
    const id = parseSpiffeUri(sans[0]!);
    if (!id) throw new RigError(ErrorCodes.CA_SIGN, `CSR SAN ${sans[0]} is not spiffe://<trust domain>/ns/<ns>/sa/<sa>`);
    if (id.trustDomain !== this.trustDomain) throw new RigError(ErrorCodes.CA_SIGN, `CSR SAN ${sans[0]} is not in trust domain ${this.trustDomain}`);
    if (o.identity !== undefined && sans[0] !== o.identity) {
      throw new RigError(ErrorCodes.CA_SIGN, `CSR asks for ${sans[0]} but the caller is ${o.identity}`);
    }
    const ttl = Math.min(o.ttlMs && o.ttlMs > 0 ? o.ttlMs : this.workloadTtlMs, this.maxTtlMs);
    return this.issueFor(csr.publicKey, id, ttl);
  }

  /** Key and chain for an identity in one step (for callers without their own key, e.g. tests and gateways). */
  async issue(id: Omit<WorkloadIdentity, 'trustDomain'>, ttlMs?: number): Promise<{ certChain: string[]; privateKeyPem: string }> {
    const keys = await generateKeyPair();
    const certChain = await this.issueFor(keys.publicKey, { ...id, trustDomain: this.trustDomain }, ttlMs ?? this.workloadTtlMs);
    return { certChain, privateKeyPem: await privateKeyPem(keys.privateKey) };
  }

  private async issueFor(publicKey: x509.PublicKey | CryptoKey, id: WorkloadIdentity, ttlMs: number): Promise<string[]> {
    const now = this.now();
    const notAfter = Math.min(now + ttlMs, this.signingCert.notAfter.getTime());
    try {
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: '', // Istio's workload certs name the workload only in the SAN
        issuer: this.signingCert.subjectName,
        notBefore: new Date(now - BACKDATE_MS),
        notAfter: new Date(notAfter),
        publicKey,
        signingKey: this.signingKey,
        signingAlgorithm: EC_ALG,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.BasicConstraintsExtension(false, undefined, true),
          await x509.AuthorityKeyIdentifierExtension.create(this.signingCert, false),
          // with an empty subject the SAN must be critical (RFC 5280 4.2.1.6)
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeUri(id) }], true),
        ],
      });
      return [leaf.toString('pem') + '\n', ...this.issuerChain];
    } catch (e) {
      throw new RigError(ErrorCodes.CA_SIGN, `signing ${spiffeUri(id)}: ${(e as Error).message}`);
    }
  }
}
