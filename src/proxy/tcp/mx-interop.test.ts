// proxy/tcp: the TCP metadata exchange against a peer that is not Rigging, on real sockets — an Envoy-like mTLS
// server (ALPN istio-peer-exchange, its frame built by protobufjs) gets our frame before the client's bytes and the
// outbound TCP metric names it; a server that negotiates the ALPN but sends no frame and speaks first still works
// (labels unknown); a cluster without the in-mesh ALPN sends no frame at all. Inbound: an Envoy-like client's frame is
// stripped and names the source; a server-first app's bytes are not held for it.
import 'reflect-metadata';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { lookupType } from '../../envoy/protos.ts';
import { Engine } from '../engine.ts';
import { ProxyTelemetry } from '../telemetry/index.ts';
import type { ClusterConfig, ListenerConfig, ProxyConfigSnapshot, TcpHandlerConfig, UpstreamTlsConfig } from '../config/types.ts';
import { MX_MAGIC, MxReader } from './mx.ts';

let root = '';
let server = { cert: '', key: '' };
// The peer's certificate: self-signed with its SPIFFE URI SAN, and it is its own trust anchor (src/proxy does not use
// the CA module; a one-certificate chain is all the exchange needs).
before(async () => {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'O=cluster.local', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), keys, signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://cluster.local/ns/default/sa/peer' }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  root = cert.toString('pem') + '\n';
  server = { cert: root, key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
});

/** The frame an Envoy sidecar sends, built with protobufjs from its node metadata. */
function envoyFrame(id: string, md: Record<string, string | Record<string, string>>): Buffer {
  const Struct = lookupType('google.protobuf.Struct');
  const Any = lookupType('google.protobuf.Any');
  const val = (v: string | Record<string, string>): Record<string, unknown> =>
    typeof v === 'string' ? { stringValue: v } : { structValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, { stringValue: x }])) } };
  const st = Struct.encode(Struct.fromObject({ fields: {
    'x-envoy-peer-metadata': { structValue: { fields: Object.fromEntries(Object.entries(md).map(([k, v]) => [k, val(v)])) } },
    'x-envoy-peer-metadata-id': { stringValue: id },
  } })).finish();
  const any = Buffer.from(Any.encode(Any.fromObject({ type_url: 'type.googleapis.com/google.protobuf.Struct', value: st })).finish());
  const head = Buffer.alloc(8);
  head.writeUInt32BE(MX_MAGIC, 0);
  head.writeUInt32BE(any.length, 4);
  return Buffer.concat([head, any]);
}

interface Peer { port: number; seen: Buffer[]; close(): Promise<void> }

/** A TLS server with the given ALPN list; `onSecure` drives each connection. */
async function tlsPeer(alpn: string[], onSecure: (s: TLSSocket, seen: Buffer[]) => void): Promise<Peer> {
  const seen: Buffer[] = [];
  const srv = createTlsServer({ cert: server.cert, key: server.key, ALPNProtocols: alpn }, (s) => { s.on('error', () => {}); onSecure(s, seen); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, seen, close: () => new Promise((r) => srv.close(() => r())) };
}

function upstreamTls(alpn: string[]): UpstreamTlsConfig {
  return {
    certificates: [], certificateSdsNames: [], trustedCa: { inline: root },
    matchSubjectAltNames: [{ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/peer', ignoreCase: false }], alpnProtocols: alpn, sni: 'peer.local',
  };
}

const CLUSTER = 'outbound|9000||peer.default.svc.cluster.local';

function config(peerPort: number, alpn: string[]): { l: ListenerConfig; c: ClusterConfig } {
  const tcp: TcpHandlerConfig = { kind: 'tcp', statPrefix: 't', cluster: CLUSTER, idleTimeoutMs: 60_000, accessLog: [], maxConnectAttempts: 1 };
  const l: ListenerConfig = {
    name: 'out', address: '127.0.0.1', port: 0, bindToPort: true, useOriginalDst: false, listenerFilters: [], trafficDirection: 'OUTBOUND',
    filterChains: [{ name: 'tcp', handler: tcp, networkFilters: [], match: { serverNames: [], applicationProtocols: [], prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] } }],
  };
  const c: ClusterConfig = {
    name: CLUSTER, type: 'STATIC', lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 2000, idleTimeoutMs: 3_600_000,
    loadAssignment: {
      clusterName: CLUSTER, overprovisioningFactor: 140, dropOverloads: [],
      localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0, weight: 1, endpoints: [{ address: '127.0.0.1', port: peerPort, health: 'HEALTHY', weight: 1, metadata: {} }] }],
    },
    circuitBreakers: [], http2: false, useDownstreamProtocol: false, transportSocketMatches: [], tls: upstreamTls(alpn),
    commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: false, zoneAware: false },
    dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {},
  };
  return { l, c };
}

