// test/proxy (tls): what an accepted mTLS connection costs in certificate reads — each getPeerCertificate() /
// getCertificate() converts a whole X509 to an object and hashes it three ways, and a new upstream connection already
// costs ~10M instructions (issue 3: pools re-dialling at 200 connections). The peer's certificate is read once per
// handshake and our own once per secure context, with the identity (SPIFFE IDs, hash) unchanged. Counted, not timed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { acceptTls, inspectConnection } from '../../src/proxy/tls/downstream.ts';
import type { PeerIdentity } from '../../src/proxy/tls/peer.ts';
import type { SecretSource } from '../../src/proxy/tls/context.ts';
import type { DownstreamTlsConfig } from '../../src/proxy/config/types.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';

test('an accepted mTLS connection reads the peer certificate once and our own once per context', { timeout: 15_000 }, async () => {
  const ca = await CertificateAuthority.generate();
  const srv = await ca.issue({ namespace: 'default', serviceAccount: 'server' });
  const cli = await ca.issue({ namespace: 'default', serviceAccount: 'client' });
  const secrets: SecretSource = {
    get: (n) => n === 'default' ? { name: n, tlsCertificate: { certChain: { inline: srv.certChain.join('') }, privateKey: { inline: srv.privateKeyPem } } } as never
      : n === 'ROOTCA' ? { name: n, validationContext: { trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [] } } as never : undefined,
    generation: 1,
  };
  const cfg = {
    certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['http/1.1'],
    matchSubjectAltNames: [{ kind: 'prefix', value: 'spiffe://', ignoreCase: false }], requireClientCertificate: true,
  } as unknown as DownstreamTlsConfig;
  const calls = { peer: 0, own: 0 };
  const proto = TLSSocket.prototype as unknown as Record<'getPeerCertificate' | 'getCertificate', (...a: unknown[]) => unknown>;
  const origPeer = proto.getPeerCertificate, origOwn = proto.getCertificate;
  let server: Server | undefined;
  const identities: PeerIdentity[] = [];
  try {
    server = createServer((raw) => {
      void inspectConnection(raw, documentedIO, 2000)
        .then((r) => acceptTls(raw, r.initial, cfg, secrets, documentedIO))
        .then(({ tls, peer }) => { identities.push(peer); tls.end('ok'); }, () => raw.destroy());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    // count reads on server-side sockets only (the client's own verification reads its peer too)
    proto.getPeerCertificate = function (this: TLSSocket, ...a: unknown[]) { if ((this as unknown as { _tlsOptions?: { isServer?: boolean } })._tlsOptions?.isServer) calls.peer++; return origPeer.apply(this, a); };
    proto.getCertificate = function (this: TLSSocket, ...a: unknown[]) { if ((this as unknown as { _tlsOptions?: { isServer?: boolean } })._tlsOptions?.isServer) calls.own++; return origOwn.apply(this, a); };
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = tlsConnect({ host: '127.0.0.1', port, cert: cli.certChain.join(''), key: cli.privateKeyPem, ca: ca.rootCertPem(), checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] });
        c.on('data', () => {});
        c.once('end', () => { c.destroy(); resolve(); });
        c.once('error', reject);
      });
    }
  } finally {
    proto.getPeerCertificate = origPeer;
    proto.getCertificate = origOwn;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
  assert.equal(identities.length, 2);
  assert.deepEqual(calls, { peer: 2, own: 1 }, 'one peer read per handshake, one own-certificate read per context');
  const der = new (await import('node:crypto')).X509Certificate(cli.certChain[0]!).raw;
  for (const p of identities) {
    assert.equal(p.principal, 'spiffe://cluster.local/ns/default/sa/client');
    assert.equal(p.localPrincipal, 'spiffe://cluster.local/ns/default/sa/server');
    assert.equal(p.hash, createHash('sha256').update(der).digest('hex'));
  }
});
