// ca: tests for the certificate authority — SPIFFE SANs, validity from injected time, identity checks, plugged-in roots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from './authority.ts';
import { EC_ALG, generateKeyPair, x509 } from './crypto.ts';
import { isRigError } from '../common/errors.ts';

async function csrFor(uris: string[]): Promise<string> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: EC_ALG,
    extensions: uris.length ? [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))] : [],
  });
  return csr.toString('pem');
}

const T0 = Date.UTC(2030, 0, 1);

test('signs a CSR into a 24 h SPIFFE certificate chained to the root', async () => {
  const ca = await CertificateAuthority.generate({ trustDomain: 'example.org', now: () => T0 });
  const id = 'spiffe://example.org/ns/shop/sa/cart';
  const chain = await ca.signCsr(await csrFor([id]), { identity: id });
  assert.equal(chain.length, 2);
  const leaf = new X509Certificate(chain[0]!);
  const root = new X509Certificate(ca.rootCertPem());
  assert.equal(leaf.subjectAltName, `URI:${id}`);
  assert.ok(leaf.checkIssued(root));
  assert.ok(leaf.verify(root.publicKey));
  assert.equal(leaf.ca, false);
  assert.equal(root.ca, true);
  assert.equal(new Date(leaf.validTo).getTime() - T0, 24 * 3600_000);
  assert.ok(new Date(leaf.validFrom).getTime() <= T0);
  assert.equal(chain[1], ca.rootCertPem());
});

test('requested TTL is honoured and capped', async () => {
  const ca = await CertificateAuthority.generate({ now: () => T0, maxWorkloadTtlMs: 48 * 3600_000 });
  const id = 'spiffe://cluster.local/ns/a/sa/b';
  const short = new X509Certificate((await ca.signCsr(await csrFor([id]), { ttlMs: 3600_000 }))[0]!);
  assert.equal(new Date(short.validTo).getTime() - T0, 3600_000);
  const long = new X509Certificate((await ca.signCsr(await csrFor([id]), { ttlMs: 1000 * 3600_000 }))[0]!);
  assert.equal(new Date(long.validTo).getTime() - T0, 48 * 3600_000);
});

test('rejects CSRs for another identity, trust domain, or without exactly one SPIFFE SAN', async () => {
  const ca = await CertificateAuthority.generate({ now: () => T0 });
  const cases: [string[], string | undefined, RegExp][] = [
    [['spiffe://cluster.local/ns/a/sa/admin'], 'spiffe://cluster.local/ns/a/sa/b', /caller is/],
    [['spiffe://evil.org/ns/a/sa/b'], undefined, /trust domain/],
    [[], undefined, /exactly one URI SAN/],
    [['spiffe://cluster.local/ns/a/sa/b', 'spiffe://cluster.local/ns/a/sa/c'], undefined, /exactly one/],
    [['https://cluster.local/ns/a/sa/b'], undefined, /not spiffe/],
  ];
  for (const [uris, identity, re] of cases) {
    await assert.rejects(ca.signCsr(await csrFor(uris), { identity }), (e: unknown) => isRigError(e) && e.code === 'RIG601' && re.test((e as Error).message));
  }
  await assert.rejects(ca.signCsr('garbage'), /PKCS#10/);
});

test('a saved root loads back and keeps signing under the same trust anchor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-ca-'));
  try {
    const ca = await CertificateAuthority.generate({ now: () => T0 });
    await ca.save(dir);
    const again = await CertificateAuthority.load(dir, { now: () => T0 });
    assert.equal(again.rootCertPem(), ca.rootCertPem());
    const { certChain, privateKeyPem } = await again.issue({ namespace: 'ns1', serviceAccount: 'sa1' });
    const leaf = new X509Certificate(certChain[0]!);
    assert.ok(leaf.verify(new X509Certificate(ca.rootCertPem()).publicKey));
    assert.match(privateKeyPem, /BEGIN PRIVATE KEY/);
    await assert.rejects(CertificateAuthority.load(join(dir, 'missing')), /cannot read root-cert.pem/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
