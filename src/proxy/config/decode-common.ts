// proxy/config: shared helpers for decoding canonical Envoy objects (protobufjs toObject, snake_case) into narrowed types.
//
// The canonical form omits default values (defaults: false): an absent field is Envoy's zero value, a
// wrapper like UInt32Value that is present but `{}` means 0/false, enums are their string names.
import { translateRe2, type TranslatedRegex } from './regex.ts';
import type { DataSource, DecodeError, Fraction, HeaderMatcher, HeaderValueOption, HeaderMutations, QueryParamMatcher, StringMatch, CommonTlsConfig, UpstreamTlsConfig, DownstreamTlsConfig } from './types.ts';

export type Obj = Record<string, unknown>;

/** Collects decode errors with the resource name and a field path. */
export class Ctx {
  readonly errors: DecodeError[] = [];
  constructor(readonly resource: string) {}
  err(field: string, message: string): void {
    this.errors.push({ resource: this.resource, field, message });
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function obj(v: unknown): Obj | undefined {
  return isObj(v) ? v : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

/** google.protobuf.{UInt32,Int64,Double}Value: undefined when absent, 0 when `{}`. */
export function wrappedNum(v: unknown): number | undefined {
  if (!isObj(v)) return undefined;
  return num(v.value) ?? 0;
}
/** A proto enum given by name or by number (JSON may carry either): its name, or undefined when unknown. */
export function enumName<T extends string>(v: unknown, names: readonly T[]): T | undefined {
  return typeof v === 'number' ? (Number.isInteger(v) ? names[v] : undefined) : names.find((n) => n === v);
}
/** google.protobuf.BoolValue: undefined when absent, false when `{}`. */
export function wrappedBool(v: unknown): boolean | undefined {
  if (!isObj(v)) return undefined;
  return v.value === true;
}

/** google.protobuf.Duration ({seconds, nanos} or "1.5s" JSON) to milliseconds; undefined when absent. */
export function durationMs(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v);
    return m ? Math.round(Number(m[1]) * 1000) : undefined;
  }
  if (!isObj(v)) return undefined;
  const s = num(v.seconds) ?? 0;
  const n = num(v.nanos) ?? 0;
  return s * 1000 + Math.round(n / 1e6);
}

const DENOMS: Record<string, Fraction['denominator']> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** type.v3.FractionalPercent. */
export function fraction(v: unknown, ctx: Ctx, field: string): Fraction | undefined {
  if (!isObj(v)) return undefined;
  const d = v.denominator === undefined ? 100 : DENOMS[String(v.denominator)];
  if (d === undefined) {
    ctx.err(`${field}.denominator`, `unknown denominator ${String(v.denominator)}`);
    return undefined;
  }
  const n = num(v.numerator) ?? 0;
  return { numerator: Math.min(n, d), denominator: d };
}

/** core.v3.RuntimeFractionalPercent: only the default value matters (we have no runtime layer). */
export function runtimeFraction(v: unknown, ctx: Ctx, field: string): Fraction | undefined {
  if (!isObj(v)) return undefined;
  return fraction(v.default_value, ctx, `${field}.default_value`) ?? { numerator: 0, denominator: 100 };
}

/** Translate an RE2 regex to JS source (see regex.ts); undefined with an error recorded when it cannot be used. */
export function regexSource(re: string, ctx: Ctx, field: string, allowIgnoreCase = false): TranslatedRegex | undefined {
  const t = translateRe2(re);
  if (t.error || !t.value) {
    ctx.err(field, `invalid regex ${JSON.stringify(re)}: ${t.error}`);
    return undefined;
  }
  if (t.value.ignoreCase && !allowIgnoreCase) {
    ctx.err(field, `(?i) is not supported here: ${JSON.stringify(re)}`);
    return undefined;
  }
  return t.value;
}

/** type.matcher.v3.StringMatcher. */
export function stringMatch(v: unknown, ctx: Ctx, field: string): StringMatch | undefined {
  if (!isObj(v)) {
    ctx.err(field, 'missing string matcher');
    return undefined;
  }
  const ignoreCase = v.ignore_case === true;
  for (const k of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (typeof v[k] === 'string') return { kind: k, value: v[k] as string, ignoreCase };
  }
  if (isObj(v.safe_regex)) {
    const re = regexSource(str(v.safe_regex.regex) ?? '', ctx, `${field}.safe_regex.regex`, true);
    if (!re) return undefined;
    return { kind: 'regex', value: re.source, ignoreCase: ignoreCase || re.ignoreCase };
  }
  if (v.custom !== undefined) {
    ctx.err(`${field}.custom`, 'custom string matchers are not supported');
    return undefined;
  }
  // An empty exact matcher is valid proto (exact: "" omitted by defaults:false).
  return { kind: 'exact', value: '', ignoreCase };
}

/** route.v3.HeaderMatcher, folding the deprecated *_match forms into a StringMatch. */
export function headerMatcher(v: unknown, ctx: Ctx, field: string): HeaderMatcher | undefined {
  if (!isObj(v)) return undefined;
  const name = (str(v.name) ?? '').toLowerCase();
  if (!name) ctx.err(`${field}.name`, 'header matcher needs a name');
  const invert = v.invert_match === true;
  const treatMissingAsEmpty = v.treat_missing_header_as_empty === true;
  const base = { name, invert, treatMissingAsEmpty };
  const s = (kind: StringMatch['kind'], value: string): HeaderMatcher => ({ ...base, match: { kind: 'string', string: { kind, value, ignoreCase: false } } });
  if (typeof v.exact_match === 'string') return s('exact', v.exact_match);
  if (typeof v.prefix_match === 'string') return s('prefix', v.prefix_match);
  if (typeof v.suffix_match === 'string') return s('suffix', v.suffix_match);
  if (typeof v.contains_match === 'string') return s('contains', v.contains_match);
  if (isObj(v.safe_regex_match)) {
    const re = regexSource(str(v.safe_regex_match.regex) ?? '', ctx, `${field}.safe_regex_match.regex`, true);
    if (!re) return undefined;
    return { ...base, match: { kind: 'string', string: { kind: 'regex', value: re.source, ignoreCase: re.ignoreCase } } };
  }
  if (isObj(v.string_match)) {
    const m = stringMatch(v.string_match, ctx, `${field}.string_match`);
    return m ? { ...base, match: { kind: 'string', string: m } } : undefined;
  }
  if (isObj(v.range_match)) {
    return { ...base, match: { kind: 'range', start: num(v.range_match.start) ?? 0, end: num(v.range_match.end) ?? 0 } };
  }
  if (v.present_match !== undefined) return { ...base, match: { kind: 'present', present: v.present_match === true } };
  // No specifier: Envoy treats it as "header is present".
  return { ...base, match: { kind: 'present', present: true } };
}

export function headerMatchers(v: unknown, ctx: Ctx, field: string): HeaderMatcher[] {
  const out: HeaderMatcher[] = [];
  arr(v).forEach((h, i) => {
    const m = headerMatcher(h, ctx, `${field}[${i}]`);
    if (m) out.push(m);
  });
  return out;
}

export function queryParamMatchers(v: unknown, ctx: Ctx, field: string): QueryParamMatcher[] {
  const out: QueryParamMatcher[] = [];
  arr(v).forEach((q, i) => {
    if (!isObj(q)) return;
    const f = `${field}[${i}]`;
    const name = str(q.name) ?? '';
    if (!name) ctx.err(`${f}.name`, 'query parameter matcher needs a name');
    if (isObj(q.string_match)) {
      const m = stringMatch(q.string_match, ctx, `${f}.string_match`);
      if (m) out.push({ name, match: { kind: 'string', string: m } });
    } else if (q.present_match === true) {
      out.push({ name, match: { kind: 'present' } });
    } else {
      ctx.err(f, 'query parameter matcher needs string_match or present_match');
    }
  });
  return out;
}

const APPEND_ACTIONS = new Set(['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS']);

/**
 * A configured string the proxy writes into HTTP/1.1 heads as is (header keys and values, server_name, CORS values):
 * a CR or LF would end the line and inject another, a NUL is invalid in a field. Envoy's config validation refuses
 * them too. Records the problem at `field`; returns whether the value is clean.
 */
export function headSafe(value: string | undefined, ctx: Ctx, field: string, what = 'value'): boolean {
  if (value === undefined || !/[\r\n\0]/.test(value)) return true;
  ctx.err(field, `${what} must not contain CR, LF or NUL`);
  return false;
}

export function headerValueOptions(v: unknown, ctx: Ctx, field: string): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  arr(v).forEach((h, i) => {
    if (!isObj(h)) return;
    const f = `${field}[${i}]`;
    const hv = obj(h.header) ?? {};
    const key = (str(hv.key) ?? '').toLowerCase();
    if (!key) ctx.err(`${f}.header.key`, 'header key must not be empty');
    let value = str(hv.value) ?? '';
    if (!value && typeof hv.raw_value === 'string') value = Buffer.from(hv.raw_value, 'base64').toString('latin1');
    headSafe(value, ctx, `${f}.header.value`, 'header value');
    headSafe(key, ctx, `${f}.header.key`, 'header key');
    let action = (str(h.append_action) ?? 'APPEND_IF_EXISTS_OR_ADD') as HeaderValueOption['action'];
    if (!APPEND_ACTIONS.has(action)) {
      ctx.err(`${f}.append_action`, `unknown append action ${action}`);
      action = 'APPEND_IF_EXISTS_OR_ADD';
    }
    // Deprecated `append` wins when set explicitly (Envoy rejects both; we prefer the explicit one).
    const append = wrappedBool(h.append);
    if (append !== undefined) action = append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
    out.push({ key, value, action, keepEmptyValue: h.keep_empty_value === true });
  });
  return out;
}

