// test/ca: the CertificateService over real gRPC on 127.0.0.1 — the proxy's agent gets a SPIFFE certificate for its
// claimed identity, rotates at 80% of its lifetime on fake time, and two agents' certificates make an mTLS
// handshake with the SAN pinned; a CSR for another identity is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../../src/common/clock.ts';
import { CertificateAuthority, certificateServiceHandlers, istioCertificateService } from '../../src/ca/index.ts';
import { WorkloadCertAgent, grpcSigner, generateKeyAndCsr, clientTlsOptions, serverTlsOptions, terminateTls, originateTls, peerIdentity, xfccElement, secretSources, type SecretSource } from '../../src/proxy/tls/index.ts';
import type { DownstreamTlsConfig, UpstreamTlsConfig } from '../../src/proxy/config/types.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';

const T0 = Date.UTC(2031, 5, 1);

async function startCa(clock: FakeClock, ttlMs = 24 * 3600_000): Promise<{ port: number; server: grpc.Server; ca: CertificateAuthority; stats: { issued: number; rejected: number } }> {
  const ca = await CertificateAuthority.generate({ now: () => T0 + clock.now(), workloadTtlMs: ttlMs });
  const server = new grpc.Server();
  const stats = { issued: 0, rejected: 0 };
  server.addService(istioCertificateService, certificateServiceHandlers(ca, undefined, stats));
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, server, ca, stats };
}

const id = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;
const agentSource = (a: WorkloadCertAgent): SecretSource => ({ get: (n) => a.secret(n), get generation() { return a.generation; } });

