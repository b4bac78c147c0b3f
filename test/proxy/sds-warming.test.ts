// test/proxy: listeners warm until their SDS secrets arrive (Envoy's warming) — a TLS connection accepted before the
// listener's certificate is known is held and completes its handshake once the secret comes over ADS; secrets the
// certificate agent serves count as arrived; a secret that never comes stops blocking after the initial fetch timeout;
// a cluster whose upstream TLS names a secret warms the same way, its previous version serving meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { CertificateAuthority } from '../../src/ca/index.ts';
import { FakeClock } from '../../src/common/clock.ts';
import { rootLogger, type Logger } from '../../src/common/logger.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { Engine } from '../../src/proxy/engine.ts';
import { compileRouter } from '../../src/proxy/router/router.ts';
import { XdsClient } from '../../src/proxy/xds-client/client.ts';
import { FakeAds } from '../helpers/fake-ads.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort } from '../helpers/ports.ts';

const log = rootLogger().child({ module: 'sds-warming-test' });
log.level = 'silent';

/** A logger that keeps its warn-and-above records, for asserting what an operator would read. */
function capturingLog(): { log: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  return { records, log: pino<never>({ level: 'warn' }, { write: (line: string) => { records.push(JSON.parse(line) as Record<string, unknown>); } }) };
}


/** A listener with one TLS chain whose certificate is the SDS secret `secret`, answering 200 "secured" itself. */
function tlsListener(name: string, port: number, secret: string): Record<string, unknown> {
  return {
    name, address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: { '@type': TypeUrl.DownstreamTls, common_tls_context: { tls_certificate_sds_secret_configs: [{ name: secret, sds_config: { ads: {} } }] } },
      },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager, stat_prefix: name,
          route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'secured' } } }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      }],
    }],
  };
}

function newClient(port: number, opts: Partial<ConstructorParameters<typeof XdsClient>[0]> = {}): XdsClient {
  return new XdsClient({
    backoff: { initialMs: 500, maxMs: 1000 },
    server: { host: '127.0.0.1', port },
    node: { id: 'sidecar~127.0.0.1~pod.ns~ns.svc.cluster.local', cluster: 'app.ns', metadata: { NAMESPACE: 'ns' } },
    log, initialFetchTimeoutMs: 15_000, ...opts,
  });
}

/** An xDS client wired to `engine` as `rig proxy` wires them (src/proxy/main.ts): LDS binds before the ACK; snapshots are applied. */
function wiredClient(port: number, engine: Engine, logTo: Logger, initialFetchTimeoutMs: number): XdsClient {
  const client = newClient(port, { log: logTo, initialFetchTimeoutMs, listenerSockets: { bind: (ls) => engine.bindListeners(ls), retain: (names) => engine.retainListeners(names) } });
  client.on('update', (s) => { void engine.apply(s); });
  return client;
}

/** HTTPS GET over a fresh TLS connection; resolves with the response text, or 'ERROR: ...' / 'TIMEOUT'. */
function httpsGet(port: number, ca: string, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ port, host: '127.0.0.1', ca, checkServerIdentity: () => undefined });
    let got = '';
    const timer = setTimeout(() => { s.destroy(); resolve(got || 'TIMEOUT'); }, timeoutMs);
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
    s.on('data', (b) => { got += b.toString('latin1'); });
    s.on('error', (e) => { clearTimeout(timer); resolve(got || `ERROR: ${e.message}`); });
    s.on('close', () => { clearTimeout(timer); resolve(got); });
  });
}

test('a TLS connection to a listener whose SDS certificate has not arrived is held and served once it does', { timeout: 20_000 }, async () => {
  const ca = await CertificateAuthority.generate();
  const cert = await ca.issue({ namespace: 'ns', serviceAccount: 'server' });
  const ads = new FakeAds();
  await ads.start();
  const engine = new Engine({ compileRouter: (rc) => compileRouter(rc), log });
  const client = wiredClient(ads.port, engine, log, 15_000);
  try {
    const port = await freePort();
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c1', []);
    const lds = ads.respond(TypeUrl.Listener, 'l1', [tlsListener('tls-in', port, 'srv-cert')]);
    await waitFor('SDS subscription', () => ads.of(TypeUrl.Secret).find((r) => r.resource_names?.includes('srv-cert')));
    // The socket is bound before the LDS ACK (a bind failure NACKs).
    await waitFor('LDS ACK', () => ads.of(TypeUrl.Listener).find((r) => r.response_nonce === lds && r.version_info === 'l1'));
    assert.equal(client.snapshot()?.listeners.has('tls-in') ?? false, false, 'the listener warms until its secret arrives');

    const early = httpsGet(port, ca.rootCertPem());
    await new Promise((r) => setTimeout(r, 300)); // the connection reaches the warming listener first
    ads.respond(TypeUrl.Secret, 's1', [{ name: 'srv-cert', tls_certificate: { certificate_chain: { inline_string: cert.certChain.join('') }, private_key: { inline_string: cert.privateKeyPem } } }]);
    const res = await early;
    assert.match(res, /^HTTP\/1\.1 200 /, res);
    assert.match(res, /secured$/);
    assert.ok(client.snapshot()?.listeners.has('tls-in'));
    assert.match(await httpsGet(port, ca.rootCertPem()), /^HTTP\/1\.1 200 /);
  } finally {
    client.stop();
    engine.close();
    ads.stop();
  }
});

