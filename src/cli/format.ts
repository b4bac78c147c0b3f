// cli: output helpers every command can use — aligned text tables, JSON and YAML, chosen with -o.
import { stringify } from 'yaml';
import { InvalidArgumentError } from 'commander';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutputFormat(v: string): OutputFormat {
  if (v === 'table' || v === 'json' || v === 'yaml' || v === 'short') return v === 'short' ? 'table' : v;
  throw new InvalidArgumentError(`"${v}" is not an output format (table, json, yaml)`);
}

/** An aligned table with upper-case headers, two spaces between columns (kubectl / istioctl style). */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => headers.map((_, i) => String(r[i] ?? '')))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd()).join('\n') + '\n';
}

export function toJson(v: unknown): string { return JSON.stringify(v, null, 2) + '\n'; }
export function toYaml(v: unknown): string { return stringify(v, { lineWidth: 0 }); }

/** Renders data as a table (with the given columns) or as JSON/YAML of the raw data. */
export function render(format: OutputFormat, data: unknown, asTable: () => string): string {
  if (format === 'json') return toJson(data);
  if (format === 'yaml') return toYaml(data);
  return asTable();
}