async function engineFor(peerPort: number, alpn: string[]): Promise<{ engine: Engine; tel: ProxyTelemetry; port: number }> {
  const tel = new ProxyTelemetry({ node: { id: 'sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', LABELS: { app: 'sleep', version: 'v1' } } } });
  const engine = new Engine({ compileRouter: () => { throw new Error('no HTTP here'); }, telemetry: tel });
  const { l, c } = config(peerPort, alpn);
  const snap: ProxyConfigSnapshot = {
    generation: 1, listeners: new Map([[l.name, l]]), routes: new Map(), clusters: new Map([[c.name, c]]), endpoints: new Map(), secrets: new Map(), versions: {},
  };
  await engine.apply(snap);
  return { engine, tel, port: engine.portOf('out')! };
}

/** Send one line through the proxy; what comes back before the peer closes. */
function exchange(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout (${got})`)); }, 5000);
    s.on('data', (b) => { got += b.toString('latin1'); });
    s.on('close', () => { clearTimeout(t); resolve(got); });
    s.on('error', () => {});
    s.write(line);
  });
}

function tcpSeries(tel: ProxyTelemetry): Record<string, string>[] {
  return tel.stats().filter((s) => s.name === 'istio_tcp_connections_opened_total').map((s) => s.labels ?? {});
}

test('an Envoy-like peer: it reads our frame before our bytes, we strip its frame, the metric names it', async () => {
  const peer = await tlsPeer(['istio-peer-exchange', 'istio'], (s, seen) => {
    s.write(envoyFrame('sidecar~10.1.1.1~db-0.default~default.svc.cluster.local', { NAMESPACE: 'default', WORKLOAD_NAME: 'db', LABELS: { app: 'database', version: 'v7' } }));
    const rd = new MxReader();
    let done = false;
    s.on('data', (b: Buffer) => {
      if (done) { s.end(`echo:${b.toString()}`); return; }
      const r = rd.push(b);
      if (!r) return;
      done = true;
      seen.push(Buffer.from(JSON.stringify(r.peer ?? { error: r.error })));
      if (r.rest.length) s.end(`echo:${r.rest.toString()}`);
    });
  });
  const { engine, tel, port } = await engineFor(peer.port, ['istio']);
  try {
    assert.equal(await exchange(port, 'hello'), 'echo:hello'); // no frame bytes leak either way
    const ours = JSON.parse(peer.seen[0]!.toString()) as { id: string; metadata: Record<string, unknown> };
    assert.equal(ours.id, 'sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local');
    assert.equal(ours.metadata.WORKLOAD_NAME, 'sleep');
    assert.deepEqual(ours.metadata.LABELS, { app: 'sleep', version: 'v1' });
    const s = tcpSeries(tel);
    assert.equal(s.length, 1);
    assert.deepEqual([s[0]!.destination_workload, s[0]!.destination_app, s[0]!.destination_version, s[0]!.source_workload], ['db', 'database', 'v7', 'sleep']);
  } finally {
    engine.close();
    await peer.close();
  }
});

test('a peer that negotiates the ALPN but speaks first without a frame: bytes pass intact, labels unknown', async () => {
  const peer = await tlsPeer(['istio-peer-exchange'], (s, seen) => {
    s.write('220 greeting\r\n');
    s.on('data', (b: Buffer) => { seen.push(Buffer.from(b)); if (Buffer.concat(seen).includes('quit')) s.end('bye'); });
  });
  const { engine, tel, port } = await engineFor(peer.port, ['istio-peer-exchange', 'istio']);
  try {
    assert.equal(await exchange(port, 'quit'), '220 greeting\r\nbye');
    const got = Buffer.concat(peer.seen);
    assert.equal(got.readUInt32BE(0), MX_MAGIC, 'our frame came first');
    assert.ok(got.toString('latin1').endsWith('quit'));
    assert.equal(tcpSeries(tel)[0]!.destination_workload, 'unknown');
  } finally {
    engine.close();
    await peer.close();
  }
});

test('a TLS cluster without Istio\'s in-mesh ALPN: no exchange', async () => {
  const peer = await tlsPeer(['istio-peer-exchange', 'x'], (s, seen) => {
    s.on('data', (b: Buffer) => { seen.push(Buffer.from(b)); s.end(`alpn=${s.alpnProtocol}:${b.toString()}`); });
  });
  const { engine, port } = await engineFor(peer.port, ['x']);
  try {
    assert.equal(await exchange(port, 'raw'), 'alpn=x:raw');
    assert.equal(Buffer.concat(peer.seen).toString(), 'raw');
  } finally {
    engine.close();
    await peer.close();
  }
});

test('inbound: an Envoy-like client gets our frame at once, its frame is stripped, a server-first app is not held up', async () => {
  // The app speaks first; the client (like Envoy's filter) sends its frame only after it read something.
  const app = createNetServer((s) => { s.on('error', () => {}); s.write('hello from app\n'); s.on('data', (b) => s.end(`app got ${b.toString()}`)); });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const tel = new ProxyTelemetry({ node: { id: 'sidecar~127.0.0.1~db-0.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'db', LABELS: { app: 'database' } } } });
  const engine = new Engine({ compileRouter: () => { throw new Error('no HTTP here'); }, telemetry: tel });
  const inCluster = 'inbound|9000||';
  const { l, c } = config(appPort, []);
  const tcp = l.filterChains[0]!.handler as TcpHandlerConfig;
  tcp.cluster = inCluster;
  l.listenerFilters = ['envoy.filters.listener.tls_inspector'];
  l.filterChains[0]!.match.transportProtocol = 'tls';
  l.filterChains[0]!.tls = {
    certificates: [{ certChain: { inline: server.cert }, privateKey: { inline: server.key } }], certificateSdsNames: [],
    matchSubjectAltNames: [], alpnProtocols: ['istio-peer-exchange', 'istio', 'h2', 'http/1.1'], requireClientCertificate: false,
  } as NonNullable<ListenerConfig['filterChains'][number]['tls']>;
  const plain = { ...c, name: inCluster, tls: undefined, loadAssignment: { ...c.loadAssignment!, clusterName: inCluster } };
  await engine.apply({ generation: 1, listeners: new Map([[l.name, l]]), routes: new Map(), clusters: new Map([[inCluster, plain]]), endpoints: new Map(), secrets: new Map(), versions: {} });
  try {
    const got = await new Promise<{ peer: unknown; text: string }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: engine.portOf('out')!, ca: root, ALPNProtocols: ['istio-peer-exchange', 'istio'], checkServerIdentity: () => undefined });
      const rd = new MxReader();
      let peer: unknown, text = '', sent = false;
      const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout (${text})`)); }, 5000);
      s.on('data', (b: Buffer) => {
        if (peer === undefined) { const r = rd.push(b); if (!r) return; peer = r.peer ?? r.error; text += r.rest.toString(); } else text += b.toString();
        if (!sent && text.includes('hello from app')) { sent = true; s.write(Buffer.concat([envoyFrame('sidecar~10.2.2.2~sleep-1.default~default.svc.cluster.local', { NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', LABELS: { app: 'sleeper' } }), Buffer.from('ping')])); }
      });
      s.on('close', () => { clearTimeout(t); resolve({ peer, text }); });
      s.on('error', reject);
    });
    assert.equal((got.peer as { metadata: Record<string, unknown> }).metadata.WORKLOAD_NAME, 'db');
    assert.equal(got.text, 'hello from app\napp got ping'); // the client's frame never reached the app
    const st = await waitSeries(tel);
    assert.deepEqual([st.reporter, st.source_workload, st.source_app, st.destination_workload], ['destination', 'sleep', 'sleeper', 'db']);
  } finally {
    engine.close();
    await new Promise((r) => app.close(r));
  }
});

/** The TCP series once the connection's close was counted (the proxy sees the close a moment after the client). */
async function waitSeries(tel: ProxyTelemetry): Promise<Record<string, string>> {
  for (let i = 0; i < 200; i++) {
    const s = tel.stats().find((x) => x.name === 'istio_tcp_connections_closed_total' && 'value' in x && x.value >= 1);
    if (s) return s.labels ?? {};
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no closed TCP connection counted');
}
