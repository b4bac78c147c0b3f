// test/proxy: listener binding like Envoy, on real sockets — an LDS push with a listener whose port is taken is NACKed
// naming the listener and address (the control plane's /debug/syncz shows it), the update's other listeners serve,
// /ready waits for binds; freeing the port and pushing again binds it. Engine level: a socket bound during LDS refuses
// connections until its snapshot is applied, and closes when LDS drops the listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { XdsServer } from '../../src/xds/server/index.ts';
import { createDebugServer } from '../../src/xds/server/debug.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { rootLogger } from '../../src/common/logger.ts';
import { runProxy } from '../../src/proxy/main.ts';
import type { EnvoyResource, GeneratedConfig } from '../../src/xds/translate/types.ts';
import { waitFor } from '../helpers/wait.ts';
import { Engine } from '../../src/proxy/engine.ts';
import type { TcpHandlerConfig } from '../../src/proxy/config/types.ts';
import { cluster, listener, snapshot, testRouter } from './engine-fixtures.ts';
import { poll } from '../helpers/processes.ts';
import { freePort } from '../helpers/ports.ts';

const log = rootLogger().child({ module: 'listener-bind-test' });
log.level = 'silent';

function tcpListener(name: string, port: number, cluster: string, statPrefix = name): EnvoyResource {
  return {
    name, address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: statPrefix, cluster } }] }],
  };
}

function staticCluster(name: string, port: number): EnvoyResource {
  return {
    name, type: 'STATIC', connect_timeout: { seconds: 1 },
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  };
}

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** Free port picked by the OS (closed again). */

/** One line through a tcp_proxy listener to the echo backend. */
function echoThrough(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no echo on ${port} (${got})`)); }, 3000);
    s.on('data', (b) => { got += b.toString(); if (got.includes('\n')) { clearTimeout(timer); s.destroy(); resolve(got.trim()); } });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); reject(new Error(`closed without an echo on ${port} (${got})`)); });
    s.write(line + '\n');
  });
}

test('a listener whose port is taken is NACKed by name and address; the others serve; a re-push after freeing it binds', async () => {
  const echo = createServer((s) => s.pipe(s));
  const echoPort = await listen(echo);
  const blocker = createServer((s) => s.destroy());
  const takenPort = await listen(blocker);
  const freeA = await freePort();
  const NODE = 'sidecar~127.0.0.1~bind-test.default~default.svc.cluster.local';
  const config = (version: string): GeneratedConfig => ({
    listeners: [tcpListener('ok', freeA, 'echo'), tcpListener('blocked', takenPort, 'echo', `blocked_${version}`)],
    routes: [], clusters: [staticCluster('echo', echoPort)], endpoints: [], secrets: [],
  });
  const xds = new XdsServer({ logger: log, debounceMs: 1, debounceMaxMs: 5 });
  xds.update('v1', () => config('v1'));
  const xdsPort = await xds.listen(0);
  const debug = createDebugServer({ xds });
  const debugPort = await debug.listen(0);
  const proxy = await runProxy({ xdsAddress: `127.0.0.1:${xdsPort}`, nodeId: NODE, adminPort: 0, metricsPort: 0, identity: false, drainMs: 100 });
  const admin = `http://127.0.0.1:${proxy.adminPort}`;
  try {
    // The update is NACKed with Envoy's wording, naming the listener and the address.
    await waitFor('LDS NACK', () => proxy.xds.status().find((s) => s.typeUrl === TypeUrl.Listener)?.lastNack, 8000);
    const nack = proxy.xds.status().find((s) => s.typeUrl === TypeUrl.Listener)!.lastNack!;
    assert.equal(nack.errors.length, 1);
    assert.equal(nack.errors[0]!.resource, 'Listener blocked');
    assert.equal(nack.errors[0]!.message, `cannot bind '127.0.0.1:${takenPort}': Address already in use`);
    // The control plane records the rejection (istioctl proxy-status's view).
    const syncz = await poll(async () => {
      const st = (await (await fetch(`http://127.0.0.1:${debugPort}/debug/syncz`)).json()) as { proxyId: string; types: { typeUrl: string; nackedVersion?: string; error?: string }[] }[];
      const lds = st.find((c) => c.proxyId === NODE)?.types.find((t) => t.typeUrl === TypeUrl.Listener);
      return lds?.nackedVersion ? lds : undefined;
    }, 8000);
    assert.match(syncz.error ?? '', new RegExp(`Listener blocked: address: cannot bind '127\\.0\\.0\\.1:${takenPort}': Address already in use`));
    // The other listener of the same update serves, and the proxy is ready (every listener bound or rejected).
    await poll(async () => (await fetch(`${admin}/ready`)).status === 200, 8000);
    assert.equal(await echoThrough(freeA, 'hello'), 'hello');
    assert.deepEqual(proxy.engine.listenerStatus().map((l) => l.name), ['ok']);
    // config_dump's own xDS section carries the rejection.
    const dump = await (await fetch(`${admin}/config_dump`)).text();
    assert.match(dump, /cannot bind '127\.0\.0\.1:\d+': Address already in use/);

    // No retry by the proxy: freeing the port changes nothing until the next push, which binds it and is ACKed (the
    // control plane pushes only changed content, so the listener changes a little).
    await new Promise<void>((r) => blocker.close(() => r()));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(proxy.engine.portOf('blocked'), undefined);
    xds.update('v2', () => config('v2'));
    await waitFor('blocked listener bound', () => proxy.engine.portOf('blocked') === takenPort, 8000);
    await waitFor('NACK cleared', () => !proxy.xds.status().find((s) => s.typeUrl === TypeUrl.Listener)?.lastNack, 8000);
    assert.equal(await echoThrough(takenPort, 'again'), 'again');
    assert.equal(await echoThrough(freeA, 'still'), 'still');
  } finally {
    await proxy.stop(100);
    await debug.close();
    await xds.close();
    echo.close();
    blocker.close();
  }
});