test('warming on secrets: the agent\'s secrets count as arrived; a secret that never comes stops blocking after the initial fetch timeout', async () => {
  const ads = new FakeAds();
  await ads.start();
  const clock = new FakeClock();
  let agentHas = false;
  const capture = capturingLog();
  const client = newClient(ads.port, { clock, log: capture.log, externalSecret: (n) => (n === 'default' ? agentHas : undefined) });
  try {
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c1', []);
    ads.respond(TypeUrl.Listener, 'l1', [tlsListener('agent', 15001, 'default'), tlsListener('never', 15002, 'never-sent')]);
    await waitFor('SDS subscription', () => ads.of(TypeUrl.Secret).find((r) => r.resource_names?.includes('never-sent')));
    assert.equal(client.snapshot()?.listeners.size ?? 0, 0, 'both warm: no secret yet');

    // The certificate agent gets its first certificate: the listener naming "default" is served at once.
    agentHas = true;
    client.secretsChanged();
    assert.deepEqual([...client.snapshot()!.listeners.keys()], ['agent']);

    // The other one is served after the initial fetch timeout, as Envoy does (its handshakes then fail), and
    // the log says which secret never came and what is served without it, once.
    clock.advance(14_999);
    assert.equal(client.snapshot()!.listeners.has('never'), false);
    assert.equal(capture.records.length, 0);
    clock.advance(1);
    assert.equal(client.snapshot()!.listeners.has('never'), true);
    const warned = capture.records.filter((r) => r.name === 'never-sent');
    assert.equal(warned.length, 1, JSON.stringify(capture.records));
    assert.deepEqual(warned[0]!.servedWithout, ['listener never']);
    assert.match(String(warned[0]!.msg), /initial fetch timeout: sds resource "never-sent" not received/);
    assert.equal(client.stats().find((x) => x.name === 'sds.init_fetch_timeout')?.value, 1);
    clock.advance(60_000);
    assert.equal(capture.records.filter((r) => r.name === 'never-sent').length, 1, 'said once');
  } finally {
    client.stop();
    ads.stop();
  }
});

test('a cluster whose upstream TLS names an SDS secret warms until it arrives; the old version keeps serving meanwhile', async () => {
  const ads = new FakeAds();
  await ads.start();
  const client = newClient(ads.port, { clock: new FakeClock() });
  const tlsCluster = (secret: string) => ({
    name: 'up', type: 'STATIC', connect_timeout: { seconds: 1 },
    load_assignment: { cluster_name: 'up', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': TypeUrl.UpstreamTls, common_tls_context: { tls_certificate_sds_secret_configs: [{ name: secret, sds_config: { ads: {} } }] } },
    },
  });
  try {
    client.start();
    await waitFor('CDS request', () => ads.of(TypeUrl.Cluster).length);
    ads.respond(TypeUrl.Cluster, 'c1', [tlsCluster('client-cert')]);
    await waitFor('SDS subscription', () => ads.of(TypeUrl.Secret).find((r) => r.resource_names?.includes('client-cert')));
    assert.equal(client.snapshot()?.clusters.has('up') ?? false, false, 'the cluster warms until its secret arrives');
    ads.respond(TypeUrl.Secret, 's1', [{ name: 'client-cert', tls_certificate: { certificate_chain: { inline_string: 'x' }, private_key: { inline_string: 'y' } } }]);
    await waitFor('cluster served', () => client.snapshot()?.clusters.has('up'));
    // An update naming a secret not sent yet: the served version (with client-cert) stays until it arrives.
    ads.respond(TypeUrl.Cluster, 'c2', [tlsCluster('rotated-cert')]);
    await waitFor('new secret subscribed', () => ads.of(TypeUrl.Secret).find((r) => r.resource_names?.includes('rotated-cert')));
    assert.deepEqual(client.snapshot()!.clusters.get('up')!.tls?.certificateSdsNames, ['client-cert']);
    ads.respond(TypeUrl.Secret, 's2', [{ name: 'rotated-cert', tls_certificate: { certificate_chain: { inline_string: 'x' }, private_key: { inline_string: 'y' } } }]);
    await waitFor('updated cluster served', () => client.snapshot()?.clusters.get('up')?.tls?.certificateSdsNames[0] === 'rotated-cert');
  } finally {
    client.stop();
    ads.stop();
  }
});

test('TLS connections to a listener served without its SDS certificate are closed, counted and named in a warning', { timeout: 20_000 }, async () => {
  const ads = new FakeAds();
  await ads.start();
  const capture = capturingLog();
  const engine = new Engine({ compileRouter: (rc) => compileRouter(rc), log: capture.log });
  const client = wiredClient(ads.port, engine, capture.log, 200);
  try {
    const port = await freePort();
    client.start();
    await waitFor('LDS request', () => ads.of(TypeUrl.Listener).length);
    ads.respond(TypeUrl.Cluster, 'c1', []);
    ads.respond(TypeUrl.Listener, 'l1', [tlsListener('tls-in', port, 'never-sent')]);
    await waitFor('served after the initial fetch timeout', () => client.snapshot()?.listeners.has('tls-in'));
    // each handshake is refused (no certificate to present); until the snapshot is applied one may still be held
    for (let i = 0; i < 20 && engine.stats.downstream_context_secrets_not_ready < 3; i++) {
      const res = await httpsGet(port, 'unused', 3000);
      assert.doesNotMatch(res, /HTTP\/1\.1/, 'never served');
    }
    assert.ok(engine.stats.downstream_context_secrets_not_ready >= 3);
    const listenerWarn = capture.records.filter((r) => r.listener === 'tls-in');
    assert.equal(listenerWarn.length, 1, 'at most one warning per 30 s per listener');
    assert.match(String(listenerWarn[0]!.err), /SDS secret never-sent not available/);
    assert.ok(capture.records.some((r) => r.name === 'never-sent' && String(r.msg).includes('initial fetch timeout')));
  } finally {
    client.stop();
    engine.close();
    ads.stop();
  }
});
