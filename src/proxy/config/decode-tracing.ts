// proxy/config: decodes the HCM's `tracing` block (sampling, max_path_tag_length, custom_tags, the zipkin provider)
// into TracingConfig. Anything this proxy does not implement is a NACK naming the field, never silently ignored.
import { type Ctx, type Obj, anyType, arr, isObj, num, obj, str, wrappedBool, wrappedNum } from './decode-common.ts';
import type { CustomTagConfig, TracingConfig } from './types.ts';

const ZIPKIN = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';

function percent(v: unknown): number | undefined {
  const p = num(obj(v)?.value);
  return p === undefined ? undefined : Math.min(100, Math.max(0, p));
}

function customTag(v: unknown, ctx: Ctx, f: string): CustomTagConfig | undefined {
  if (!isObj(v)) { ctx.err(f, 'must be a custom tag'); return undefined; }
  const tag = str(v.tag) ?? '';
  if (!tag) { ctx.err(`${f}.tag`, 'must not be empty'); return undefined; }
  if (isObj(v.literal)) {
    const value = str(v.literal.value) ?? '';
    if (!value) ctx.err(`${f}.literal.value`, 'must not be empty');
    return { tag, kind: 'literal', value };
  }
  for (const [key, kind] of [['environment', 'environment'], ['request_header', 'header']] as const) {
    const b = obj(v[key]);
    if (!b) continue;
    const name = str(b.name) ?? '';
    if (!name) { ctx.err(`${f}.${key}.name`, 'must not be empty'); return undefined; }
    const d = str(b.default_value);
    return { tag, kind, name: kind === 'header' ? name.toLowerCase() : name, ...(d ? { defaultValue: d } : {}) };
  }
  if (v.metadata !== undefined) ctx.err(`${f}.metadata`, 'metadata custom tags are not supported by this proxy');
  else ctx.err(f, 'needs literal, environment or request_header');
  return undefined;
}

function zipkin(v: Obj, ctx: Ctx, f: string): TracingConfig['zipkin'] {
  const name = str(v.name) ?? '';
  const t = anyType(v.typed_config);
  if (t !== ZIPKIN) {
    ctx.err(`${f}`, `tracer ${name || '(unnamed)'} (${t || 'no typed_config'}) is not supported; only envoy.tracers.zipkin`);
    return undefined;
  }
  const z = obj(v.typed_config)!;
  const tf = `${f}.typed_config`;
  const cluster = str(z.collector_cluster) ?? '';
  const endpoint = str(z.collector_endpoint) ?? '';
  if (!cluster) ctx.err(`${tf}.collector_cluster`, 'must not be empty');
  if (!endpoint.startsWith('/')) ctx.err(`${tf}.collector_endpoint`, 'must be a path');
  const version = z.collector_endpoint_version ?? 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE';
  if (version !== 'HTTP_JSON') ctx.err(`${tf}.collector_endpoint_version`, `${String(version)} is not supported; only HTTP_JSON`);
  // this proxy always makes 128-bit trace ids and a new span per hop
  if (z.trace_id_128bit !== true) ctx.err(`${tf}.trace_id_128bit`, '64-bit trace ids are not supported; set trace_id_128bit');
  if (wrappedBool(z.shared_span_context) ?? true) ctx.err(`${tf}.shared_span_context`, 'shared span context is not supported; set it to false');
  if (z.split_spans_for_request === true) ctx.err(`${tf}.split_spans_for_request`, 'not supported');
  return { collectorCluster: cluster, collectorEndpoint: endpoint, collectorHostname: str(z.collector_hostname) || cluster };
}

/** The HCM tracing block; Envoy's defaults: random_sampling 100 %, max_path_tag_length 256. */
export function decodeTracing(v: Obj, ctx: Ctx, field: string): TracingConfig {
  const out: TracingConfig = { randomSamplingPercent: percent(v.random_sampling) ?? 100 };
  for (const k of ['client_sampling', 'overall_sampling'] as const) {
    const p = percent(v[k]);
    if (p !== undefined && p !== 100) ctx.err(`${field}.${k}`, `only 100 % is supported (got ${p})`);
  }
  if (v.verbose === true) ctx.err(`${field}.verbose`, 'verbose span annotations are not supported');
  if (v.spawn_upstream_span !== undefined && wrappedBool(v.spawn_upstream_span) === true) ctx.err(`${field}.spawn_upstream_span`, 'not supported');
  const mtl = wrappedNum(v.max_path_tag_length);
  if (mtl !== undefined) out.maxPathTagLength = mtl;
  const tags = arr(v.custom_tags).map((t, i) => customTag(t, ctx, `${field}.custom_tags[${i}]`)).filter((t): t is CustomTagConfig => !!t);
  if (tags.length) out.customTags = tags;
  if (isObj(v.provider)) out.zipkin = zipkin(v.provider, ctx, `${field}.provider`);
  return out;
}
