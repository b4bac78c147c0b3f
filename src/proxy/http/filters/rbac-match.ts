// proxy/http/filters: compiles RBAC principals / permissions (and metadata / value / CIDR matchers) into predicates
// over one request or connection, evaluated as Envoy's RBAC engine does. Shared by HTTP RBAC and network RBAC.
import { isIP } from 'node:net';
import type { CidrRange, StringMatch } from '../../config/types.ts';
import type { MetadataMatch, RbacPermission, RbacPrincipal, RbacRulesConfig, ValueMatch } from '../../config/authz-types.ts';
import { compileHeaderMatcher, compileStringMatch } from '../../router/match.ts';

/** What RBAC sees of a request (HTTP) or a connection (network: no headers, no path). */
export interface RbacInput {
  /** Header lookup including pseudo headers (:method, :path, :authority); undefined on a TCP connection. */
  headers?: { get(name: string): string | undefined };
  /** The request path without query string. */
  path?: string;
  directRemoteIp: string;
  remoteIp: string;
  destinationIp: string;
  destinationPort: number;
  /** Downstream TLS (required for `authenticated`). */
  tls: boolean;
  peer?: { uris: readonly string[]; dns: readonly string[]; subject?: string };
  sni: string;
  /** Dynamic metadata by filter namespace (e.g. envoy.filters.http.jwt_authn -> { payload: {...} }). */
  metadata?: ReadonlyMap<string, Record<string, unknown>>;
}

type Pred = (i: RbacInput) => boolean;

// ---- CIDR

