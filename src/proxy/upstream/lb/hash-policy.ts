// proxy/upstream/lb: request hash keys for ring hash / maglev from the route's hash_policy list
// (header, cookie, source IP, query parameter), combined as Envoy does and stopping at a terminal policy.
//
// Cookie policies with a ttl generate a cookie when the request lacks one: computeRequestHash returns
// `setCookie` (a full Set-Cookie header value). The ENGINE must add it to the downstream response
// (`Set-Cookie: <value>`), so the client sends it next time and sticks to the same host.
import { combineHashes, fold53, xxhash64 } from './hash.ts';

export type HashPolicy =
  | { kind: 'header'; headerName: string; terminal?: boolean }
  | { kind: 'cookie'; name: string; ttlMs?: number; path?: string; terminal?: boolean }
  | { kind: 'sourceIp'; terminal?: boolean }
  | { kind: 'queryParameter'; name: string; terminal?: boolean }
  /** Accepted for compatibility with the route config; the proxy keeps no filter state, so it never yields a key. */
  | { kind: 'filterState'; key: string; terminal?: boolean };

export interface HashRequest {
  /** Header lookup, lower-case names; multiple values joined by ','. */
  headers: { get(name: string): string | undefined };
  /** Request path including the query string. */
  path: string;
  authority?: string;
  method?: string;
  /** Downstream peer address (after any trusted XFF handling). */
  sourceIp?: string;
  sourcePort?: number;
  /** The listener's local address, used to derive a generated cookie value. */
  localAddress?: string;
}

export interface RequestHash {
  /** Folded 53-bit hash for PickContext.hash; undefined when no policy produced a key (balancer picks at random). */
  hash?: number;
  /** Set-Cookie header value the engine must add to the response, when a cookie was generated. */
  setCookie?: string;
}

function headerValue(req: HashRequest, name: string): string | undefined {
  const n = name.toLowerCase();
  if (n === ':authority' || n === 'host') return req.authority ?? req.headers.get('host');
  if (n === ':path') return req.path;
  if (n === ':method') return req.method;
  return req.headers.get(n);
}

export function parseCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

export function queryParam(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const end = path.indexOf('#', q);
  for (const pair of path.slice(q + 1, end < 0 ? undefined : end).split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    if (k === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/** Compute the request's hash from the policies, in order. */
export function computeRequestHash(policies: readonly HashPolicy[], req: HashRequest): RequestHash {
  let acc: bigint | undefined;
  let setCookie: string | undefined;
  for (const p of policies) {
    let key: string | undefined;
    switch (p.kind) {
      case 'header':
        key = headerValue(req, p.headerName);
        break;
      case 'cookie': {
        key = parseCookie(req.headers.get('cookie'), p.name);
        if (key === undefined && p.ttlMs !== undefined) {
          // Derive the value from the connection's addresses (as Envoy does) so the same client gets
          // the same value until the cookie is stored.
          key = xxhash64(`${req.sourceIp ?? ''}:${req.sourcePort ?? ''}|${req.localAddress ?? ''}`).toString(16).padStart(16, '0');
          const attrs = [`${p.name}="${key}"`];
          if (p.ttlMs > 0) attrs.push(`Max-Age=${Math.floor(p.ttlMs / 1000)}`);
          if (p.path) attrs.push(`Path=${p.path}`);
          attrs.push('HttpOnly');
          setCookie = attrs.join('; ');
        }
        break;
      }
      case 'sourceIp':
        key = req.sourceIp;
        break;
      case 'queryParameter':
        key = queryParam(req.path, p.name);
        break;
      case 'filterState':
        break;
    }
    if (key !== undefined) acc = combineHashes(acc, xxhash64(key));
    // A terminal policy ends the chain once any hash exists (its own or an earlier policy's), as in Envoy.
    if (p.terminal && acc !== undefined) break;
  }
  return { hash: acc === undefined ? undefined : fold53(acc), setCookie };
}
