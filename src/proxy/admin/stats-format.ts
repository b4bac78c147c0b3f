// proxy/admin: renders stats as Envoy's /stats text, JSON, and the Prometheus text exposition format.
import type { Stat } from './types.ts';

function labelString(labels: Record<string, string> | undefined, extra?: [string, string]): string {
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${sanitizeName(k)}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Prometheus names allow [a-zA-Z_:][a-zA-Z0-9_:]*; Envoy turns dots and other characters into '_'. */
export function sanitizeName(n: string): string {
  const s = n.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[a-zA-Z_:]/.test(s) ? s : `_${s}`;
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** Envoy-style "name: value" lines, sorted; labels are folded into the name as Envoy's tag-extracted names are. */
export function statsText(stats: Iterable<Stat>, filter?: RegExp): string {
  const lines: string[] = [];
  for (const s of stats) {
    const name = s.name + (s.labels && Object.keys(s.labels).length ? `.${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join('.')}` : '');
    if (filter && !filter.test(name)) continue;
    if (s.type === 'histogram') lines.push(`${name}: P0(nan) count=${s.count} sum=${s.sum}`);
    else lines.push(`${name}: ${s.value}`);
  }
  return lines.sort().join('\n') + (lines.length ? '\n' : '');
}

export function statsJson(stats: Iterable<Stat>, filter?: RegExp): Record<string, unknown> {
  const out: Record<string, unknown>[] = [];
  for (const s of stats) {
    if (filter && !filter.test(s.name)) continue;
    if (s.type === 'histogram') out.push({ name: s.name, labels: s.labels, histogram: { buckets: s.buckets, sum: s.sum, count: s.count } });
    else out.push({ name: s.name, labels: s.labels, value: s.value });
  }
  return { stats: out };
}

/** Prometheus text format 0.0.4: one # TYPE per metric family, histograms with _bucket/_sum/_count. */
export function statsPrometheus(stats: Iterable<Stat>, filter?: RegExp): string {
  const families = new Map<string, { type: string; help?: string; lines: string[] }>();
  for (const s of stats) {
    if (filter && !filter.test(s.name)) continue;
    const name = sanitizeName(s.name);
    let f = families.get(name);
    if (!f) {
      f = { type: s.type, help: s.help, lines: [] };
      families.set(name, f);
    }
    if (s.type === 'histogram') {
      for (const [le, c] of s.buckets) f.lines.push(`${name}_bucket${labelString(s.labels, ['le', fmt(le)])} ${c}`);
      if (!s.buckets.some(([le]) => le === Infinity)) f.lines.push(`${name}_bucket${labelString(s.labels, ['le', '+Inf'])} ${s.count}`);
      f.lines.push(`${name}_sum${labelString(s.labels)} ${fmt(s.sum)}`);
      f.lines.push(`${name}_count${labelString(s.labels)} ${s.count}`);
    } else {
      f.lines.push(`${name}${labelString(s.labels)} ${fmt(s.value)}`);
    }
  }
  const out: string[] = [];
  for (const [name, f] of [...families].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (f.help) out.push(`# HELP ${name} ${f.help.replace(/\n/g, ' ')}`);
    out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.lines);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
