// proxy/http/filters: ext_authz over gRPC — envoy.service.auth.v3.Authorization/Check on an HTTP/2 stream to the
// provider's cluster (the proxy's own upstream, so mTLS and endpoints are the mesh's). The CheckRequest carries the
// request's attributes (method, path, host, scheme, headers, peers); a CheckResponse with status OK allows (its
// ok_response headers are set on the request), any other status denies with denied_response (403 by default);
// a gRPC error, reset or malformed answer is an error (status_on_error / failure_mode_allow, as for HTTP).
import { lookupType } from '../../../envoy/protos.ts';
import type { EngineContext } from '../../listener/runtime.ts';
import type { IncomingRequest, OutgoingRequest, ResponseSink } from '../exchange-types.ts';
import type { ExtAuthzResult } from './ext-authz.ts';
import { applyXfcc } from '../../tls/xfcc.ts';
import type { PeerIdentity } from '../../tls/peer.ts';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const MAX_RESPONSE = 1024 * 1024;

/**
 * Peer addresses for the CheckRequest (source = downstream client, destination = this listener), and the HCM's
 * forward_client_cert_details with the downstream peer: Envoy edits x-forwarded-client-cert before any filter runs,
 * so the check must see the header as the upstream would (a client must not hand the authz server a forged identity).
 */
export interface CheckPeers {
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  xfcc?: { mode: string; peer: PeerIdentity | undefined };
}

/** The request headers a check reads: XFCC as the HCM leaves it (when `peers.xfcc` is given). */
export function checkHeaders(req: IncomingRequest, peers: CheckPeers): string[] {
  if (!peers.xfcc) return req.headers;
  const h = req.headers.slice();
  applyXfcc(h, peers.xfcc.mode, peers.xfcc.peer);
  return h;
}

const peer = (p: { address: string; port: number } | undefined) => (p ? { address: { socket_address: { address: p.address, port_value: p.port } } } : undefined);

/** The CheckRequest message (plain object, Envoy's field names) for `req`. */
export function checkRequestObject(req: IncomingRequest, peers: CheckPeers = {}): Record<string, unknown> {
  const headers: Record<string, string> = { ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': req.scheme };
  const h = checkHeaders(req, peers);
  for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = headers[h[i]!] === undefined ? h[i + 1]! : `${headers[h[i]!]},${h[i + 1]}`;
  const q = req.path.indexOf('?');
  return {
    attributes: {
      // principal: the mTLS peer's SPIFFE ID (source) and ours (destination), as Envoy fills them
      ...(peers.source ? { source: { ...peer(peers.source), ...(peers.xfcc?.peer?.principal ? { principal: peers.xfcc.peer.principal } : {}) } } : {}),
      ...(peers.destination ? { destination: { ...peer(peers.destination), ...(peers.xfcc?.peer?.localPrincipal ? { principal: peers.xfcc.peer.localPrincipal } : {}) } } : {}),
      request: {
        http: {
          id: req.get('x-request-id') ?? '', method: req.method, headers, path: req.path, host: req.authority, scheme: req.scheme,
          protocol: 'HTTP/1.1', ...(q >= 0 ? { query: req.path.slice(q + 1) } : {}),
        },
      },
    },
  };
}

/** One length-prefixed gRPC message. */
export function grpcFrame(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

function statusNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const e = lookupType('envoy.service.auth.v3.DeniedHttpResponse').lookupEnum('envoy.type.v3.StatusCode');
  const n = e.values[v];
  return typeof n === 'number' ? n : undefined;
}

/**
 * Never copied from an authorization server's answer (HTTP or gRPC) onto the request or the local reply: the local
 * reply frames its own body, and the connection-level and identity headers are the proxy's.
 */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'host', ':authority', 'date', 'server']);
export const isFramingHeader = (n: string): boolean => FRAMING.has(n);

/** The HeaderValueOption list of a CheckResponse as flat [name, value] pairs (names lower-cased). */
function pairs(list: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const o of Array.isArray(list) ? list : []) {
    const h = (o as { header?: { key?: unknown; value?: unknown } })?.header;
    if (h && typeof h.key === 'string' && h.key !== '' && !/[\r\n\0]/.test(h.key + String(h.value ?? ''))) out.push([h.key.toLowerCase(), String(h.value ?? '')]);
  }
  return out;
}

