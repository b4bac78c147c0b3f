// proxy/config: decoder for envoy.filters.http.ext_authz (HTTP service, or gRPC service through envoy_grpc) into
// ExtAuthzConfig. What we cannot honour (google_grpc, request body in the check) is an error: a half-applied authorization filter must NACK.
import { dataPlaneRoot, lookupType } from '../../envoy/protos.ts';
import { Ctx, type Obj, arr, durationMs, headSafe, obj, str, stringMatch } from './decode-common.ts';
import type { StringMatch } from './types.ts';

export interface ExtAuthzConfig {
  /** gRPC service (grpc_service.envoy_grpc): Check over HTTP/2 to `cluster`, with this :authority. Absent: HTTP service. */
  grpc?: { authority: string };
  /** Cluster the check request goes to (http_service.server_uri.cluster or grpc_service.envoy_grpc.cluster_name). */
  cluster: string;
  /** server_uri.uri: its host is only a label here, as in Envoy. */
  uri: string;
  timeoutMs: number;
  pathPrefix: string;
  /** Request headers copied into the check, besides Envoy's always-sent ones (undefined: only those). */
  allowedHeaders?: StringMatch[];
  /** Fixed headers added to the check request. */
  headersToAdd: Array<[string, string]>;
  /** Check response headers set on the upstream request on allow (undefined: none). */
  allowedUpstreamHeaders?: StringMatch[];
  /** Check response headers sent to the client on deny (undefined: all of them). */
  allowedClientHeaders?: StringMatch[];
  /** Check response headers added to the client's response on allow (allowed_client_headers_on_success; undefined: none). */
  allowedClientHeadersOnSuccess?: StringMatch[];
  failureModeAllow: boolean;
  /** HTTP status for the local reply when the check fails (error, timeout, 5xx). Envoy's default 403. */
  statusOnError: number;
  /** filter_enabled_metadata: the filter runs only when this dynamic metadata value matches. */
  enabledMetadata?: { filter: string; path: string[]; match: StringMatch };
}

const DEFAULT_TIMEOUT_MS = 200; // Envoy's default for server_uri without a timeout

function matchers(v: unknown, ctx: Ctx, field: string): StringMatch[] | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: StringMatch[] = [];
  arr(o.patterns).forEach((p, i) => { const m = stringMatch(p, ctx, `${field}.patterns[${i}]`); if (m) out.push(m); });
  return out;
}

/** Envoy's StatusCode enum: a name (canonical form) or its number. */
function statusCode(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const n = dataPlaneRoot().lookupEnum('envoy.type.v3.StatusCode').values[v];
  return typeof n === 'number' ? n : undefined;
}