/** 16-byte form of an IPv4/IPv6 address (IPv4 as ::ffff:a.b.c.d, so v4-mapped v6 addresses match v4 ranges). */
function ipBytes(ip: string): Uint8Array | undefined {
  let s = ip;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const fam = isIP(s);
  const out = new Uint8Array(16);
  if (fam === 4) {
    out[10] = 0xff; out[11] = 0xff;
    const p = s.split('.');
    for (let i = 0; i < 4; i++) out[12 + i] = Number(p[i]);
    return out;
  }
  if (fam !== 6) return undefined;
  // Trailing dotted quad (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(':');
  let tail: number[] = [];
  if (s.indexOf('.', lastColon) > 0) {
    tail = s.slice(lastColon + 1).split('.').map(Number);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const hp = head ? head.split(':') : [];
  const rp = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? hp : [...hp, ...new Array(8 - hp.length - rp.length).fill('0'), ...rp];
  for (let g = 0; g < 8; g++) { const v = parseInt(groups[g] ?? '0', 16); out[g * 2] = v >> 8; out[g * 2 + 1] = v & 0xff; }
  if (tail.length === 4) for (let i = 0; i < 4; i++) out[12 + i] = tail[i];
  return out;
}

/**
 * The last address compileCidr's predicates parsed: every CIDR rule of a request (and the requests of one
 * connection) asks about the same one or two addresses, so each is parsed once, not once per rule and request.
 */
let lastIp: string | undefined;
let lastBytes: Uint8Array | undefined;
function requestIpBytes(ip: string): Uint8Array | undefined {
  if (ip !== lastIp) { lastIp = ip; lastBytes = ipBytes(ip); }
  return lastBytes;
}

export function compileCidr(c: CidrRange): (ip: string) => boolean {
  const base = ipBytes(c.addressPrefix);
  if (!base) return () => false;
  const v4 = isIP(c.addressPrefix) === 4;
  const bits = v4 ? 96 + Math.min(c.prefixLen, 32) : Math.min(c.prefixLen, 128);
  return (ip) => {
    const b = requestIpBytes(ip);
    if (!b) return false;
    for (let i = 0; i < bits; i++) {
      const byte = i >> 3, mask = 0x80 >> (i & 7);
      if ((b[byte] & mask) !== (base[byte] & mask)) return false;
    }
    return true;
  };
}

// ---- metadata

export function compileValue(m: ValueMatch): (v: unknown) => boolean {
  switch (m.kind) {
    case 'null': return (v) => v === null;
    case 'double': {
      if (m.range) { const { start, end } = m.range; return (v) => typeof v === 'number' && v >= start && v < end; }
      const x = m.exact;
      return (v) => typeof v === 'number' && v === x;
    }
    case 'string': { const p = compileStringMatch(m.string); return (v) => typeof v === 'string' && p(v); }
    case 'bool': { const want = m.value; return (v) => v === want; }
    case 'present': { const want = m.present; return (v) => (v !== undefined) === want; }
    case 'list': { const inner = compileValue(m.oneOf); return (v) => Array.isArray(v) && v.some(inner); }
    case 'or': { const ps = m.any.map(compileValue); return (v) => ps.some((p) => p(v)); }
  }
}

function compileMetadata(m: MetadataMatch): Pred {
  const test = compileValue(m.value);
  const { filter, path, invert } = m;
  return (i) => {
    let v: unknown = i.metadata?.get(filter);
    for (const k of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
    return test(v) !== invert;
  };
}

// ---- principals / permissions

function header(h: Parameters<typeof compileHeaderMatcher>[0]): Pred {
  const m = compileHeaderMatcher(h);
  // A connection has no headers: header rules never match there (Envoy's network RBAC).
  return (i) => i.headers !== undefined && m(i.headers);
}

function urlPath(s: StringMatch): Pred {
  const p = compileStringMatch(s);
  return (i) => i.path !== undefined && p(i.path);
}

function authenticated(name: StringMatch | undefined): Pred {
  if (!name) return (i) => i.tls;
  const p = compileStringMatch(name);
  // Envoy matches the URI SANs, else the DNS SANs, else the subject.
  return (i) => {
    const peer = i.peer;
    if (!i.tls || !peer) return false;
    if (peer.uris.length) return peer.uris.some(p);
    if (peer.dns.length) return peer.dns.some(p);
    return peer.subject !== undefined && p(peer.subject);
  };
}

export function compilePrincipal(x: RbacPrincipal): Pred {
  switch (x.kind) {
    case 'any': return () => true;
    case 'and': { const ps = x.ids.map(compilePrincipal); return (i) => ps.every((p) => p(i)); }
    case 'or': { const ps = x.ids.map(compilePrincipal); return (i) => ps.some((p) => p(i)); }
    case 'not': { const p = compilePrincipal(x.id); return (i) => !p(i); }
    case 'authenticated': return authenticated(x.name);
    case 'source_ip':
    case 'direct_remote_ip': { const c = compileCidr(x.cidr); return (i) => c(i.directRemoteIp); }
    case 'remote_ip': { const c = compileCidr(x.cidr); return (i) => c(i.remoteIp); }
    case 'header': return header(x.header);
    case 'url_path': return urlPath(x.path);
    case 'metadata': return compileMetadata(x.metadata);
  }
}

export function compilePermission(x: RbacPermission): Pred {
  switch (x.kind) {
    case 'any': return () => true;
    case 'and': { const ps = x.rules.map(compilePermission); return (i) => ps.every((p) => p(i)); }
    case 'or': { const ps = x.rules.map(compilePermission); return (i) => ps.some((p) => p(i)); }
    case 'not': { const p = compilePermission(x.rule); return (i) => !p(i); }
    case 'header': return header(x.header);
    case 'url_path': return urlPath(x.path);
    case 'destination_ip': { const c = compileCidr(x.cidr); return (i) => c(i.destinationIp); }
    case 'destination_port': { const port = x.port; return (i) => i.destinationPort === port; }
    case 'destination_port_range': { const { start, end } = x; return (i) => i.destinationPort >= start && i.destinationPort < end; }
    case 'metadata': return compileMetadata(x.metadata);
    case 'requested_server_name': { const p = compileStringMatch(x.name); return (i) => p(i.sni); }
  }
}

/** A compiled RBAC rule set: which policy (first by name) matches, and what the action makes of it. */
export interface RbacEngine {
  readonly action: RbacRulesConfig['action'];
  /** The name of the first matching policy, or undefined. */
  match(i: RbacInput): string | undefined;
  /** allowed: the action's verdict; policy: the matched policy name (Envoy's effective policy id). */
  evaluate(i: RbacInput): { allowed: boolean; policy: string | undefined };
}

export function compileRules(r: RbacRulesConfig): RbacEngine {
  const policies = r.policies.map((p) => {
    const perms = p.permissions.map(compilePermission);
    const ids = p.principals.map(compilePrincipal);
    return { name: p.name, test: (i: RbacInput) => perms.some((f) => f(i)) && ids.some((f) => f(i)) };
  });
  const match = (i: RbacInput): string | undefined => {
    for (const p of policies) if (p.test(i)) return p.name;
    return undefined;
  };
  const action = r.action;
  return {
    action,
    match,
    evaluate(i) {
      const policy = match(i);
      if (action === 'ALLOW') return { allowed: policy !== undefined, policy };
      if (action === 'DENY') return { allowed: policy === undefined, policy };
      return { allowed: true, policy };
    },
  };
}