export function lowerStrings(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string').map((s) => s.toLowerCase());
}

export function headerMutations(v: Obj, ctx: Ctx, field: string): HeaderMutations {
  const p = field ? `${field}.` : '';
  return {
    requestHeadersToAdd: headerValueOptions(v.request_headers_to_add, ctx, `${p}request_headers_to_add`),
    requestHeadersToRemove: lowerStrings(v.request_headers_to_remove),
    responseHeadersToAdd: headerValueOptions(v.response_headers_to_add, ctx, `${p}response_headers_to_add`),
    responseHeadersToRemove: lowerStrings(v.response_headers_to_remove),
  };
}

/** core.v3.DataSource; bytes arrive base64 (bytes: String). */
export function dataSource(v: unknown): DataSource | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.filename === 'string') return { filename: v.filename };
  if (typeof v.inline_string === 'string') return { inline: v.inline_string };
  if (typeof v.inline_bytes === 'string') return { inline: Buffer.from(v.inline_bytes, 'base64').toString('utf8') };
  return { inline: '' };
}

/** google.protobuf.Value to plain JSON. protobufjs's bundled struct.proto uses camelCase (stringValue), so accept both. */
export function protoValue(v: unknown): unknown {
  if (!isObj(v)) return null;
  const pick = (snake: string, camel: string): [boolean, unknown] => (snake in v ? [true, v[snake]] : camel in v ? [true, v[camel]] : [false, undefined]);
  for (const [s, c] of [['string_value', 'stringValue'], ['number_value', 'numberValue'], ['bool_value', 'boolValue']] as const) {
    const [has, val] = pick(s, c);
    if (has) return val;
  }
  const [hasS, sv] = pick('struct_value', 'structValue');
  if (hasS) return protoStruct(sv);
  const [hasL, lv] = pick('list_value', 'listValue');
  if (hasL) return arr(obj(lv)?.values).map(protoValue);
  return null;
}
/** google.protobuf.Struct to plain JSON. */
export function protoStruct(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = obj(obj(v)?.fields) ?? {};
  for (const [k, val] of Object.entries(fields)) out[k] = protoValue(val);
  return out;
}
/** core.v3.Metadata filter_metadata as plain JSON. */
export function filterMetadata(v: unknown): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const fm = obj(obj(v)?.filter_metadata) ?? {};
  for (const [k, s] of Object.entries(fm)) out[k] = protoStruct(s);
  return out;
}