/** What a decoded CheckResponse means (exported for tests). */
export function interpretCheckResponse(r: Record<string, any>): ExtAuthzResult {
  const code = typeof r.status?.code === 'number' ? r.status.code : 0;
  // OkHttpResponse: headers go to the upstream request, response_headers_to_add to the client's response.
  if (code === 0) return { kind: 'allow', upstreamHeaders: pairs(r.ok_response?.headers), downstreamHeaders: pairs(r.ok_response?.response_headers_to_add).filter(([k]) => !isFramingHeader(k)) };
  const d = r.denied_response ?? {};
  const status = statusNumber(d.status?.code) ?? 403;
  return { kind: 'deny', status, body: typeof d.body === 'string' ? d.body : '', headers: pairs(d.headers).filter(([k]) => !isFramingHeader(k)).flat() };
}

/** Decode the unary response body (one gRPC message) into a result; undefined when malformed. */
export function decodeCheckResponse(body: Buffer): ExtAuthzResult | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) return undefined;
  try {
    const t = lookupType('envoy.service.auth.v3.CheckResponse');
    const obj = t.toObject(t.decode(body.subarray(5, 5 + len)), { enums: String, longs: Number, defaults: false });
    return interpretCheckResponse(obj as Record<string, any>);
  } catch {
    return undefined;
  }
}

/**
 * Send Check for `req` to `clusterName` over HTTP/2; `done` once with the outcome. Returns the in-flight stream's
 * abort (undefined when it failed at once).
 */
export function grpcCheck(
  ctx: EngineContext, clusterName: string, authority: string, req: IncomingRequest, peers: CheckPeers, done: (r: ExtAuthzResult) => void,
): (() => void) | undefined {
  const cluster = ctx.upstreams.cluster(clusterName);
  const host = cluster?.pick({}).host;
  if (!cluster || !host) { done({ kind: 'error', detail: cluster ? `no healthy host in ${clusterName}` : `unknown cluster ${clusterName}` }); return undefined; }
  if (!ctx.h2Upstream) { done({ kind: 'error', detail: 'no HTTP/2 upstream for the gRPC check' }); return undefined; }
  let frame: Buffer;
  try {
    const t = lookupType('envoy.service.auth.v3.CheckRequest');
    frame = grpcFrame(t.encode(t.fromObject(checkRequestObject(req, peers))).finish());
  } catch (e) {
    done({ kind: 'error', detail: `cannot encode CheckRequest: ${(e as Error).message}` });
    return undefined;
  }
  const out: OutgoingRequest = {
    method: 'POST', path: CHECK_PATH, authority: authority || clusterName, scheme: 'http',
    headers: ['content-type', 'application/grpc', 'te', 'trailers'], bodyLength: frame.length, upgrade: '',
  };
  let headStatus = 0;
  let headGrpc: string | undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const finish = (r: ExtAuthzResult) => { if (!over) { over = true; done(r); } };
  const grpcStatusOf = (h: readonly string[] | undefined) => { const i = h ? h.indexOf('grpc-status') : -1; return i >= 0 && i % 2 === 0 ? h![i + 1] : undefined; };
  const sink: ResponseSink = {
    onHead: (s, _r, h) => { headStatus = s; headGrpc = grpcStatusOf(h); },
    onData: (b, s, e) => { if (size + (e - s) <= MAX_RESPONSE) { chunks.push(Buffer.from(b.subarray(s, e))); size += e - s; } },
    onEnd: (trailers) => {
      const gs = grpcStatusOf(trailers) ?? headGrpc;
      if (headStatus !== 200 || gs !== '0') { finish({ kind: 'error', detail: `Check failed: HTTP ${headStatus}, grpc-status ${gs ?? '(none)'}` }); return; }
      finish(decodeCheckResponse(Buffer.concat(chunks)) ?? { kind: 'error', detail: 'malformed CheckResponse' });
    },
    onError: (kind, detail) => finish({ kind: 'error', detail: `${kind}: ${detail}` }),
  };
  const u = ctx.h2Upstream.request(cluster, host.address, host.port, out, sink);
  u.write(frame, 0, frame.length);
  u.end();
  return () => { over = true; u.abort(); };
}