export function decodeExtAuthz(v: Obj, ctx: Ctx, field: string): ExtAuthzConfig {
  const out: ExtAuthzConfig = { cluster: '', uri: '', timeoutMs: DEFAULT_TIMEOUT_MS, pathPrefix: '', headersToAdd: [], failureModeAllow: v.failure_mode_allow === true, statusOnError: 403 };
  for (const k of ['with_request_body', 'denied_header_prefixes', 'metadata_context_namespaces', 'filter_enabled', 'deny_at_disable'] as const) {
    if (v[k] !== undefined) ctx.err(`${field}.${k}`, `ext_authz ${k} is not supported`);
  }
  decodeCommon(v, ctx, field, out);
  const gs = obj(v.grpc_service);
  if (gs) {
    const eg = obj(gs.envoy_grpc);
    if (!eg) { ctx.err(`${field}.grpc_service`, 'only envoy_grpc (a cluster) is supported, not google_grpc'); return out; }
    out.cluster = str(eg.cluster_name) ?? '';
    if (!out.cluster) ctx.err(`${field}.grpc_service.envoy_grpc.cluster_name`, 'must name a cluster');
    out.grpc = { authority: str(eg.authority) ?? '' };
    // The Check messages are outside the proxy's data-plane types: load them now, at config time, not on a request.
    try { lookupType('envoy.service.auth.v3.CheckRequest'); lookupType('envoy.service.auth.v3.CheckResponse'); } catch (e) {
      ctx.err(`${field}.grpc_service`, `cannot load envoy.service.auth.v3 types: ${(e as Error).message}`);
    }
    const t = durationMs(gs.timeout);
    if (t !== undefined) out.timeoutMs = t;
    return out;
  }
  const hs = obj(v.http_service);
  if (!hs) { ctx.err(`${field}.http_service`, 'ext_authz needs http_service or grpc_service'); return out; }
  const su = obj(hs.server_uri);
  out.cluster = str(su?.cluster) ?? '';
  out.uri = str(su?.uri) ?? '';
  if (!out.cluster) ctx.err(`${field}.http_service.server_uri.cluster`, 'must name a cluster');
  const t = durationMs(su?.timeout);
  if (t !== undefined) out.timeoutMs = t;
  out.pathPrefix = str(hs.path_prefix) ?? '';
  if (out.pathPrefix && !out.pathPrefix.startsWith('/')) ctx.err(`${field}.http_service.path_prefix`, 'must start with /');
  const rq = obj(hs.authorization_request);
  if (rq) {
    out.allowedHeaders = matchers(rq.allowed_headers, ctx, `${field}.http_service.authorization_request.allowed_headers`);
    arr(rq.headers_to_add).forEach((h, i) => {
      const k = str(obj(h)?.key)?.toLowerCase();
      const val = str(obj(h)?.value) ?? '';
      const f = `${field}.http_service.authorization_request.headers_to_add[${i}]`;
      if (!k) ctx.err(f, 'needs a key');
      else {
        // both checked: every problem is reported
        const keyOk = headSafe(k, ctx, `${f}.key`, 'key'), valueOk = headSafe(val, ctx, `${f}.value`);
        if (keyOk && valueOk) out.headersToAdd.push([k, val]);
      }
    });
  }
  const rs = obj(hs.authorization_response);
  if (rs) {
    const f = `${field}.http_service.authorization_response`;
    out.allowedUpstreamHeaders = matchers(rs.allowed_upstream_headers, ctx, `${f}.allowed_upstream_headers`);
    out.allowedClientHeaders = matchers(rs.allowed_client_headers, ctx, `${f}.allowed_client_headers`);
    out.allowedClientHeadersOnSuccess = matchers(rs.allowed_client_headers_on_success, ctx, `${f}.allowed_client_headers_on_success`);
    for (const k of ['allowed_upstream_headers_to_append', 'dynamic_metadata_from_headers'] as const) {
      if (rs[k] !== undefined) ctx.err(`${f}.${k}`, `ext_authz ${k} is not supported`);
    }
  }
  return out;
}

/** The fields both services share: status_on_error and filter_enabled_metadata. */
function decodeCommon(v: Obj, ctx: Ctx, field: string, out: ExtAuthzConfig): void {
  const soe = obj(v.status_on_error);
  if (soe) {
    const c = statusCode(soe.code);
    if (c === undefined || c < 200 || c > 599) ctx.err(`${field}.status_on_error.code`, `unknown status ${String(soe.code)}`);
    else out.statusOnError = c;
  }
  const md = obj(v.filter_enabled_metadata);
  if (md) {
    const f = `${field}.filter_enabled_metadata`;
    const path = arr(md.path).map((p) => str(obj(p)?.key) ?? '');
    const sm = obj(obj(md.value)?.string_match);
    const match = sm ? stringMatch(sm, ctx, `${f}.value.string_match`) : undefined;
    if (!str(md.filter) || path.length === 0 || path.includes('') || !match || md.invert === true) ctx.err(f, 'only a filter + key path + string_match value (not inverted) is supported');
    else out.enabledMetadata = { filter: str(md.filter)!, path, match };
  }
}