/** Any payload type URL. */
export function anyType(v: unknown): string {
  return str(obj(v)?.['@type']) ?? str(obj(v)?.type_url) ?? '';
}

/** An Any whose type protobufjs could not resolve stays {type_url, value}: the type is unknown to us. */
export function anyUnresolved(v: unknown): boolean {
  const o = obj(v);
  return !!o && o['@type'] === undefined && typeof o.type_url === 'string';
}

// ---------------------------------------------------------------------------------------------
// TLS contexts

function commonTls(v: unknown, ctx: Ctx, field: string): CommonTlsConfig {
  const c = obj(v) ?? {};
  const certificates = arr(c.tls_certificates).filter(isObj).map((t) => ({ certChain: dataSource(t.certificate_chain) ?? {}, privateKey: dataSource(t.private_key) ?? {} }));
  const certificateSdsNames = arr(c.tls_certificate_sds_secret_configs).filter(isObj).map((s) => str(s.name) ?? '');
  let validation = obj(c.validation_context);
  let validationSdsName = str(obj(c.validation_context_sds_secret_config)?.name);
  const combined = obj(c.combined_validation_context);
  if (combined) {
    validation = obj(combined.default_validation_context);
    validationSdsName = str(obj(combined.validation_context_sds_secret_config)?.name);
  }
  const matchSubjectAltNames: StringMatch[] = [];
  arr(validation?.match_typed_subject_alt_names).forEach((m, i) => {
    const sm = stringMatch(obj(m)?.matcher, ctx, `${field}.validation_context.match_typed_subject_alt_names[${i}].matcher`);
    if (sm) matchSubjectAltNames.push(sm);
  });
  arr(validation?.match_subject_alt_names).forEach((m, i) => {
    const sm = stringMatch(m, ctx, `${field}.validation_context.match_subject_alt_names[${i}]`);
    if (sm) matchSubjectAltNames.push(sm);
  });
  const params = obj(c.tls_params) ?? {};
  const ver = (x: unknown): string | undefined => (typeof x === 'string' && x !== 'TLS_AUTO' ? x : undefined);
  return {
    certificates,
    certificateSdsNames,
    trustedCa: dataSource(validation?.trusted_ca),
    validationSdsName,
    matchSubjectAltNames,
    alpnProtocols: arr(c.alpn_protocols).filter((x): x is string => typeof x === 'string'),
    minVersion: ver(params.tls_minimum_protocol_version),
    maxVersion: ver(params.tls_maximum_protocol_version),
  };
}

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const RAW_SOCKET = 'envoy.transport_sockets.raw_buffer';

