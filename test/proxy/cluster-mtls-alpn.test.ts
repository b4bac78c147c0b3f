// test/proxy: the control plane's ALPN for in-mesh (ISTIO_MUTUAL) clusters per port protocol, and what each list
// negotiates against a sidecar's inbound TLS over real sockets: TCP-ish ports reach the metadata exchange, HTTP never does.
import 'reflect-metadata';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { istioMutualAlpn, upstreamTransportSocket } from '../../src/xds/translate/clusters/tls.ts';
import { INBOUND_MTLS_ALPN } from '../../src/xds/translate/listeners/mtls.ts';

let pem = { cert: '', key: '' };
before(async () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=peer', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), keys, signingAlgorithm: alg });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  pem = { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
});

/** The protocol a client offering `offer` negotiates with a server offering `serverList`. */
async function negotiate(serverList: string[], offer: string[]): Promise<string | false> {
  const srv = createTlsServer({ ...pem, ALPNProtocols: serverList }, (s) => { s.on('error', () => {}); s.end(); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve, reject) => {
      const c = tlsConnect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, ALPNProtocols: offer, rejectUnauthorized: false }, () => { resolve(c.alpnProtocol ?? false); c.destroy(); });
      c.on('error', reject);
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

function alpnOf(protocol: string | undefined, http2: boolean): unknown {
  const ts = upstreamTransportSocket({ tls: { mode: 'ISTIO_MUTUAL' }, clusterName: 'outbound|9000||svc.ns.svc.cluster.local', identities: [], http2, protocol });
  return ((ts!.typed_config as Record<string, any>).common_tls_context).alpn_protocols;
}

test('ISTIO_MUTUAL ALPN per protocol: Istio\'s exchange list on non-HTTP ports, the plain in-mesh lists on HTTP', () => {
  for (const p of ['TCP', 'TLS', 'HTTPS', 'MONGO', 'REDIS', 'MYSQL', 'UNKNOWN']) assert.deepEqual(alpnOf(p, false), ['istio-peer-exchange', 'istio'], p);
  for (const p of ['HTTP', 'http', 'HTTP_PROXY']) assert.deepEqual(alpnOf(p, false), ['istio'], p);
  for (const p of ['HTTP2', 'GRPC']) assert.deepEqual(alpnOf(p, true), ['istio', 'h2'], p);
  assert.deepEqual(alpnOf(undefined, false), ['istio'], 'a caller that does not say keeps the HTTP list');
  // SIMPLE/MUTUAL are not in-mesh: no Istio tokens whatever the protocol
  const simple = upstreamTransportSocket({ tls: { mode: 'SIMPLE' }, clusterName: 'c', identities: [], http2: false, protocol: 'TCP' });
  assert.equal(((simple!.typed_config as Record<string, any>).common_tls_context).alpn_protocols, undefined);
});

test('negotiation against a sidecar inbound: only non-HTTP clusters pick istio-peer-exchange', async () => {
  // Istio's inbound order, and ours (src/proxy/tls/context.ts puts the HTTP versions first)
  const ours = [...INBOUND_MTLS_ALPN.filter((p) => !p.startsWith('istio')), ...INBOUND_MTLS_ALPN.filter((p) => p.startsWith('istio'))];
  for (const server of [INBOUND_MTLS_ALPN, ours]) {
    assert.equal(await negotiate(server, istioMutualAlpn('TCP', false)), 'istio-peer-exchange');
    assert.equal(await negotiate(server, istioMutualAlpn('HTTP', false)), 'istio');
    assert.notEqual(await negotiate(server, istioMutualAlpn('GRPC', true)), 'istio-peer-exchange');
  }
  assert.equal(await negotiate(ours, istioMutualAlpn('GRPC', true)), 'h2', 'our inbound gives an h2 cluster h2');
});
