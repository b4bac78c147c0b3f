// test/xds-server: a generator that throws for one proxy leaves that proxy on its last config and every
// other proxy unaffected; a proxy that disconnects mid-push does not disturb the push.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsServer } from '../../src/xds/server/server.ts';
import { RawAdsClient, makeNode, namesOf } from '../../src/xds/server/ads-client.ts';
import { TypeUrl } from '../../src/envoy/protos.ts';
import { logger } from '../../src/common/logger.ts';
import { tinyConfig } from './fixtures.ts';

const log = logger('test');
log.level = 'silent';
const svc = (n: string) => ({ host: `${n}.default.svc.cluster.local`, port: 80, endpoints: [{ ip: '127.0.0.1', port: 1000 }] });
const id = (n: string) => `sidecar~127.0.0.1~${n}.default~default.svc.cluster.local`;

test('generation failure for one proxy is contained', async () => {
  const s = new XdsServer({ logger: log, debounceMs: 1, debounceMaxMs: 5 });
  s.update('v1', () => tinyConfig({ services: [svc('a')] }));
  const port = await s.listen(0, '127.0.0.1');
  const good = new RawAdsClient(`127.0.0.1:${port}`);
  const bad = new RawAdsClient(`127.0.0.1:${port}`);
  const gone = new RawAdsClient(`127.0.0.1:${port}`);
  try {
    for (const [c, n] of [[good, 'good'], [bad, 'bad'], [gone, 'gone']] as const) {
      c.send({ node: makeNode(id(n)), type_url: TypeUrl.Cluster });
      const r = await c.next();
      assert.deepEqual(namesOf(r?.resources), ['outbound|80||a.default.svc.cluster.local']);
      c.ack(r!);
    }
    gone.close();
    s.update('v2', (p) => {
      if (p.name === 'bad') throw new Error('translation bug');
      return tinyConfig({ services: [svc('a'), svc('b')] });
    });
    await s.flush();
    const r = await good.next();
    assert.equal(namesOf(r?.resources).length, 2);
    assert.equal(await bad.next(200), undefined, 'the failing proxy gets nothing new');
    assert.equal(s.configDump(id('bad'))?.version, 'v1', 'and keeps its last config');
    assert.equal(s.configDump(id('good'))?.version, 'v2');
  } finally {
    good.close(); bad.close();
    await s.close();
  }
});

test('listeners named by a client are generated on demand and reach the node\'s other streams', async () => {
  const s = new XdsServer({ logger: log, debounceMs: 1, debounceMaxMs: 5 });
  // A generator that, like proxyless LDS, only builds the listeners it is asked for by name.
  s.update('v1', (_p, watched) => {
    const cfg = tinyConfig({ services: watched.listeners.map((n) => svc(n.split('.')[0]!)) });
    return { ...cfg, clusters: [], endpoints: [] };
  });
  const port = await s.listen(0, '127.0.0.1');
  const a = new RawAdsClient(`127.0.0.1:${port}`);
  const b = new RawAdsClient(`127.0.0.1:${port}`);
  try {
    a.send({ node: makeNode(id('x')), type_url: TypeUrl.Listener, resource_names: ['one.default.svc.cluster.local:80'] });
    assert.deepEqual(namesOf((await a.next())?.resources), ['one.default.svc.cluster.local:80']);
    b.send({ node: makeNode(id('x')), type_url: TypeUrl.Listener, resource_names: ['one.default.svc.cluster.local:80', 'two.default.svc.cluster.local:80'] });
    assert.deepEqual(namesOf((await b.next())?.resources).sort(), ['one.default.svc.cluster.local:80', 'two.default.svc.cluster.local:80']);
  } finally {
    a.close(); b.close();
    await s.close();
  }
});
