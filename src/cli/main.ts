// cli: the `rig` command. Each subcommand lives in src/cli/commands/<name>.ts and exports register(program).
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { RigError } from '../common/errors.ts';

async function buildProgram(): Promise<Command> {
  const program = new Command('rig')
    .description('Rigging: an Istio-compatible service mesh. Control plane, proxy and a local mesh in one command.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Examples:
  rig up examples/bookinfo          run the Bookinfo mesh on this machine
  rig validate -f config/           check Istio YAML before applying it
  rig control-plane --config DIR    serve xDS for a directory of Istio config
  rig proxy-status                  which proxies are connected and in sync`);
  // set before subcommands are added so they inherit it: usage errors in any subcommand exit 2
  program.exitOverride();
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}

/** Exit codes scripts can trust: 0 ok, 1 the command ran and found errors, 2 usage / cannot run. */
export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
      process.exit(2);
    }
    if (e instanceof RigError) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(2);
  }
}
