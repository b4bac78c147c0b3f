// test/proxy (tls): the inbound side's client certificate checks and session resumption between sidecars, on real
// sockets — a certificate from another CA is refused (Node verifies but, outside tls.Server, never acted on it),
// no certificate passes only when none is required, and a second dial through tlsDialIO resumes the session on both
// ends with the client's identity still known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { terminateTls } from '../../src/proxy/tls/stream.ts';
import { serverTlsOptions, mapSecrets } from '../../src/proxy/tls/context.ts';
import { tlsDialIO } from '../../src/proxy/tls/upstream.ts';
import { peerIdentity } from '../../src/proxy/tls/peer.ts';
import { documentedIO } from '../../src/proxy/io/documented.ts';
import { probe } from '../../src/proxy/io/internal.ts';
import type { DownstreamTlsConfig, SecretConfig, UpstreamTlsConfig } from '../../src/proxy/config/types.ts';

const spiffe = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

async function workload(ca: CertificateAuthority, sa: string): Promise<Map<string, SecretConfig>> {
  const c = await ca.issue({ namespace: 'default', serviceAccount: sa });
  return new Map<string, SecretConfig>([
    ['default', { name: 'default', tlsCertificate: { certChain: { inline: c.certChain.join('') }, privateKey: { inline: c.privateKeyPem } } }],
    ['ROOTCA', { name: 'ROOTCA', validationContext: { trustedCa: { inline: ca.rootCertPem() }, matchSubjectAltNames: [] } }],
  ]);
}

const downstream = (required: boolean): DownstreamTlsConfig => ({
  certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['http/1.1'],
  matchSubjectAltNames: [], requireClientCertificate: required,
});
const upstream = (sans: string[]): UpstreamTlsConfig => ({
  certificates: [], certificateSdsNames: ['default'], validationSdsName: 'ROOTCA', alpnProtocols: ['istio', 'http/1.1'],
  matchSubjectAltNames: sans.map((value) => ({ kind: 'exact' as const, value, ignoreCase: false })),
});

type Outcome = { ok: true; principal?: string; reused: boolean; authorized: boolean } | { ok: false; error: string };

/** A listener terminating TLS with `cfg`; each accepted connection's outcome is pushed to `seen`. */
async function inbound(cfg: DownstreamTlsConfig, secrets: Map<string, SecretConfig>, seen: Outcome[], reply: Buffer | string = 'hi'): Promise<{ server: Server; port: number; socks: Set<Socket> }> {
  const so = serverTlsOptions(cfg, mapSecrets(secrets));
  assert.ok('options' in so, 'server options');
  const socks = new Set<Socket>();
  const server = createServer((s) => {
    socks.add(s);
    terminateTls(s, undefined, so.options, so.sans, documentedIO, 5000).then((t: TLSSocket) => {
      seen.push({ ok: true, principal: peerIdentity(t).principal, reused: t.isSessionReused(), authorized: t.authorized });
      t.on('data', () => {});
      t.end(reply);
    }, (e: Error) => seen.push({ ok: false, error: e.message }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, socks };
}

async function close(x: { server: Server; socks: Set<Socket> }): Promise<void> {
  for (const s of x.socks) s.destroy();
  await new Promise<void>((r) => x.server.close(() => r()));
}

/** Dial with node:tls directly (a client we fully control); resolves once the connection is over. */
function dialRaw(port: number, opts: { cert?: string; key?: string }): Promise<void> {
  return new Promise((resolve) => {
    const t = tlsConnect({ host: '127.0.0.1', port, ...opts, rejectUnauthorized: false });
    t.on('data', () => {});
    t.on('error', () => resolve());
    t.on('close', () => resolve());
  });
}

async function until(seen: Outcome[], n: number): Promise<void> {
  for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen.length, n, 'outcomes recorded');
}

test('inbound TLS refuses a client certificate from another CA, and no certificate when one is required', { timeout: 15_000 }, async () => {
  const ca = await CertificateAuthority.generate();
  const other = await CertificateAuthority.generate();
  const server = await workload(ca, 'server');
  const foreign = await other.issue({ namespace: 'default', serviceAccount: 'client' });
  const mine = await ca.issue({ namespace: 'default', serviceAccount: 'client' });
  for (const required of [true, false]) {
    const seen: Outcome[] = [];
    const x = await inbound(downstream(required), server, seen);
    try {
      await dialRaw(x.port, { cert: foreign.certChain.join(''), key: foreign.privateKeyPem });
      await until(seen, 1);
      assert.equal(seen[0]!.ok, false, `foreign certificate accepted (required=${required})`);
      assert.match((seen[0] as { error: string }).error, /not trusted/);
      await dialRaw(x.port, {});
      await until(seen, 2);
      if (required) assert.equal(seen[1]!.ok, false, 'no certificate accepted although required');
      else assert.deepEqual(seen[1], { ok: true, principal: undefined, reused: false, authorized: false });
      await dialRaw(x.port, { cert: mine.certChain.join(''), key: mine.privateKeyPem });
      await until(seen, 3);
      assert.deepEqual(seen[2], { ok: true, principal: spiffe('client'), reused: false, authorized: true });
    } finally {
      await close(x);
    }
  }
});

const PAYLOAD = Buffer.alloc(200 * 1024 + 77);
for (let i = 0; i < PAYLOAD.length; i++) PAYLOAD[i] = (i * 7 + (i >> 12)) & 0xff;

for (const reuseReads of [false, true]) {
  test(`tlsDialIO (reuseReads ${reuseReads}) resumes the TLS session on the next dial; the server still knows the client`, { timeout: 15_000 }, async () => {
    const ca = await CertificateAuthority.generate();
    const seen: Outcome[] = [];
    const x = await inbound(downstream(true), await workload(ca, 'server'), seen, PAYLOAD);
    const io = tlsDialIO(upstream([spiffe('server')]), mapSecrets(await workload(ca, 'client')), false, reuseReads && !probe());
    try {
      const clientReused: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const s = io.dial('127.0.0.1', x.port) as TLSSocket;
        const got: Buffer[] = [];
        await new Promise<void>((resolve, reject) => {
          s.once('connect', () => {
            clientReused.push(s.isSessionReused());
            // bytes are valid only during the reader call (reused buffers): copy
            io.read(s, (b, st, e) => { got.push(Buffer.from(b.subarray(st, e))); });
            s.resume();
          });
          s.on('error', reject);
          // the session ticket arrives after the handshake: wait for the server's close so it has been seen
          s.on('close', () => resolve());
        });
        assert.ok(Buffer.concat(got).equals(PAYLOAD), `response ${i} intact (${Buffer.concat(got).length} bytes)`);
      }
      await until(seen, 3);
      assert.deepEqual(clientReused, [false, true, true]);
      assert.deepEqual(seen.map((o) => o.ok && o.reused), [false, true, true]);
      for (const o of seen) assert.deepEqual(o.ok && [o.principal, o.authorized], [spiffe('client'), true]);
    } finally {
      await close(x);
    }
  });
}
