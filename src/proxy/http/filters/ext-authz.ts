// proxy/http/filters: envoy.filters.http.ext_authz (gRPC service: ext-authz-grpc.ts) over HTTP — the check request to the authorization service's
// cluster (the request's method, path_prefix + path, Envoy's always-sent headers plus allowed_headers and
// headers_to_add, no body) and what its answer means: 200 allows (allowed_upstream_headers are set on the request),
// 5xx / connect failure / reset / timeout is an error (status_on_error, or allow when failure_mode_allow), any other
// status denies with the service's status, body and allowed_client_headers.
import type { ExtAuthzConfig } from '../../config/decode-ext-authz.ts';
import type { StringMatch } from '../../config/types.ts';
import type { EngineContext } from '../../listener/runtime.ts';
import type { IncomingRequest, OutgoingRequest, ResponseSink, UpstreamFailure } from '../exchange-types.ts';
import { matchString } from './match.ts';
import { checkHeaders, grpcCheck, isFramingHeader, type CheckPeers } from './ext-authz-grpc.ts';
import { isHopByHop } from '../codec/serialize.ts';

export type ExtAuthzResult =
  /** upstreamHeaders: set on the request; downstreamHeaders: added to the response the client gets. */
  | { kind: 'allow'; upstreamHeaders: Array<[string, string]>; downstreamHeaders: Array<[string, string]> }
  | { kind: 'deny'; status: number; body: string; headers: string[] }
  | { kind: 'error'; detail: string };

/** Request headers every check carries (Envoy's HTTP service), besides allowed_headers. */
const ALWAYS = new Set(['host', 'authorization']);
/**
 * Never copied into the check: it has no body and is no upgrade, and Envoy's HCM removed the connection-level
 * headers (and answered Expect) before any filter ran: the hop-by-hop set the codec drops, and Expect.
 * Proxy-Authorization is left to allowed_headers.
 */
const notInCheck = (n: string): boolean => n === 'expect' || (n !== 'proxy-authorization' && isHopByHop(n));

/** Sent to the client on deny even when allowed_client_headers leaves them out (Envoy adds these). */
const CLIENT_ALWAYS = new Set(['www-authenticate', 'location']);
/** A check response body larger than this is cut (it is a short denial message). */
const MAX_BODY = 64 * 1024;

const anyMatch = (ms: readonly StringMatch[], name: string): boolean => ms.some((m) => matchString(m, name));

/** The dynamic-metadata value at `path` under `filter`, when it is a string. */
function metadataString(md: ReadonlyMap<string, Record<string, unknown>> | undefined, filter: string, path: readonly string[]): string | undefined {
  let v: unknown = md?.get(filter);
  for (const k of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return typeof v === 'string' ? v : undefined;
}

/** The [name, value] pairs of a check response's headers whose names match (none without matchers; never framing). */
function pick(headers: readonly string[], ms: readonly StringMatch[] | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (ms === undefined) return out;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i]!;
    if (!isFramingHeader(n) && anyMatch(ms, n)) out.push([n, headers[i + 1]!]);
  }
  return out;
}

export class ExtAuthzFilter {
  constructor(readonly name: string, readonly cfg: ExtAuthzConfig) {}

  /** filter_enabled_metadata: without it the filter checks every request; with it, only matching ones. */
  enabled(md: ReadonlyMap<string, Record<string, unknown>> | undefined): boolean {
    const e = this.cfg.enabledMetadata;
    if (!e) return true;
    const v = metadataString(md, e.filter, e.path);
    return v !== undefined && matchString(e.match, v);
  }

  /** The check request for `req` (exported for tests). */
  checkRequest(req: IncomingRequest, peers: CheckPeers = {}): OutgoingRequest {
    const c = this.cfg;
    const headers: string[] = [];
    const src = checkHeaders(req, peers);
    for (let i = 0; i + 1 < src.length; i += 2) {
      const n = src[i]!;
      if (ALWAYS.has(n) || (c.allowedHeaders !== undefined && anyMatch(c.allowedHeaders, n))) {
        if (notInCheck(n)) continue;
        headers.push(n, src[i + 1]!);
      }
    }
    if (!headers.includes('host')) headers.push('host', req.authority);
    for (const [k, v] of c.headersToAdd) headers.push(k, v);
    headers.push('content-length', '0'); // as Envoy: the check never carries the body, and says so
    return { method: req.method, path: c.pathPrefix + req.path, authority: req.authority, scheme: 'http', headers, bodyLength: 0, upgrade: '' };
  }

