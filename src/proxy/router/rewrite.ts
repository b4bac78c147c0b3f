// proxy/router: path rewrites (prefix, regex) and redirect Location building, following Envoy's route semantics.
import type { RedirectAction } from '../config/types.ts';
import { portOf, stripPort } from './vhost.ts';

export interface CompiledRegexRewrite {
  re: RegExp;
  /** JS replacement string ($1) converted from RE2's \1. */
  replacement: string;
}

export function compileRegexRewrite(r: { regex: string; substitution: string } | undefined): CompiledRegexRewrite | undefined {
  if (!r) return undefined;
  // Escape literal '$' first, then map RE2 backreferences \N to $N.
  const replacement = r.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
  return { re: new RegExp(r.regex, 'g'), replacement };
}

/** Split ":path" into path and query ("?..." kept with its '?'). */
export function splitPath(p: string): [string, string] {
  const q = p.indexOf('?');
  return q < 0 ? [p, ''] : [p.slice(0, q), p.slice(q)];
}

/** Regex rewrite applies to the path without the query; every match is substituted (RE2 GlobalReplace). */
export function applyRegexRewrite(path: string, r: CompiledRegexRewrite): string {
  const [p, q] = splitPath(path);
  r.re.lastIndex = 0;
  return p.replace(r.re, r.replacement) + q;
}

/** Replace the first `matchedLength` characters (the matched prefix or path) with `rewrite`. */
export function applyPrefixRewrite(path: string, matchedLength: number, rewrite: string): string {
  return rewrite + path.slice(matchedLength);
}

export interface RedirectContext {
  scheme: string;
  authority: string;
  path: string;
  /** Length of the prefix the route matched (for prefix_rewrite), or -1. */
  matchedPrefixLength: number;
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

/** Build the Location of a redirect action (Envoy's RouteEntryImplBase::newUri). */
export function redirectLocation(a: RedirectAction, regex: CompiledRegexRewrite | undefined, ctx: RedirectContext): string {
  const origScheme = ctx.scheme.toLowerCase();
  const scheme = a.httpsRedirect ? 'https' : (a.scheme ?? origScheme);
  const origHost = ctx.authority.toLowerCase();
  let host = a.host ?? stripPort(origHost);
  let port: number | undefined;
  if (a.host) {
    // host_redirect replaces the whole authority (its own port, if any); port_redirect may still override.
    port = portOf(a.host);
    host = stripPort(a.host);
  }
  if (a.port) port = a.port;
  else if (a.host) {
    // keep the port host_redirect carried
  } else {
    port = portOf(origHost);
    // Changing scheme drops the old scheme's default port, as the new one has its own.
    if (scheme !== origScheme && port === DEFAULT_PORT[origScheme]) port = undefined;
  }
  if (port !== undefined && port === DEFAULT_PORT[scheme]) port = undefined;

  const [origPath, origQuery] = splitPath(ctx.path);
  let path: string;
  let query = origQuery;
  if (a.path !== undefined) {
    const [p, q] = splitPath(a.path);
    path = p;
    if (q) query = q; // a path_redirect with its own query replaces the original one
  } else if (a.prefixRewrite !== undefined && ctx.matchedPrefixLength >= 0) {
    path = applyPrefixRewrite(origPath, Math.min(ctx.matchedPrefixLength, origPath.length), a.prefixRewrite);
  } else if (regex) {
    path = applyRegexRewrite(origPath, regex);
  } else {
    path = origPath;
  }
  if (a.stripQuery) query = '';
  return `${scheme}://${host}${port !== undefined ? `:${port}` : ''}${path}${query}`;
}

/** Parse a grpc-timeout header ("10S", "250m", ...) to ms; undefined when malformed. */
export function grpcTimeoutMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'H': return n * 3_600_000;
    case 'M': return n * 60_000;
    case 'S': return n * 1000;
    case 'm': return n;
    case 'u': return Math.ceil(n / 1000);
    default: return Math.ceil(n / 1_000_000);
  }
}
