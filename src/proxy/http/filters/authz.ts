// proxy/http/filters: the auth stage of an HTTP exchange — the HCM's path normalization, then the listener's
// ext_authz, jwt_authn and RBAC filters, run first and in their configured order. An RBAC filter's shadow result is
// published as its dynamic metadata (shadow_effective_policy_id) when an ext_authz filter may read it. Answers 401 (bad token) / 403 (denied) itself, or lets the exchange route the request;
// JWT verification and ext_authz checks make it asynchronous (then `next` is called later, unless the exchange ended meanwhile).
import { realClock } from '../../../common/clock.ts';
import type { HttpHandlerConfig } from '../../config/types.ts';
import type { ConnectionOrigin } from '../../listener/origin.ts';
import type { EngineContext } from '../../listener/runtime.ts';
import type { IncomingRequest } from '../exchange-types.ts';
import type { HeaderEdits } from '../route-types.ts';
import { joinedHeader } from '../header-edits.ts';
import { JWT_METADATA_NAMESPACE, JwtAuthnFilter, type JwtOutcome } from './jwt-authn.ts';
import { RbacFilter, authzCounters } from './rbac.ts';
import type { RbacInput } from './rbac-match.ts';
import { normalizeExchangePath, normalizesPath } from './path-normalize.ts';
import { compileRules, type RbacEngine } from './rbac-match.ts';
import { ExtAuthzFilter, type ExtAuthzResult } from './ext-authz.ts';
import type { ResponseFlag } from '../../telemetry/response-flags.ts';
import { setHeader } from '../header-edits.ts';
import { httpToGrpcStatus } from './fault.ts';

/** Why the auth stage answered: for the access log (response code details) and the explanation. */
export interface AuthzOutcome {
  /** The filter's name in the listener (e.g. envoy.filters.http.rbac). */
  filter: string;
  kind: 'rbac' | 'jwt_authn' | 'ext_authz';
  status: number;
  /** Envoy's response code details, e.g. rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]. */
  details: string;
  /** RBAC: the matched policy (undefined: an ALLOW filter where no policy matched). */
  policy?: string;
  action?: 'ALLOW' | 'DENY' | 'LOG';
  /** jwt_authn: the verification status (e.g. "Jwt is expired"). */
  message?: string;
}

/** What the auth stage needs from an exchange. */
export interface AuthzExchange {
  readonly req: IncomingRequest;
  readonly isFinished: boolean;
  authz: AuthzOutcome | undefined;
  /** Response flags (UAEX when ext_authz denies or fails). */
  readonly flags?: ResponseFlag[];
  localReply(status: number, body: string, edits: HeaderEdits, extra?: string[]): void;
  /** Headers an ext_authz allow adds to the response the client gets (upstream answer or later local reply). */
  addResponseHeaders?(pairs: ReadonlyArray<readonly [string, string]>): void;
  /** Run by the exchange when it ends first (client gone): the auth stage parks its in-flight check's cancel here. */
  cancelPending?: (() => void) | undefined;
}

/** `shadow`: the shadow engine again, for the metadata an ext_authz filter reads (only when one is configured). */
type Step = { kind: 'jwt'; f: JwtAuthnFilter } | { kind: 'rbac'; f: RbacFilter; shadow?: RbacEngine } | { kind: 'ext'; f: ExtAuthzFilter; stat: string };

const RBAC_METADATA = 'envoy.filters.http.rbac';

const NO_EDITS: HeaderEdits = { add: [], remove: [] };
const RBAC_DENIED_BODY = 'RBAC: access denied';

/** What runs before routing for one handler: path normalization (HCM) and the compiled auth steps. */
interface Prelude { normalize: boolean; steps: Step[] | null }
const NOTHING: Prelude = { normalize: false, steps: null };

/** Per handler config object (configs are replaced, never mutated, on updates). */
const preludes = new WeakMap<HttpHandlerConfig, Prelude>();
let lastHandler: HttpHandlerConfig | undefined;
let lastPrelude: Prelude = NOTHING;

function preludeFor(h: HttpHandlerConfig): Prelude {
  if (h === lastHandler) return lastPrelude;
  let p = preludes.get(h);
  if (p === undefined) {
    const list: Step[] = [];
    const ext = h.httpFilters.some((f) => f.type === 'ext_authz' && !f.disabled);
    for (const f of h.httpFilters) {
      if (f.disabled) continue;
      if (f.type === 'jwt_authn' && f.jwt) list.push({ kind: 'jwt', f: new JwtAuthnFilter(f.name, f.jwt) });
      else if (f.type === 'rbac' && f.rbac) {
        list.push({ kind: 'rbac', f: new RbacFilter(f.name, f.rbac, `http.${h.statPrefix}.`), shadow: ext && f.rbac.shadowRules ? compileRules(f.rbac.shadowRules) : undefined });
      } else if (f.type === 'ext_authz') list.push({ kind: 'ext', f: new ExtAuthzFilter(f.name, f.extAuthz), stat: `http.${h.statPrefix}.ext_authz.` });
    }
    const normalize = normalizesPath(h);
    p = !normalize && list.length === 0 ? NOTHING : { normalize, steps: list.length ? list : null };
    preludes.set(h, p);
  }
  lastHandler = h;
  lastPrelude = p;
  return p;
}

