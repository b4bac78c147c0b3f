// proxy/tls: the workload certificate agent (Istio's istio-agent SDS server, in process): generates a key and CSR
// at start-up, has the control plane sign it, rotates at 80% of the certificate's lifetime with a fresh key, and
// serves the result as the SDS secrets xDS TLS contexts name: "default" (tls_certificate) and "ROOTCA"
// (validation_context). Failures retry with capped exponential backoff; the last good certificate keeps serving.
import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { realClock, type Clock, type TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { SecretConfig } from '../config/types.ts';
import { generateKeyAndCsr } from './csr.ts';
import type { CertificateSigner } from './cert-client.ts';

import { ROOT_SECRET, WORKLOAD_SECRET } from './live-secrets.ts';

export { ROOT_SECRET, WORKLOAD_SECRET };

export interface WorkloadCertOptions {
  /** spiffe://<td>/ns/<ns>/sa/<sa> this workload runs as. */
  spiffeId: string;
  signer: CertificateSigner;
  /** Node metadata sent as the identity claim (NAMESPACE, SERVICE_ACCOUNT, ...). */
  metadata: Record<string, unknown>;
  /** Requested lifetime, seconds; 0 = the CA's default (24 h). */
  ttlSeconds?: number;
  /** Fraction of the lifetime after which to rotate; default 0.8 (Istio's SECRET_GRACE_PERIOD_RATIO 0.2). */
  rotateAtFraction?: number;
  /** First retry delay after a failed request (ms), doubling up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Timers (rotation, retries). */
  clock?: Clock;
  /** Calendar time, epoch ms: certificates are valid in wall time. */
  wallNow?: () => number;
  log?: Logger;
}

export interface WorkloadCert {
  certChainPem: string; // leaf + intermediates (what we present)
  privateKeyPem: string;
  rootPem: string; // trust bundle
  notBefore: number;
  notAfter: number;
  serial: string;
}

export class WorkloadCertAgent extends EventEmitter<{ rotated: [WorkloadCert]; error: [Error] }> {
  private cert?: WorkloadCert;
  private timer?: TimerHandle;
  private stopped = false;
  private failures = 0;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  /** +1 per certificate obtained; TLS context caches key on it. */
  generation = 0;

  constructor(private readonly o: WorkloadCertOptions) {
    super();
    this.clock = o.clock ?? realClock;
    this.wallNow = o.wallNow ?? Date.now;
  }

  /** Obtain the first certificate; rejects if that fails (callers may keep running: retries are scheduled). */
  async start(): Promise<WorkloadCert> {
    this.stopped = false;
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  current(): WorkloadCert | undefined {
    return this.cert;
  }

  /** The SDS secret by name ("default" or "ROOTCA"), undefined before the first certificate or for other names. */
  secret(name: string): SecretConfig | undefined {
    const c = this.cert;
    if (!c) return undefined;
    if (name === WORKLOAD_SECRET) return { name, tlsCertificate: { certChain: { inline: c.certChainPem }, privateKey: { inline: c.privateKeyPem } } };
    if (name === ROOT_SECRET) return { name, validationContext: { trustedCa: { inline: c.rootPem }, matchSubjectAltNames: [] } };
    return undefined;
  }

  /** Ms from now until rotation is due for `c`. */
  rotationDelay(c: WorkloadCert): number {
    const f = this.o.rotateAtFraction ?? 0.8;
    return Math.max(0, c.notBefore + f * (c.notAfter - c.notBefore) - this.wallNow());
  }

  private async refresh(): Promise<WorkloadCert> {
    try {
      const { privateKeyPem, csrPem } = await generateKeyAndCsr(this.o.spiffeId);
      const chain = await this.o.signer({ csr: csrPem, validityDurationSeconds: this.o.ttlSeconds ?? 0, metadata: this.o.metadata });
      const leaf = new X509Certificate(chain[0]!);
      if (!leaf.subjectAltName?.split(', ').includes(`URI:${this.o.spiffeId}`)) throw new Error(`signed certificate is not for ${this.o.spiffeId} (${leaf.subjectAltName})`);
      if (!leaf.checkPrivateKey(await import('node:crypto').then((m) => m.createPrivateKey(privateKeyPem)))) throw new Error('signed certificate does not match our key');
      const rootPem = chain.length > 1 ? chain[chain.length - 1]! : chain[0]!;
      const c: WorkloadCert = {
        certChainPem: (chain.length > 1 ? chain.slice(0, -1) : chain).join(''),
        privateKeyPem, rootPem,
        notBefore: new Date(leaf.validFrom).getTime(), notAfter: new Date(leaf.validTo).getTime(), serial: leaf.serialNumber,
      };
      if (this.stopped) return c;
      this.cert = c;
      this.generation++;
      this.failures = 0;
      this.schedule(this.rotationDelay(c));
      this.o.log?.info({ identity: this.o.spiffeId, notAfter: new Date(c.notAfter).toISOString(), serial: c.serial }, 'workload certificate obtained');
      this.emit('rotated', c);
      return c;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (!this.stopped) {
        const base = this.o.retryMs ?? 1000;
        const wait = Math.min(base * 2 ** this.failures, this.o.maxRetryMs ?? 60_000);
        this.failures++;
        this.o.log?.warn({ identity: this.o.spiffeId, err: err.message, retryInMs: wait }, 'workload certificate request failed; keeping the current one');
        this.schedule(wait);
        if (this.listenerCount('error')) this.emit('error', err);
      }
      throw err;
    }
  }

  private schedule(ms: number): void {
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.refresh().catch(() => {});
    }, ms);
  }
}