test('agent obtains, rotates at 80% with a new key, and keeps its certificate when the CA is down', async () => {
  const clock = new FakeClock();
  const { port, server, stats } = await startCa(clock, 10 * 3600_000);
  const signer = grpcSigner({ host: '127.0.0.1', port });
  const agent = new WorkloadCertAgent({ spiffeId: id('cart'), signer, metadata: { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart' }, clock, wallNow: () => T0 + clock.now(), retryMs: 1000 });
  try {
    const first = await agent.start();
    assert.equal(new X509Certificate(first.certChainPem).subjectAltName, `URI:${id('cart')}`);
    assert.equal(first.notAfter - first.notBefore, 10 * 3600_000 + 60_000);
    assert.ok(agent.secret('default')?.tlsCertificate?.privateKey.inline?.includes('PRIVATE KEY'));
    assert.ok(agent.secret('ROOTCA')?.validationContext?.trustedCa?.inline?.includes('CERTIFICATE'));
    const due = agent.rotationDelay(first);
    assert.equal(due, first.notBefore + 0.8 * (first.notAfter - first.notBefore) - T0);
    const rotated = new Promise<void>((res) => agent.once('rotated', () => res()));
    clock.advance(due - 1);
    assert.equal(agent.current()!.serial, first.serial);
    clock.advance(1);
    await rotated;
    const second = agent.current()!;
    assert.notEqual(second.serial, first.serial);
    assert.notEqual(second.privateKeyPem, first.privateKeyPem);
    assert.equal(stats.issued, 2);
    // CA unreachable: the rotation fails, the old certificate stays, a retry is scheduled
    await new Promise<void>((res) => server.tryShutdown(() => res()));
    const failed = new Promise<Error>((res) => agent.once('error', res));
    clock.advance(agent.rotationDelay(second));
    assert.match((await failed).message, /CreateCertificate/);
    assert.equal(agent.current()!.serial, second.serial);
    assert.ok(clock.pending() >= 1);
  } finally {
    agent.stop();
    signer.close();
    server.forceShutdown();
  }
});

test('a CSR for another identity than the claimed one is refused', async () => {
  const clock = new FakeClock();
  const { port, server, stats } = await startCa(clock);
  const signer = grpcSigner({ host: '127.0.0.1', port });
  try {
    const { csrPem } = await generateKeyAndCsr(id('admin'));
    await assert.rejects(signer({ csr: csrPem, validityDurationSeconds: 0, metadata: { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart' } }), /caller is spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart/);
    await assert.rejects(signer({ csr: csrPem, validityDurationSeconds: 0, metadata: {} }), /SERVICE_ACCOUNT/);
    assert.equal(stats.rejected, 2);
  } finally {
    signer.close();
    server.forceShutdown();
  }
});

const upstreamTls = (sans: string[], alpn: string[]): UpstreamTlsConfig => ({
  certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: alpn,
  matchSubjectAltNames: sans.map((value) => ({ kind: 'exact', value, ignoreCase: false })), sni: 'outbound_.80_._.server.shop.svc.cluster.local',
});
const downstreamTls = (): DownstreamTlsConfig => ({
  certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['h2', 'http/1.1'],
  matchSubjectAltNames: [], requireClientCertificate: true,
});

test('mTLS between two workloads: SAN pinned, client identity and XFCC on the server side, ALPN picks h2', async () => {
  // real handshakes check validity against the real time: the CA's and the agents' wall clocks say now
  const clock = new FakeClock(Date.now() - T0);
  const { port, server } = await startCa(clock);
  const signer = grpcSigner({ host: '127.0.0.1', port });
  const mk = (sa: string) => new WorkloadCertAgent({ spiffeId: id(sa), signer, metadata: { NAMESPACE: 'shop', SERVICE_ACCOUNT: sa }, clock, wallNow: () => T0 + clock.now() });
  const client = mk('client'), srv = mk('server');
  let listener: Server | undefined;
  try {
    await Promise.all([client.start(), srv.start()]);
    const so = serverTlsOptions(downstreamTls(), secretSources(agentSource(srv)));
    assert.ok('options' in so);
    type Seen = { principal?: string; xfcc?: string; alpn: string | false };
    const accepted: Promise<Seen | Error>[] = [];
    listener = createServer((s) => {
      // the inspector's bytes: read the first chunk, then replay it into the handshake
      accepted.push(new Promise<Seen>((res, rej) => {
        s.once('data', (first: Buffer) => {
          s.pause();
          terminateTls(s, first, so.options, so.sans, documentedIO, 5000).then((tls) => {
            const p = peerIdentity(tls);
            res({ principal: p.principal, xfcc: xfccElement(p), alpn: tls.alpnProtocol ?? false });
            tls.end();
          }, rej);
        });
      }).catch((e: Error) => e) as Promise<Seen | Error>);
    });
    await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', () => r()));
    const lport = (listener.address() as { port: number }).port;
    const dial = (): Socket => connect({ host: '127.0.0.1', port: lport });

    const good = clientTlsOptions(upstreamTls([id('server')], ['istio', 'h2']), secretSources(agentSource(client)), true);
    assert.ok('options' in good);
    const tls = await originateTls(dial(), good.options);
    assert.equal(tls.alpnProtocol, 'h2');
    tls.end(); // end, not destroy: the client's last handshake flight must reach the server
    const seen = await accepted[0]! as Seen;
    assert.equal(seen.principal, id('client'));
    assert.equal(seen.alpn, 'h2');
    assert.match(seen.xfcc!, new RegExp(`^By=${id('server')};Hash=[0-9a-f]{64};Subject="";URI=${id('client')}$`));

    // pinned to another identity: the client refuses the server's certificate
    const wrong = clientTlsOptions(upstreamTls([id('payments')], ['istio']), secretSources(agentSource(client)));
    assert.ok('options' in wrong);
    await assert.rejects(originateTls(dial(), wrong.options), /does not match/);
    await accepted[1];

    // no client certificate: the server requires one
    const anon = clientTlsOptions({ ...upstreamTls([], []), certificateSdsNames: [] }, secretSources(agentSource(client)));
    assert.ok('options' in anon);
    const t3 = await originateTls(dial(), anon.options).catch((e: Error) => e);
    if (!(t3 instanceof Error)) {
      // TLS 1.3: the client learns of the rejection only when it reads
      await new Promise((r) => { t3.once('close', r); t3.once('error', r); t3.resume(); });
    }
    const refused = await accepted[2];
    assert.ok(refused instanceof Error && /certificate/.test(refused.message), String(refused));
  } finally {
    listener?.close();
    client.stop(); srv.stop();
    signer.close();
    server.forceShutdown();
  }
});

test('contexts wait for SDS secrets that have not arrived', () => {
  const none: SecretSource = { get: () => undefined, generation: 0 };
  const r = clientTlsOptions(upstreamTls([], ['istio']), none);
  assert.ok('error' in r && /SDS secret default/.test(r.error));
});
