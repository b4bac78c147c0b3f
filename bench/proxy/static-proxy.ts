// bench/proxy: a Rigging proxy with a static, directly constructed config (one listener -> one cluster), for
// benchmarks and the SIGTERM drain test. Usage: static-proxy.ts LISTEN_PORT UPSTREAM_PORT [DRAIN_MS]
import { Engine } from '../../src/proxy/engine.ts';
import { cluster, httpHandler, listener, routes, snapshot, testRouter } from '../../test/proxy/engine-fixtures.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';

const listenPort = Number(process.argv[2] ?? 0);
const upstreamPort = Number(process.argv[3]);
const drainMs = Number(process.argv[4] ?? 5000);
const io = installFastPath(process.env.RIG_IO ?? 'auto');
const engine = new Engine({ compileRouter: testRouter, io: io.io });
await engine.apply(snapshot(
  [listener('bench', httpHandler(routes('r', [{ prefix: '/', cluster: 'backend' }])), listenPort)],
  [cluster('backend', [{ address: '127.0.0.1', port: upstreamPort }])],
));
process.stdout.write(`ready ${engine.portOf('bench')} io=${io.mode}\n`);
process.on('SIGTERM', () => { void engine.drain(drainMs).then(() => process.exit(0)); });