  /** What the check response means (exported for tests). */
  interpret(status: number, headers: readonly string[], body: string): ExtAuthzResult {
    const c = this.cfg;
    if (status >= 500) return { kind: 'error', detail: `authorization service answered ${status}` };
    if (status === 200) {
      return { kind: 'allow', upstreamHeaders: pick(headers, c.allowedUpstreamHeaders), downstreamHeaders: pick(headers, c.allowedClientHeadersOnSuccess) };
    }
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const n = headers[i]!;
      if (isFramingHeader(n)) continue;
      if (c.allowedClientHeaders === undefined || CLIENT_ALWAYS.has(n) || anyMatch(c.allowedClientHeaders, n)) out.push(n, headers[i + 1]!);
    }
    return { kind: 'deny', status, body, headers: out };
  }

  /**
   * Send the check for `req` to the configured cluster; `done` is called exactly once (unless cancelled).
   * Returns a cancel function (the exchange ended first).
   */
  check(req: IncomingRequest, ctx: EngineContext, done: (r: ExtAuthzResult) => void, peers: CheckPeers = {}): () => void {
    let over = false;
    let cancelAcquire: (() => void) | undefined;
    let conn: { abort(): void } | undefined;
    const finish = (r: ExtAuthzResult): void => {
      if (over) return;
      over = true;
      ctx.clock.clearTimeout(timer);
      done(r);
    };
    const timer = ctx.clock.setTimeout(() => {
      cancelAcquire?.();
      conn?.abort();
      finish({ kind: 'error', detail: `authorization check timed out after ${this.cfg.timeoutMs} ms` });
    }, this.cfg.timeoutMs);
    if (this.cfg.grpc) {
      const abort = grpcCheck(ctx, this.cfg.cluster, this.cfg.grpc.authority, req, peers, finish);
      conn = abort ? { abort } : undefined;
      return () => { if (!over) { over = true; ctx.clock.clearTimeout(timer); conn?.abort(); } };
    }
    const cluster = ctx.upstreams.cluster(this.cfg.cluster);
    const host = cluster?.pick({}).host;
    if (!cluster || !host) {
      finish({ kind: 'error', detail: cluster ? `no healthy host in ${this.cfg.cluster}` : `unknown cluster ${this.cfg.cluster}` });
      return () => {};
    }
    const out = this.checkRequest(req, peers);
    let status = 0;
    let respHeaders: string[] = [];
    const chunks: Buffer[] = [];
    let size = 0;
    const sink: ResponseSink = {
      onHead: (s, _reason, h) => { status = s; respHeaders = h; },
      onData: (b, s, e) => {
        if (size >= MAX_BODY) return;
        const n = Math.min(e - s, MAX_BODY - size);
        chunks.push(Buffer.from(b.subarray(s, s + n)));
        size += n;
      },
      onEnd: () => finish(this.interpret(status, respHeaders, Buffer.concat(chunks).toString('utf8'))),
      onError: (kind: UpstreamFailure, detail: string) => finish({ kind: 'error', detail: `${kind}: ${detail}` }),
    };
    cancelAcquire = ctx.upstreams.pool(cluster, host.address, host.port).acquire((c, failure) => {
      cancelAcquire = undefined;
      if (over) return;
      if (!c) { finish({ kind: 'error', detail: `connect-failure: ${failure}` }); return; }
      conn = c;
      c.start(out, sink, undefined, true);
    });
    return () => {
      if (over) return;
      over = true;
      ctx.clock.clearTimeout(timer);
      cancelAcquire?.();
      conn?.abort();
    };
  }
}