/** Header lookup for matchers: pseudo headers from the request line, repeated headers joined with ',' (Envoy). */
function headerView(req: IncomingRequest): { get(name: string): string | undefined } {
  return {
    get(name: string): string | undefined {
      switch (name) {
        case ':method': return req.method;
        case ':path': return req.path;
        case ':authority': return req.authority;
        case ':scheme': return req.scheme;
      }
      return joinedHeader(req.headers, name);
    },
  };
}

/** The original client per x-forwarded-for and the HCM's use_remote_address / xff_num_trusted_hops. */
export function remoteIp(req: { get(n: string): string | undefined }, direct: string, h: Pick<HttpHandlerConfig, 'useRemoteAddress' | 'xffNumTrustedHops'>): string {
  const xff = req.get('x-forwarded-for');
  if (!xff) return direct;
  const list = xff.split(',').map((s) => s.trim()).filter(Boolean);
  if (h.useRemoteAddress) {
    if (h.xffNumTrustedHops <= 0) return direct;
    return list[list.length - h.xffNumTrustedHops] ?? direct;
  }
  return list[list.length - 1 - h.xffNumTrustedHops] ?? direct;
}

/** The connection facts every RBAC check needs (HTTP adds headers, path and metadata). */
export function connectionInput(origin: ConnectionOrigin): RbacInput {
  return {
    directRemoteIp: origin.remoteAddress, remoteIp: origin.remoteAddress,
    destinationIp: origin.destination.address, destinationPort: origin.destination.port,
    tls: origin.tls, peer: origin.peer, sni: origin.sni ?? '',
  };
}

/** Wall-clock epoch ms for token lifetimes: Date.now on the real clock; a fake clock's now() is taken as epoch ms. */
function wallNow(ctx: EngineContext): number {
  return ctx.clock === realClock ? Date.now() : ctx.clock.now();
}

/**
 * Run the handler's auth filters. Returns true when the exchange should continue now; false when the stage answered
 * (401/403) or will call `next` later (JWT verification in flight).
 */
export function authorize(ex: AuthzExchange, ctx: EngineContext, origin: ConnectionOrigin, h: HttpHandlerConfig, next: () => void): boolean {
  const prelude = preludeFor(h);
  if (prelude === NOTHING) return true;
  const req = ex.req;
  // REJECT_REQUEST (400) / UNESCAPE_AND_REDIRECT (307) answer the client here.
  if (prelude.normalize && !normalizeExchangePath(ex, h)) return false;
  const steps = prelude.steps;
  if (steps === null) return true;
  const q = req.path.indexOf('?');
  const input: RbacInput = {
    ...connectionInput(origin),
    headers: headerView(req), path: q < 0 ? req.path : req.path.slice(0, q),
    remoteIp: remoteIp(req, origin.remoteAddress, h),
  };
  const stats = authzCounters(ctx.stats);
  const run = (from: number): boolean => {
    for (let s = from; s < steps.length; s++) {
      const step = steps[s];
      if (step.kind === 'ext') {
        if (!step.f.enabled(input.metadata)) continue;
        let settled = false;
        const cancel = step.f.check(req, ctx, (r) => {
          settled = true;
          ex.cancelPending = undefined;
          if (ex.isFinished) return;
          try {
            if (extDone(ex, step.f, r, stats, step.stat) && run(s + 1) && !ex.isFinished) next();
          } catch (e) {
            if (ex.isFinished) return;
            ex.flags?.push('UAEX');
            ex.localReply(500, 'ext_authz error', NO_EDITS);
          }
        }, { source: { address: origin.remoteAddress, port: origin.remotePort }, destination: origin.destination, xfcc: { mode: h.forwardClientCertDetails, peer: origin.peer } });
        // Envoy cancels the check when the stream goes away; without this a gone client's check runs to its timeout
        if (!settled) ex.cancelPending = cancel;
        return false;
      }
      if (step.kind === 'rbac') {
        if (step.shadow) shadowMetadata(input, step.f.cfg.shadowStatPrefix, step.shadow);
        const d = step.f.check(input, stats);
        if (!d.allowed) {
          ex.authz = { filter: step.f.name, kind: 'rbac', status: 403, details: d.details!, policy: d.policy, action: d.action };
          deny(ex, 403, RBAC_DENIED_BODY, []);
          return false;
        }
        continue;
      }
      const out = step.f.run(req, wallNow(ctx));
      if (out instanceof Promise) {
        const fail = (e: unknown): void => {
          if (ex.isFinished) return;
          ex.authz = { filter: step.f.name, kind: 'jwt_authn', status: 500, details: 'jwt_authn_internal_error', message: String(e) };
          ex.localReply(500, 'Jwt verification error', NO_EDITS);
        };
        out.then((o) => {
          if (ex.isFinished) return;
          // Nothing may escape from here: an exception would be an unhandled rejection, not a reply.
          try {
            if (jwtDone(ex, step.f, o, input) && run(s + 1) && !ex.isFinished) next();
          } catch (e) { fail(e); }
        }, fail);
        return false;
      }
      if (!jwtDone(ex, step.f, out, input)) return false;
    }
    return true;
  };
  return run(0);
}

