// config/validation: value-level checks shared by kinds — IPs and CIDRs, host names, header names, regexes, protocols.
import { isIP } from 'node:net';

export function isIPAddress(s: string): boolean {
  return isIP(s) !== 0;
}

/** "a.b.c.d/n" or "v6/n" (with n in range), or a bare address when `allowBare`. */
export function cidrProblem(s: string, allowBare = true): string | undefined {
  const parts = s.split('/');
  if (parts.length === 1) return allowBare && isIPAddress(s) ? undefined : `${s} is not a valid IP address`;
  if (parts.length !== 2) return `${s} is not a valid CIDR block`;
  const [addr, bits] = parts as [string, string];
  const fam = isIP(addr);
  if (fam === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > (fam === 4 ? 32 : 128)) return `${s} is not a valid CIDR block`;
  return undefined;
}

// Host names, following Istio's rules: DNS-1123 labels (upper case tolerated as Istio does), a wildcard only
// as the whole first label or its prefix ("*", "*.example.com", "*-foo.example.com").
const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

export function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

function preconditions(name: string): string | undefined {
  if (name.length > 255) return `domain name "${name}" too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

function labelsProblem(domain: string, whole: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1]!;
  if (/^[0-9]+$/.test(tld)) return `domain name "${whole}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i]!;
    if (i === parts.length - 1 && label === '') return undefined; // "istio.io." is an unambiguous absolute name
    if (!isDNS1123Label(label)) return `domain name "${whole}" invalid (label "${label}" invalid)`;
  }
  return undefined;
}

/** A fully qualified (or short) DNS name without wildcards. */
export function fqdnProblem(name: string): string | undefined {
  return preconditions(name) ?? labelsProblem(name, name);
}

/** A DNS name that may start with a wildcard label. */
export function wildcardDomainProblem(name: string): string | undefined {
  const pre = preconditions(name);
  if (pre) return pre;
  const dot = name.indexOf('.');
  const first = dot < 0 ? name : name.slice(0, dot);
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) return `domain name "${name}" invalid (label "${first}" invalid)`;
  if (dot >= 0) return labelsProblem(name.slice(dot + 1), name);
  return undefined;
}

export function partialWildcardProblem(host: string): string | undefined {
  if (host.includes('*') && host.length !== 1 && !host.startsWith('*.')) return `partial wildcard "${host}" not allowed`;
  return undefined;
}

/** Header names as HTTP defines tokens (RFC 7230 tchar). */
const TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
export function isHeaderName(s: string): boolean {
  return TOKEN.test(s);
}
export const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
/** Control characters (other than tab) cannot appear in a header value. */
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;

/** Envoy's header value formatting: "%" starts a %COMMAND% and "%%" is a literal percent. */
export function headerValueProblem(v: string): string | undefined {
  if (!HEADER_VALUE.test(v)) return `header value ${JSON.stringify(v)} contains control characters`;
  let i = 0;
  while (i < v.length) {
    if (v[i] !== '%') { i++; continue; }
    if (v[i + 1] === '%') { i += 2; continue; }
    const end = v.indexOf('%', i + 1);
    if (end < 0) return `header value ${JSON.stringify(v)}: unterminated "%" (write "%%" for a literal percent)`;
    const cmd = v.slice(i + 1, end);
    if (!/^[A-Z_0-9]+(\(.*\))?(:\d+)?$/.test(cmd)) return `header value ${JSON.stringify(v)}: invalid variable %${cmd}%`;
    i = end + 1;
  }
  return undefined;
}

/**
 * Envoy matches with RE2. JavaScript's engine differs, so refuse what RE2 does not support (look-around and
 * back-references) and translate RE2-only syntax before compiling to check the rest.
 */
export function regexProblem(re: string): string | undefined {
  if (re.length > 1024) return 'regex is too large, max length allowed is 1024';
  if (/\(\?<?[=!]/.test(re)) return 'look-around is not supported by RE2 (Istio uses RE2 syntax)';
  if (/\\[1-9]/.test(re)) return 'back-references are not supported by RE2 (Istio uses RE2 syntax)';
  let js = re.replace(/\(\?P</g, '(?<');
  const flags = /^\(\?([imsU]+)\)/.exec(js);
  if (flags) js = js.slice(flags[0].length);
  try {
    new RegExp(js, 'u');
    return undefined;
  } catch (e) {
    try {
      new RegExp(js); // RE2 accepts some escapes that unicode-mode JS rejects
      return undefined;
    } catch {
      return `invalid regex ${JSON.stringify(re)}: ${e instanceof Error ? e.message : String(e)}; Istio uses RE2 syntax`;
    }
  }
}

/** Protocols Istio understands on ports (case-insensitive). */
const PROTOCOLS = ['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql'];
export function parseProtocol(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const l = s.toLowerCase();
  return PROTOCOLS.includes(l) ? l : 'unsupported';
}
export function protocolProblem(s: string | undefined): string | undefined {
  if (s && parseProtocol(s) === 'unsupported') return `unsupported protocol: ${s} (supported: HTTP, HTTPS, HTTP2, GRPC, GRPC-Web, TCP, TLS, UDP, Mongo, Redis, MySQL, HTTP_PROXY)`;
  return undefined;
}
export function isHTTPProtocol(p: string | undefined): boolean {
  return p === 'http' || p === 'http2' || p === 'grpc' || p === 'grpc-web' || p === 'http_proxy';
}
export function isTLSProtocol(p: string | undefined): boolean {
  return p === 'https' || p === 'tls';
}

export function portNameProblem(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

/** unix:// addresses: an absolute path that is not a directory, or an abstract socket (@name). */
export function unixAddressProblem(addr: string): string | undefined {
  if (addr.length === 0) return 'unix address must not be empty';
  if (addr.startsWith('@')) return undefined;
  if (!addr.startsWith('/')) return 'UDS must be an absolute path or abstract socket';
  if (addr.endsWith('/')) return 'UDS may not be a dir';
  return undefined;
}

export const GRPC_STATUS = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
]);
