// cli: `rig validate -f FILE|DIR` — check Istio/Kubernetes YAML the way the control plane will read it, without a mesh.
import { formatIssue } from '../../config/issues.ts';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { loadPath, parseConfigText } from '../../config/load.ts';
import type { ConfigObject, ValidationIssue } from '../../config/types.ts';
import { toJson, toYaml } from '../format.ts';

type Format = 'text' | 'json' | 'yaml';

export interface ValidateReport {
  summary: { files: string[]; valid: number; errors: number; warnings: number; notices: number };
  valid: { kind: string; name: string; file?: string; document?: number }[];
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  notices: ValidationIssue[];
}

/** Load every path ("-" is standard input) and sort the outcome into a report. Never throws. */
export async function validatePaths(paths: string[], readStdin: () => Promise<string> = readAll): Promise<ValidateReport> {
  const objects: ConfigObject[] = [];
  const issues: ValidationIssue[] = [];
  for (const p of paths) {
    const r = p === '-' ? parseConfigText(await readStdin(), '<stdin>') : await loadPath(p);
    objects.push(...r.objects);
    issues.push(...r.issues);
  }
  const by = (s: ValidationIssue['severity']) => issues.filter((i) => i.severity === s);
  const errors = by('error');
  const warnings = by('warning');
  const notices = by('notice');
  return {
    summary: { files: paths, valid: objects.length, errors: errors.length, warnings: warnings.length, notices: notices.length },
    valid: objects.map((o) => ({ kind: o.kind, name: `${o.metadata.namespace}/${o.metadata.name}`, file: o.source?.file, document: o.source?.document })),
    errors,
    warnings,
    notices,
  };
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function renderText(r: ValidateReport): string {
  const out: string[] = [];
  const section = (title: string, list: ValidationIssue[]) => {
    if (list.length === 0) return;
    out.push(`${title} (${list.length}):`);
    for (const i of list) out.push(`  ${formatIssue(i)}`);
    out.push('');
  };
  section('Errors', r.errors);
  section('Warnings', r.warnings);
  section('Skipped / notices', r.notices);
  const s = r.summary;
  const verdict = s.errors > 0 ? 'INVALID' : 'OK';
  out.push(`${verdict}: ${s.valid} object(s) valid, ${s.errors} error(s), ${s.warnings} warning(s), ${s.notices} notice(s)`);
  return out.join('\n') + '\n';
}

function parseFormat(v: string): Format {
  if (v === 'text' || v === 'json' || v === 'yaml') return v;
  throw new InvalidArgumentError(`"${v}" is not an output format (text, json, yaml)`);
}

export function register(program: Command): void {
  program
    .command('validate')
    // Usage errors reach main's handler (exit 2) instead of commander exiting with 1, which means "invalid config".
    .exitOverride()
    .description('Validate Istio configuration (and the Kubernetes Services, Endpoints and mesh ConfigMap Rigging reads) the way Istio does')
    .requiredOption('-f, --filename <path>', 'a YAML/JSON file, a directory (read recursively) or "-" for stdin; repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text').argParser(parseFormat))
    .addHelpText('after', `
Exit status: 0 when every document is valid (warnings allowed), 1 when any document has an error.

Examples:
  rig validate -f samples/bookinfo/networking/
  rig validate -f virtual-service.yaml -f destination-rule.yaml -o json`)
    .action(async (opts: { filename: string[]; output: Format }) => {
      const report = await validatePaths(opts.filename);
      const text = opts.output === 'json' ? toJson(report) : opts.output === 'yaml' ? toYaml(report) : renderText(report);
      process.stdout.write(text);
      if (report.summary.errors > 0) process.exitCode = 1;
    });
}
