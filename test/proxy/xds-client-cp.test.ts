// test/proxy: the proxy's xDS client against Rigging's own control-plane ADS server and real translation output
// (sidecar-captured golden input): everything is ACKed and served; a bad push is NACKed with the field named and the
// server records the rejection; the next good push recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsServer } from '../../src/xds/server/index.ts';
import { generate } from '../../src/xds/translate/generate.ts';
import { contextFor, loadGoldenInput } from '../helpers/golden.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { rootLogger } from '../../src/common/logger.ts';
import { XdsClient } from '../../src/proxy/xds-client/client.ts';
import { compileRouter } from '../../src/proxy/router/router.ts';
import { handlerRoutes } from '../../src/proxy/config/types.ts';
import type { GeneratedConfig } from '../../src/xds/translate/types.ts';
import { waitFor as waitForState } from '../helpers/wait.ts';

const log = rootLogger().child({ module: 'xds-client-cp-test' });
log.level = 'silent';

// This file has always allowed each wait 8 s (the default is 5 s): a real control plane is behind it.
const waitFor = <T>(what: string, f: () => T | undefined | false): Promise<T> => waitForState(what, f, 8000);

const NODE = 'sidecar~10.244.0.5~reviews-1.default~default.svc.cluster.local';

for (const protocol of ['sotw', 'delta'] as const) test(`real control plane (${protocol}): full sidecar config is applied and ACKed; a bad push is NACKed and recovered from`, async () => {
  const ctx = contextFor(loadGoldenInput('sidecar-captured'));
  let expected: GeneratedConfig | undefined;
  const server = new XdsServer({ logger: log, debounceMs: 1, debounceMaxMs: 5 });
  server.update('v1', (proxy) => (expected = generate(ctx, proxy)));
  const port = await server.listen(0);
  const client = new XdsClient({ protocol, server: { host: '127.0.0.1', port }, node: { id: NODE, cluster: 'reviews.default', metadata: { NAMESPACE: 'default', LABELS: { app: 'reviews' } } }, log });
  const nacks: string[] = [];
  client.on('nack', (n) => nacks.push(n.errors.map((e) => `${e.resource}: ${e.field}: ${e.message}`).join('; ')));
  try {
    client.start();
    await waitFor('ready', () => client.isReady());
    await waitFor('every listener and cluster served', () => {
      const s = client.snapshot();
      return s && expected && s.listeners.size === expected.listeners.length && s.clusters.size === expected.clusters.length;
    });
    assert.deepEqual(nacks, []);
    const snap = client.snapshot()!;
    // Every HTTP chain's routes resolve and compile; the generated config is internally consistent for the proxy.
    let routers = 0;
    for (const l of snap.listeners.values()) {
      for (const fc of l.filterChains) {
        if (fc.handler.kind !== 'http') continue;
        const rc = handlerRoutes(snap, fc.handler);
        assert.ok(rc, `listener ${l.name}: route config ${fc.handler.routeConfigName} resolved`);
        compileRouter(rc);
        routers++;
      }
    }
    assert.ok(routers > 0);
    for (const c of snap.clusters.values()) if (c.type === 'EDS') assert.ok(snap.endpoints.has(c.edsServiceName ?? c.name), `${c.name} has endpoints`);
    // The server sees every type ACKed at the version it sent.
    await waitFor('server sees ACKs', () => {
      const st = server.status().find((s) => s.proxyId === NODE);
      return st && st.types.filter((t) => t.typeUrl === TypeUrl.Listener || t.typeUrl === TypeUrl.Cluster).every((t) => t.ackedVersion && !t.nackedVersion);
    });

    // A push with a listener the proxy cannot run: NACKed, the server records why, the old listener stays.
    const goodListeners = new Map(snap.listeners);
    server.update('v2', (proxy) => {
      const cfg = generate(ctx, proxy);
      const l = structuredClone(cfg.listeners[0]!) as Record<string, any>;
      l.name = 'bad-listener';
      l.address = { pipe: { path: '/tmp/x' } };
      cfg.listeners = [...cfg.listeners, l];
      return cfg;
    });
    await server.flush();
    await waitFor('NACK', () => nacks.length > 0);
    assert.match(nacks[0]!, /Listener bad-listener: address: only socket addresses are supported/);
    await waitFor('server records the NACK', () => server.status().find((s) => s.proxyId === NODE)?.types.find((t) => t.typeUrl === TypeUrl.Listener)?.nackedVersion);
    for (const [name, l] of goodListeners) assert.equal(client.snapshot()!.listeners.get(name), l, `${name} unchanged`);
    assert.equal(client.snapshot()!.listeners.has('bad-listener'), false);

    server.update('v3', (proxy) => generate(ctx, proxy));
    await server.flush();
    await waitFor('NACK cleared by the next good push', () => client.status().find((s) => s.typeUrl === TypeUrl.Listener)?.lastNack === undefined);
    assert.equal(nacks.length, 1);
  } finally {
    client.stop();
    await server.close();
  }
});
