// test/proxy: seeded random segmentation of pipelined requests (content-length and chunked bodies) through the
// real engine on both I/O paths — however the bytes are split, every request is answered, in order, intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Engine } from '../../src/proxy/engine.ts';
import { installFastPath } from '../../src/proxy/io/index.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from './engine-fixtures.ts';
// The same seeded PRNG the load balancers use in tests (mulberry32): a failing seed reproduces.
import { seededRandom } from '../../src/proxy/upstream/lb/random.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';

const cleanups = cleanupsAfterAll();

for (const mode of ['documented', 'internal'] as const) {
  test(`io ${mode}: 15 seeded segmentations of 6 pipelined requests are all answered in order`, async () => {
    const be = await backend((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => res.end(`${req.url}:${n}`));
    });
    cleanups.push(() => be.close());
    const fp = installFastPath(mode);
    const engine = new Engine({ compileRouter: testRouter, io: fp.io });
    cleanups.push(() => engine.close());
    await engine.apply(snapshot([listener('l', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
    const port = engine.portOf('l')!;
    for (let seed = 1; seed <= 15; seed++) {
      const r = seededRandom(seed);
      const reqs: string[] = [];
      const expect: string[] = [];
      for (let i = 0; i < 6; i++) {
        const len = Math.floor(r() * 3000);
        const body = 'x'.repeat(len);
        const last = i === 5 ? 'Connection: close\r\n' : '';
        if (r() < 0.5) reqs.push(`POST /r${i} HTTP/1.1\r\nHost: a\r\n${last}Content-Length: ${len}\r\n\r\n${body}`);
        else {
          const cut = Math.floor(len / 2);
          const chunks = [body.slice(0, cut), body.slice(cut)].filter((c) => c.length).map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
          reqs.push(`POST /r${i} HTTP/1.1\r\nHost: a\r\n${last}Transfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
        }
        expect.push(`/r${i}:${len}`);
      }
      const wire = Buffer.from(reqs.join(''), 'latin1');
      const got = await new Promise<string>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        let t = '';
        s.on('data', (b) => { t += b.toString('latin1'); });
        s.on('close', () => resolve(t));
        s.on('error', reject);
        const to = setTimeout(() => { s.destroy(); reject(new Error(`seed ${seed}: timeout, got ${JSON.stringify(t.slice(-200))}`)); }, 5000);
        s.on('close', () => clearTimeout(to));
        let pos = 0;
        const step = (): void => {
          if (pos >= wire.length) return;
          const n = 1 + Math.floor(r() * 700);
          s.write(wire.subarray(pos, pos + n));
          pos += n;
          if (r() < 0.3) setTimeout(step, 1); else setImmediate(step);
        };
        s.on('connect', step);
      });
      const bodies = [...got.matchAll(/\/r\d:\d+/g)].map((m) => m[0]);
      assert.deepEqual(bodies, expect, `seed ${seed}`);
      assert.equal((got.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 6, `seed ${seed}`);
    }
  });
}
