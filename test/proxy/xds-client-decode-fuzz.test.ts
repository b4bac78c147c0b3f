// test/proxy: the edge decoders never throw on hostile input — seeded mutations of real control-plane resources and
// random bytes either decode or come back as errors naming a resource (so the client can NACK), never as exceptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_ROOT } from '../helpers/golden.ts';
import { pack } from '../../src/envoy/protos.ts';
import { decodeAny, ResourceType } from '../../src/proxy/config/decode.ts';
import { compileRouter } from '../../src/proxy/router/router.ts';
import type { RouteConfig } from '../../src/proxy/config/types.ts';
// The same seeded PRNG the load balancers use in tests (mulberry32): a failing seed reproduces.
import { seededRandom } from '../../src/proxy/upstream/lb/random.ts';

const URLS: Record<string, string> = { listeners: ResourceType.Listener, clusters: ResourceType.Cluster, endpoints: ResourceType.ClusterLoadAssignment, routes: ResourceType.RouteConfiguration };

const REPLACEMENTS: unknown[] = ['', '([', '*', 'x', 0, -1, 70000, 1e12, true, false, {}, [], { value: 0 }, { seconds: -5 }, 'MILLION', 'NOT_AN_ENUM'];

/** Replace or delete one random field somewhere in the object tree. */
function mutate(o: unknown, r: () => number): unknown {
  const clone = structuredClone(o);
  const paths: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { paths.push([v, i]); walk(x); });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (k !== '@type') paths.push([v as Record<string, unknown>, k]); walk(x); }
  };
  walk(clone);
  if (!paths.length) return clone;
  const [parent, key] = paths[Math.floor(r() * paths.length)]!;
  if (r() < 0.3 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string | number, unknown>)[key] = REPLACEMENTS[Math.floor(r() * REPLACEMENTS.length)];
  return clone;
}

function resources(): { url: string; obj: Record<string, unknown> }[] {
  const out = [];
  for (const feature of readdirSync(GOLDEN_ROOT)) {
    for (const f of readdirSync(join(GOLDEN_ROOT, feature)).filter((x) => x.endsWith('.golden.json'))) {
      const doc = JSON.parse(readFileSync(join(GOLDEN_ROOT, feature, f), 'utf8')) as Record<string, Record<string, unknown>[]>;
      for (const [k, list] of Object.entries(doc)) for (const obj of list) out.push({ url: URLS[k]!, obj });
    }
  }
  return out;
}

test('mutated real resources decode or fail with named errors, and decoded route configs compile', () => {
  const r = seededRandom(20261122);
  const all = resources();
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 1500; i++) {
    const { url, obj } = all[Math.floor(r() * all.length)]!;
    let m = obj;
    const n = 1 + Math.floor(r() * 3);
    for (let j = 0; j < n; j++) m = mutate(m, r) as Record<string, unknown>;
    let any;
    try {
      any = pack(url, m);
    } catch {
      continue; // not encodable as this type: the wire could not carry it either
    }
    const res = decodeAny(url, any).result;
    if (res.errors) {
      rejected++;
      for (const e of res.errors) assert.ok(e.resource && typeof e.message === 'string' && e.message.length > 0);
    } else {
      decoded++;
      if (url === ResourceType.RouteConfiguration) compileRouter(res.value as RouteConfig);
    }
  }
  assert.ok(decoded > 100 && rejected > 10, `decoded ${decoded}, rejected ${rejected}`);
});

test('random bytes never throw', () => {
  const r = seededRandom(7);
  for (let i = 0; i < 500; i++) {
    const len = Math.floor(r() * 64);
    const bytes = new Uint8Array(len);
    for (let j = 0; j < len; j++) bytes[j] = Math.floor(r() * 256);
    const url = Object.values(URLS)[i % 4]!;
    const d = decodeAny(url, { type_url: url, value: bytes });
    assert.ok(d.result.errors || d.result.value !== undefined);
  }
});