/** Envoy's RBAC dynamic metadata for the shadow rules: the matched policy (if any) and the shadow engine's result. */
function shadowMetadata(input: RbacInput, prefix: string, engine: RbacEngine): void {
  const r = engine.evaluate(input);
  const md = new Map(input.metadata ?? []);
  const mine: Record<string, unknown> = { ...(md.get(RBAC_METADATA) ?? {}), [`${prefix}shadow_engine_result`]: r.allowed ? 'allowed' : 'denied' };
  if (r.policy !== undefined) mine[`${prefix}shadow_effective_policy_id`] = r.policy;
  md.set(RBAC_METADATA, mine);
  input.metadata = md;
}

/**
 * Apply an ext_authz answer: allow -> the allowed headers are set on the request; deny -> the service's status, body
 * and headers; error -> status_on_error (or go on when failure_mode_allow). Denials and errors carry flag UAEX.
 */
function extDone(ex: AuthzExchange, f: ExtAuthzFilter, r: ExtAuthzResult, stats: Map<string, number>, stat: string): boolean {
  // Envoy's counters: http.<prefix>.ext_authz.ok / denied / error / failure_mode_allowed
  const bump = (k: string) => stats.set(stat + k, (stats.get(stat + k) ?? 0) + 1);
  bump(r.kind === 'allow' ? 'ok' : r.kind === 'deny' ? 'denied' : 'error');
  if (r.kind === 'allow') {
    for (const [k, v] of r.upstreamHeaders) setHeader(ex.req.headers, k, v);
    if (r.downstreamHeaders.length) ex.addResponseHeaders?.(r.downstreamHeaders);
    return true;
  }
  if (r.kind === 'error' && f.cfg.failureModeAllow) { bump('failure_mode_allowed'); return true; }
  ex.flags?.push('UAEX');
  const status = r.kind === 'deny' ? r.status : f.cfg.statusOnError;
  ex.authz = r.kind === 'deny'
    ? { filter: f.name, kind: 'ext_authz', status, details: 'ext_authz_denied', message: `the authorization service answered ${status}` }
    : { filter: f.name, kind: 'ext_authz', status, details: 'ext_authz_error', message: `the authorization check failed (${r.detail})` };
  // deny(): a gRPC caller gets Envoy's gRPC-shaped local reply (HTTP 200, grpc-status from the HTTP status)
  if (r.kind === 'deny') deny(ex, r.status, r.body, r.headers);
  else deny(ex, f.cfg.statusOnError, '', []);
  return false;
}

function jwtDone(ex: AuthzExchange, f: JwtAuthnFilter, o: JwtOutcome, input: RbacInput): boolean {
  if (o.metadata) {
    const md = new Map(input.metadata ?? []);
    md.set(JWT_METADATA_NAMESPACE, { ...(md.get(JWT_METADATA_NAMESPACE) ?? {}), ...o.metadata });
    input.metadata = md;
  }
  if (o.ok) return true;
  ex.authz = { filter: f.name, kind: 'jwt_authn', status: o.status, details: `jwt_authn_access_denied{${o.message.replace(/ /g, '_')}}`, message: o.message };
  deny(ex, o.status, o.body, o.headers);
  return false;
}

/**
 * The local reply for a denial. A gRPC request gets what Envoy sends it: a trailers-only response (HTTP 200,
 * grpc-status mapped from the HTTP status, e.g. PERMISSION_DENIED / UNAUTHENTICATED, grpc-message with the body text).
 */
function deny(ex: AuthzExchange, status: number, body: string, headers: string[]): void {
  if ((ex.req.get('content-type') ?? '').startsWith('application/grpc')) {
    const code = String(httpToGrpcStatus(status)); // 401 -> 16, 403 -> 7, 503 -> 14 (Envoy's mapping)
    ex.localReply(200, '', NO_EDITS, ['content-type', 'application/grpc', 'grpc-status', code, 'grpc-message', body, ...headers]);
    return;
  }
  ex.localReply(status, body, NO_EDITS, headers);
}
