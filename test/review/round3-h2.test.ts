// test/review: round-3 review of the HTTP/2 downstream changes (head of a known-length response held for its body,
// drain listener hooked on first use, bodyless streams left unread) under flow control: slow h2 readers of large
// known-length bodies, bodies trickled in small upstream writes, uploads and bodyless requests on one session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { Engine } from '../../src/proxy/engine.ts';
import type { RequestRecord } from '../../src/proxy/listener/runtime.ts';
import { backend, cluster, httpHandler, listener, routes, snapshot, testRouter } from '../proxy/engine-fixtures.ts';
import { cleanupsAfterAll } from '../helpers/cleanup.ts';
import { pattern, sha } from '../helpers/bytes.ts';

const cleanups = cleanupsAfterAll();

interface H2Result { status: number; headers: Record<string, unknown>; body: Buffer; trailers: Record<string, unknown> | undefined }

function h2call(client: ClientHttp2Session, method: string, path: string, body?: Buffer, slow = false): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': method, ':path': path }, { endStream: body === undefined });
    let status = 0;
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => { status = Number(h[':status']); headers = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      // a slow reader: the proxy's stream runs out of flow-control window and must wait for 'drain'
      if (slow) { req.pause(); setTimeout(() => req.resume(), 2); }
    });
    req.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

test('h2 downstream: slow readers of known-length bodies, trickled bodies, uploads and bodyless requests on one session', { timeout: 20_000 }, async () => {
  const be = await backend((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const n = Number(u.searchParams.get('n') ?? 0);
    const seed = Number(u.searchParams.get('seed') ?? 0);
    if (u.pathname === '/echo') {
      const h = createHash('sha256');
      let got = 0;
      req.on('data', (c: Buffer) => { h.update(c); got += c.length; });
      req.on('end', () => res.end(`${got} ${h.digest('hex')}`));
      return;
    }
    req.resume();
    const body = pattern(n, seed);
    if (u.pathname === '/trickle') {
      // known length, written in small pieces a few ms apart: the first chunk is far below the length
      res.setHeader('content-length', n);
      let at = 0;
      const step = (): void => {
        if (at >= n) { res.end(); return; }
        const k = Math.min(n - at, 1000);
        res.write(body.subarray(at, at + k));
        at += k;
        setTimeout(step, 1);
      };
      step();
      return;
    }
    res.end(body);
  });
  cleanups.push(() => be.close());
  const records: RequestRecord[] = [];
  const engine = new Engine({ compileRouter: testRouter, onRequestComplete: (r) => records.push(r) });
  cleanups.push(() => engine.close());
  await engine.apply(snapshot([listener('h2', httpHandler(routes('r', [{ prefix: '/' }])))], [cluster('c', [{ address: '127.0.0.1', port: be.port }])]));
  const port = engine.portOf('h2')!;
  const client = h2connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => client.close());

  const jobs: Promise<void>[] = [];
  for (let i = 0; i < 4; i++) {
    const n = 1_500_000 + i;
    jobs.push(h2call(client, 'GET', `/p?n=${n}&seed=${i}`, undefined, true).then((r) => {
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-length'], String(n));
      assert.equal(sha(r.body), sha(pattern(n, i)), `slow GET ${i}`);
    }));
  }
  for (let i = 0; i < 3; i++) {
    const n = 20_000 + i * 7;
    jobs.push(h2call(client, 'GET', `/trickle?n=${n}&seed=${10 + i}`).then((r) => {
      assert.equal(r.status, 200);
      assert.equal(sha(r.body), sha(pattern(n, 10 + i)), `trickled GET ${i}`);
    }));
  }
  for (let i = 0; i < 3; i++) {
    const body = pattern(400_000 + i, 20 + i);
    jobs.push(h2call(client, 'POST', '/echo', body).then((r) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `${body.length} ${sha(body)}`, `upload ${i}`);
    }));
  }
  for (let i = 0; i < 20; i++) {
    jobs.push(h2call(client, 'GET', `/p?n=${i * 3}&seed=${i}`).then((r) => {
      assert.equal(r.status, 200);
      assert.equal(sha(r.body), sha(pattern(i * 3, i)), `small GET ${i}`);
    }));
  }
  // an empty known-length body: the head alone ends the stream
  jobs.push(h2call(client, 'GET', '/p?n=0&seed=0').then((r) => { assert.equal(r.status, 200); assert.equal(r.body.length, 0); }));
  await Promise.all(jobs);
  // every request completed and was recorded once, with no failure flag, and the engine counted them all as 2xx
  assert.equal(records.length, jobs.length);
  assert.deepEqual([...new Set(records.map((r) => `${r.status} ${r.flags.join(',') || '-'}`))], ['200 -']);
});