/** core.v3.TransportSocket for upstreams: TLS context or undefined (plaintext). */
export function upstreamTransportSocket(v: unknown, ctx: Ctx, field: string): UpstreamTlsConfig | undefined {
  const ts = obj(v);
  if (!ts) return undefined;
  const tc = obj(ts.typed_config);
  const type = anyType(tc);
  if (type.endsWith('.RawBuffer') || (!tc && ts.name === RAW_SOCKET)) return undefined;
  if (!type.endsWith('.UpstreamTlsContext')) {
    ctx.err(`${field}.typed_config`, `unsupported transport socket ${str(ts.name) ?? ''} (${type || 'no typed_config'})`);
    return undefined;
  }
  return { ...commonTls(tc!.common_tls_context, ctx, `${field}.typed_config.common_tls_context`), sni: str(tc!.sni) };
}

export function downstreamTransportSocket(v: unknown, ctx: Ctx, field: string): DownstreamTlsConfig | undefined {
  const ts = obj(v);
  if (!ts) return undefined;
  const tc = obj(ts.typed_config);
  const type = anyType(tc);
  if (type.endsWith('.RawBuffer') || (!tc && ts.name === RAW_SOCKET)) return undefined;
  if (!type.endsWith('.DownstreamTlsContext')) {
    ctx.err(`${field}.typed_config`, `unsupported transport socket ${str(ts.name) ?? TLS_SOCKET} (${type || 'no typed_config'})`);
    return undefined;
  }
  return {
    ...commonTls(tc!.common_tls_context, ctx, `${field}.typed_config.common_tls_context`),
    requireClientCertificate: wrappedBool(tc!.require_client_certificate) ?? false,
  };
}
