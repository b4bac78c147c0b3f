// config/validation: validators never throw on malformed input — seeded random mutations of valid objects of every kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from '../validate.ts';
import { objectOf } from './testkit.ts';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS: [string, object][] = [
  ['VirtualService', { hosts: ['a'], gateways: ['gw'], http: [{ match: [{ uri: { prefix: '/' }, headers: { x: { exact: 'y' } } }], route: [{ destination: { host: 'a', subset: 'v1', port: { number: 80 } }, weight: 50, headers: { request: { set: { a: 'b' } } } }], retries: { attempts: 2, retryOn: '5xx' }, fault: { abort: { httpStatus: 500, percentage: { value: 1 } } }, corsPolicy: { allowOrigins: [{ exact: 'x' }] } }], tls: [{ match: [{ sniHosts: ['a'] }], route: [{ destination: { host: 'a' } }] }], tcp: [{ match: [{ port: 1 }], route: [{ destination: { host: 'a' } }] }] }],
  ['DestinationRule', { host: 'a', trafficPolicy: { loadBalancer: { localityLbSetting: { distribute: [{ from: 'a/b', to: { 'a/c': 100 } }], failover: [{ from: 'a', to: 'b' }] }, consistentHash: { httpCookie: { name: 'c', attributes: [{ name: 'x' }] } } }, connectionPool: { http: { http2KeepAlive: { interval: '1s' } }, tcp: { maxConnections: 1 } }, outlierDetection: { consecutive5xxErrors: 1 }, tls: { mode: 'MUTUAL' }, portLevelSettings: [{ port: { number: 1 }, tls: {} }], tunnel: { targetHost: 'h', targetPort: 1 } }, subsets: [{ name: 'v1', labels: { a: 'b' } }] }],
  ['Gateway', { servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['ns/a.com'], tls: { mode: 'MUTUAL', tlsCertificates: [{ serverCertificate: 'a' }], cipherSuites: ['x'] }, bind: 'unix:///a' }] }],
  ['Sidecar', { ingress: [{ port: { number: 1, protocol: 'HTTP', name: 'a' }, defaultEndpoint: ':1', tls: { mode: 'SIMPLE' }, connectionPool: { http: {} } }], egress: [{ port: { number: 0 }, bind: 'unix:///a', hosts: ['./*'] }, { hosts: ['*/*'] }], outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'a', port: { number: 1 } } } }],
  ['ServiceEntry', { hosts: ['a.com', 'b.com'], addresses: ['1.1.1.1/32'], ports: [{ number: 1, name: 'a', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: 'unix:///a', ports: { a: 1 }, labels: { a: 'b' } }], exportTo: ['.'] }],
  ['WorkloadGroup', { metadata: { labels: { a: 'b' } }, template: { address: 'unix://@a', ports: { a: 1 } }, probe: { httpGet: { port: 1, httpHeaders: [{ name: 'a' }] } } }],
  ['PeerAuthentication', { selector: { matchLabels: { a: 'b' } }, portLevelMtls: { '80': { mode: 'STRICT' } } }],
  ['RequestAuthentication', { targetRefs: [{ kind: 'Service', name: 'a' }], jwtRules: [{ issuer: 'a', jwks: '{"keys":[{"d":1}]}', fromHeaders: [{ name: 'a' }], outputClaimToHeaders: [{ header: 'a', claim: 'b' }] }] }],
  ['AuthorizationPolicy', { action: 'CUSTOM', provider: { name: 'p' }, rules: [{ from: [{ source: { principals: ['a'], ipBlocks: ['1.1.1.1'] } }], to: [{ operation: { ports: ['1'], paths: ['/{*}'] } }], when: [{ key: 'source.ip', values: ['1.1.1.1'] }] }] }],
  ['Telemetry', { selector: { matchLabels: { a: 'b' } }, metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, tagOverrides: { a: { value: 'b' } } }] }], tracing: [{ customTags: { a: { literal: { value: 'b' } } } }] }],
];

const junk = (r: () => number): unknown => [null, 0, -1, 1.5, 99999999, '', '*', 'x:y/z', [], [null], {}, { a: null }, true][Math.floor(r() * 13)];

/** Replace one randomly chosen node (object value or array item) of a deep copy with junk. */
function mutate(v: unknown, r: () => number): unknown {
  const copy = structuredClone(v) as Record<string, unknown>;
  const nodes: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach((item, i) => { nodes.push([x, i]); walk(item); });
    else if (x && typeof x === 'object') for (const [k, item] of Object.entries(x)) { nodes.push([x as Record<string, unknown>, k]); walk(item); }
  };
  walk(copy);
  for (let n = 0; n < 1 + Math.floor(r() * 3) && nodes.length > 0; n++) {
    const [parent, k] = nodes[Math.floor(r() * nodes.length)]!;
    (parent as Record<string | number, unknown>)[k] = junk(r);
  }
  return copy;
}

test('every validator reports malformed specs as issues and never fails internally', () => {
  const r = rng(20240611);
  let runs = 0;
  let rejected = 0;
  for (const [kind, spec] of SEEDS) {
    for (let i = 0; i < 300; i++) {
      const issues = validateObject(objectOf(kind, mutate(spec, r)));
      runs++;
      const internal = issues.find((x) => x.message.startsWith('internal validation failure'));
      assert.equal(internal, undefined, `${kind}: ${internal?.message}`);
      for (const x of issues) assert.equal(typeof x.path, 'string');
      if (issues.some((x) => x.severity === 'error')) rejected++;
    }
  }
  assert.equal(runs, SEEDS.length * 300);
  // The mutations really do break things, so the loop above exercised the error paths.
  assert.ok(rejected > runs / 2, `only ${rejected} of ${runs} mutated objects were rejected`);
});