test('engine: LDS-time binds refuse connections until applied, unused ones close, an apply-time failure is listed; settled waits', async () => {
  const echo = createServer((s) => s.pipe(s));
  const echoPort = await listen(echo);
  const blocker = createServer((s) => s.destroy());
  const takenPort = await listen(blocker);
  const engine = new Engine({ compileRouter: testRouter });
  const tcp: TcpHandlerConfig = { kind: 'tcp', statPrefix: 't', cluster: 'echo', idleTimeoutMs: 60_000, accessLog: [], maxConnectAttempts: 1 };
  try {
    const [a, b, c] = [await freePort(), await freePort(), await freePort()];
    const la = listener('a', tcp, a), lb = listener('b', tcp, b), lc = listener('c', tcp, c);
    const failed = await engine.bindListeners([la, lb, listener('taken', tcp, takenPort)]);
    assert.deepEqual([...failed], [['taken', `cannot bind '127.0.0.1:${takenPort}': Address already in use`]]);
    // bound but not active (its snapshot is not applied): a connection is held unanswered (listener-warming.test.ts)
    await assert.rejects(echoThrough(a, 'early'));
    // LDS no longer holds b: its socket closes, the port is free again
    engine.retainListeners(new Set(['a']));
    const again = createServer();
    await new Promise<void>((r, j) => { again.once('error', j); again.listen(b, '127.0.0.1', () => r()); });
    await new Promise((r) => again.close(r));

    const s1 = snapshot([la], [cluster('echo', [{ address: '127.0.0.1', port: echoPort }])]);
    assert.equal(engine.settled(s1), false);
    await engine.apply(s1);
    assert.equal(engine.settled(s1), true);
    assert.equal(engine.portOf('a'), a); // the socket bound during LDS, now serving
    assert.equal(await echoThrough(a, 'now'), 'now');

    // Without an LDS-time bind (a snapshot applied directly), a failed bind is listed with the reason; others serve.
    const s2 = snapshot([la, lc, listener('taken', tcp, takenPort)], [cluster('echo', [{ address: '127.0.0.1', port: echoPort }])]);
    await engine.apply(s2);
    const st = engine.listenerStatus();
    assert.deepEqual(st.find((l) => l.name === 'taken')?.error, `cannot bind '127.0.0.1:${takenPort}': Address already in use`);
    assert.equal(await echoThrough(c, 'c'), 'c');
    assert.equal(await echoThrough(a, 'a'), 'a');
  } finally {
    engine.close();
    echo.close();
    blocker.close();
  }
});
