// test/proxy: the proxy's decoders and compiled router on what our control plane really emits (test/golden/*):
// every resource decodes without error, and the router picks the same virtual host and route as the translation
// simulator for requests synthesised from each route's own match (a differential test of two implementations).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_ROOT } from '../helpers/golden.ts';
import { pack } from '../../src/envoy/protos.ts';
import { pickVirtualHost, routeMatches, type SimRequest } from '../../src/xds/translate/simulate.ts';
import { decodeAny, ResourceType } from '../../src/proxy/config/decode.ts';
import type { RouteConfig } from '../../src/proxy/config/types.ts';
import { compileRouter, type RouterRequest } from '../../src/proxy/router/router.ts';

type Obj = Record<string, any>;
const URLS: Record<string, string> = { listeners: ResourceType.Listener, clusters: ResourceType.Cluster, endpoints: ResourceType.ClusterLoadAssignment, routes: ResourceType.RouteConfiguration };

function goldens(): { feature: string; file: string; doc: Record<string, Obj[]> }[] {
  const out = [];
  for (const feature of readdirSync(GOLDEN_ROOT)) {
    for (const file of readdirSync(join(GOLDEN_ROOT, feature)).filter((f) => f.endsWith('.golden.json'))) {
      out.push({ feature, file, doc: JSON.parse(readFileSync(join(GOLDEN_ROOT, feature, file), 'utf8')) });
    }
  }
  return out;
}

test('every resource our control plane emits decodes without errors (proxyless api listeners excepted)', () => {
  let count = 0;
  for (const g of goldens()) {
    for (const [kind, list] of Object.entries(g.doc)) {
      for (const r of list) {
        const { name, result } = decodeAny(URLS[kind]!, pack(URLS[kind]!, r));
        count++;
        if (r.api_listener) {
          assert.ok(result.errors?.some((e) => e.field === 'api_listener'), `${g.feature}/${g.file} ${name}: api_listener must be refused`);
          continue;
        }
        assert.equal(result.errors, undefined, `${g.feature}/${g.file} ${kind} ${name}: ${JSON.stringify(result.errors)}`);
      }
    }
  }
  assert.ok(count > 100, `decoded ${count} resources`);
});

/** A value that satisfies a string matcher (undefined when we cannot synthesise one, e.g. a regex). */
function satisfy(m: Obj | undefined): string | undefined {
  if (!m) return '1';
  if (m.exact !== undefined) return m.exact;
  if (m.prefix !== undefined) return `${m.prefix}x`;
  if (m.suffix !== undefined) return `x${m.suffix}`;
  if (m.contains !== undefined) return `x${m.contains}x`;
  if (m.safe_regex) return undefined;
  return '1';
}

function headerValueFor(h: Obj): string | undefined {
  if (h.present_match !== undefined) return h.present_match ? '1' : undefined;
  if (h.range_match) return String(Number(h.range_match.start ?? 0));
  if (h.exact_match !== undefined) return h.exact_match;
  if (h.prefix_match !== undefined) return `${h.prefix_match}x`;
  if (h.suffix_match !== undefined) return `x${h.suffix_match}`;
  return satisfy(h.string_match);
}

/** Requests aimed at each route: its own match satisfied, plus variants with headers/query dropped and case flipped. */
function requestsFor(rc: Obj): SimRequest[] {
  const out: SimRequest[] = [];
  for (const vh of rc.virtual_hosts ?? []) {
    const hosts = (vh.domains as string[]).map((d) => d.replace(/^\*/, 'x').replace(/\*$/, 'x'));
    for (const r of vh.routes ?? []) {
      const m = r.match ?? {};
      let path: string;
      if (m.prefix !== undefined) path = m.prefix.endsWith('/') ? `${m.prefix}a` : `${m.prefix}/a`;
      else if (m.path !== undefined) path = m.path;
      else if (m.path_separated_prefix !== undefined) path = `${m.path_separated_prefix}/a`;
      else path = '/items/1';
      const headers: Record<string, string> = {};
      for (const h of m.headers ?? []) {
        if (h.invert_match) continue;
        const v = headerValueFor(h);
        if (v !== undefined && !String(h.name).startsWith(':')) headers[h.name] = v;
      }
      const qs = (m.query_parameters ?? []).map((q: Obj) => `${encodeURIComponent(q.name)}=${encodeURIComponent(q.present_match ? '' : satisfy(q.string_match) ?? '')}`).join('&');
      const full = qs ? `${path}?${qs}` : path;
      const method = (m.headers ?? []).find((h: Obj) => h.name === ':method');
      for (const host of hosts.slice(0, 3)) {
        const base = { port: 80, host, path: full, method: method ? headerValueFor(method) ?? 'GET' : 'GET', headers };
        out.push(base, { ...base, headers: {} }, { ...base, path }, { ...base, path: full.toUpperCase() }, { ...base, headers: { ...headers, 'x-canary': 'true' } });
      }
    }
  }
  return out;
}

test('the compiled router agrees with the simulator on every golden route configuration', () => {
  let compared = 0;
  for (const g of goldens()) {
    for (const rc of g.doc.routes ?? []) {
      const d = decodeAny(ResourceType.RouteConfiguration, pack(ResourceType.RouteConfiguration, rc));
      assert.equal(d.result.errors, undefined);
      const router = compileRouter(d.result.value as RouteConfig, { random: () => 0 });
      for (const req of requestsFor(rc)) {
        const simVh = pickVirtualHost(rc.virtual_hosts ?? [], req.host, rc.ignore_port_in_host_matching === true);
        const simIdx = simVh ? (simVh.routes as Obj[]).findIndex((r) => routeMatches(r.match ?? {}, req)) : -1;
        const h = new Map(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        const rreq: RouterRequest = { authority: req.host, path: req.path, method: req.method ?? 'GET', headers: { get: (n) => h.get(n) } };
        const mine = router.match(rreq);
        const where = `${g.feature}/${g.file} ${rc.name}: ${req.method} ${req.host}${req.path} ${JSON.stringify(req.headers)}`;
        assert.equal(mine.virtualHost?.name, simVh?.name, `${where}: virtual host`);
        assert.equal(mine.routeIndex, simIdx, `${where}: route index`);
        compared++;
      }
    }
  }
  assert.ok(compared > 200, `compared ${compared} requests`);
});
