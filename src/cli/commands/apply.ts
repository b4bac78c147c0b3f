// cli: `rig apply -f` and `rig delete -f` — change the configuration of a running `rig up` mesh, live.
import type { Command } from 'commander';
import { loadPath } from '../../config/load.ts';
import type { ValidationIssue } from '../../config/types.ts';
import { formatIssue } from '../../config/issues.ts';
import { call, serverUrl } from '../mesh-client.ts';

async function load(files: string[]) {
  const objects = [];
  const issues: ValidationIssue[] = [];
  for (const f of files) {
    const r = await loadPath(f);
    objects.push(...r.objects);
    issues.push(...r.issues);
  }
  return { objects, issues };
}

export function register(program: Command): void {
  program.command('apply')
    .description('apply Istio configuration to the running mesh (validated first; nothing is applied if any document is invalid)')
    .requiredOption('-f, --filename <path...>', 'YAML/JSON file or directory (repeatable)')
    .option('--server <url>', 'API of the running mesh (default: the one `rig up` started)')
    .addHelpText('after', '\nExamples:\n  rig apply -f examples/bookinfo/scenarios/3-reviews-80-20.yaml\n  rig apply -f my-config/')
    .action(async (opts: { filename: string[]; server?: string }) => {
      const { objects, issues } = await load(opts.filename);
      for (const i of issues.filter((x) => x.severity !== 'notice')) process.stderr.write(formatIssue(i) + '\n');
      if (issues.some((i) => i.severity === 'error')) {
        process.stderr.write('nothing applied: fix the errors above and run the command again\n');
        process.exitCode = 1;
        return;
      }
      if (!objects.length) { process.stderr.write('nothing to apply: no Istio documents found\n'); process.exitCode = 1; return; }
      const server = serverUrl(opts.server);
      const r = await call(server, 'POST', '/v1/config', { objects });
      if (r.status !== 200) {
        for (const i of (r.json.issues ?? []) as ValidationIssue[]) process.stderr.write(formatIssue(i) + '\n');
        if (r.json.error) process.stderr.write(`error: ${r.json.error}\n`);
        process.exitCode = 1;
        return;
      }
      for (const a of r.json.applied as { kind: string; namespace: string; name: string }[]) process.stdout.write(`${a.kind.toLowerCase()}/${a.name} (${a.namespace}) applied\n`);
    });

  program.command('delete')
    .description('delete from the running mesh the objects named in the files')
    .requiredOption('-f, --filename <path...>', 'YAML/JSON file or directory (repeatable)')
    .option('--server <url>', 'API of the running mesh (default: the one `rig up` started)')
    .addHelpText('after', '\nExample:\n  rig delete -f examples/bookinfo/scenarios/5-jason-v2.yaml')
    .action(async (opts: { filename: string[]; server?: string }) => {
      const { objects, issues } = await load(opts.filename);
      for (const i of issues.filter((x) => x.severity === 'error')) process.stderr.write(formatIssue(i) + '\n');
      const keys = objects.map((o) => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }));
      if (!keys.length) { process.stderr.write('nothing to delete: no documents found\n'); process.exitCode = 1; return; }
      const r = await call(serverUrl(opts.server), 'DELETE', '/v1/config', { keys });
      if (r.status !== 200) { process.stderr.write(`error: ${r.json.error}\n`); process.exitCode = 1; return; }
      for (const d of r.json.deleted as typeof keys) process.stdout.write(`${d.kind.toLowerCase()}/${d.name} (${d.namespace}) deleted\n`);
      for (const d of r.json.notFound as typeof keys) process.stderr.write(`${d.kind.toLowerCase()}/${d.name} (${d.namespace}) not found\n`);
      if ((r.json.notFound as unknown[]).length) process.exitCode = 1;
    });
}
