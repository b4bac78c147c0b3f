// test/ca: the proxy's TLS plumbing on real sockets — tls_inspector hand-off (TLS and plaintext on one port),
// TLS dialling that reports 'connect' only after the handshake, SAN pinning and missing secrets failing the dial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { inspectConnection, acceptTls, tlsDialIO, type SecretSource } from '../../src/proxy/tls/index.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';
import type { DownstreamTlsConfig, SecretConfig, UpstreamTlsConfig } from '../../src/proxy/config/types.ts';

async function identities() {
  const ca = await CertificateAuthority.generate();
  const src = async (sa: string): Promise<SecretSource> => {
    const { certChain, privateKeyPem } = await ca.issue({ namespace: 'ns', serviceAccount: sa });
    const m = new Map<string, SecretConfig>([
      ['default', { name: 'default', tlsCertificate: { certChain: { inline: certChain[0]! }, privateKey: { inline: privateKeyPem } } }],
      ['ROOTCA', { name: 'ROOTCA', validationContext: { trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [] } }],
    ]);
    return { get: (n) => m.get(n), generation: 1 };
  };
  return { client: await src('client'), server: await src('server') };
}

const down: DownstreamTlsConfig = { certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['istio-peer-exchange', 'istio', 'h2', 'http/1.1'], matchSubjectAltNames: [], requireClientCertificate: true };
const up = (san: string): UpstreamTlsConfig => ({ certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['istio'], matchSubjectAltNames: [{ kind: 'exact', value: san, ignoreCase: false }], sni: 'outbound_.80_._.svc' });

/** A PERMISSIVE-style port: TLS connections are terminated and echo "tls:<peer>:<data>", plaintext ones "plain:<data>". */
async function permissiveServer(secrets: SecretSource): Promise<{ srv: Server; port: number }> {
  const srv = createServer(async (s: Socket) => {
    s.on('error', () => {});
    const r = await inspectConnection(s, documentedIO, 2000);
    if (r.transportProtocol === 'raw_buffer') {
      let got = r.initial.toString();
      const reply = () => { if (got.endsWith('\n')) s.end(`plain:${got}`); };
      reply();
      documentedIO.read(s, (b, st, e) => { got += b.subarray(st, e).toString(); reply(); });
      return;
    }
    try {
      const { tls, peer } = await acceptTls(s, r.initial, down, secrets, documentedIO);
      let got = '';
      tls.on('data', (d: Buffer) => { got += d.toString(); if (got.endsWith('\n')) tls.end(`tls:${peer.principal}:${r.applicationProtocols.join('/')}:${got}`); });
    } catch { /* refused */ }
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
  return { srv, port: (srv.address() as { port: number }).port };
}

function exchange(s: Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (d: Buffer) => { out += d.toString(); });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.once('connect', () => s.write(msg));
  });
}

test('one port, TLS and plaintext: the inspector hands each to the right path; connect waits for the handshake', async () => {
  const ids = await identities();
  const { srv, port } = await permissiveServer(ids.server);
  try {
    const io = tlsDialIO(up('spiffe://cluster.local/ns/ns/sa/server'), ids.client);
    const t = io.dial('127.0.0.1', port);
    let secureBeforeConnect = false;
    t.once('connect', () => { secureBeforeConnect = (t as unknown as { encrypted?: boolean; authorized?: boolean }).authorized === true; });
    assert.equal(await exchange(t, 'hello\n'), 'tls:spiffe://cluster.local/ns/ns/sa/client:istio:hello\n');
    assert.ok(secureBeforeConnect, "'connect' came after the handshake");
    assert.equal(await exchange(connect({ host: '127.0.0.1', port }), 'hi\n'), 'plain:hi\n');
  } finally {
    srv.close();
  }
});

test('a pinned SAN that does not match, or a missing secret, fails the dial', async () => {
  const ids = await identities();
  const { srv, port } = await permissiveServer(ids.server);
  try {
    const wrong = tlsDialIO(up('spiffe://cluster.local/ns/ns/sa/payments'), ids.client).dial('127.0.0.1', port);
    await assert.rejects(new Promise((res, rej) => { wrong.once('connect', res); wrong.once('error', rej); }), /does not match/);
    const none: SecretSource = { get: () => undefined, generation: 0 };
    const missing = tlsDialIO(up('x'), none).dial('127.0.0.1', port);
    await assert.rejects(new Promise((res, rej) => { missing.once('connect', res); missing.once('error', rej); }), /SDS secret default not available/);
  } finally {
    srv.close();
  }
});

test('HTTP/2 over the TLS dial (the h2 upstream path): ALPN h2 and the client identity reach the server', async () => {
  const ca = await CertificateAuthority.generate();
  const server = await ca.issue({ namespace: 'ns', serviceAccount: 'server' });
  const client = await ca.issue({ namespace: 'ns', serviceAccount: 'client' });
  const m = new Map<string, SecretConfig>([
    ['default', { name: 'default', tlsCertificate: { certChain: { inline: client.certChain[0]! }, privateKey: { inline: client.privateKeyPem } } }],
    ['ROOTCA', { name: 'ROOTCA', validationContext: { trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [] } }],
  ]);
  const { createSecureServer, connect: h2connect } = await import('node:http2');
  const srv = createSecureServer({ cert: server.certChain[0], key: server.privateKeyPem, ca: ca.rootCertPem(), requestCert: true, ALPNProtocols: ['h2', 'http/1.1', 'istio'] }, (req, res) => {
    res.end(`${req.httpVersion} ${(req.socket as unknown as { getPeerCertificate(): { subjectaltname?: string } }).getPeerCertificate().subjectaltname}`);
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
  const port = (srv.address() as { port: number }).port;
  const io = tlsDialIO({ ...up('spiffe://cluster.local/ns/ns/sa/server'), alpnProtocols: ['istio', 'h2'] }, { get: (n) => m.get(n), generation: 1 }, true);
  const sess = h2connect(`https://127.0.0.1:${port}`, { createConnection: () => io.dial('127.0.0.1', port) as unknown as import('node:stream').Duplex });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      sess.on('error', reject);
      const r = sess.request({ ':path': '/' });
      let b = '';
      r.on('data', (d: Buffer) => { b += d.toString(); });
      r.on('end', () => resolve(b));
      r.on('error', reject);
    });
    assert.equal(body, '2.0 URI:spiffe://cluster.local/ns/ns/sa/client');
  } finally {
    sess.close();
    srv.close();
  }
});
