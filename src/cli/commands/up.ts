// cli: `rig up DIR` — run a whole mesh on this machine until Ctrl-C.
import type { Command } from 'commander';
import { RigError } from '../../common/errors.ts';
import { up, type RunningMesh } from '../../local/up.ts';
import { portEnvVar } from '../../local/service-ports.ts';
import { table } from '../format.ts';

function summary(m: RunningMesh): string {
  const lines: string[] = [];
  lines.push('');
  if (m.ingressUrl) lines.push(`  ingress      ${m.ingressUrl}/productpage`.replace('/productpage', m.mesh.name === 'bookinfo' ? '/productpage' : '/'));
  lines.push(`  control plane xds 127.0.0.1:${m.controlPlane.xdsPort}   debug http://127.0.0.1:${m.controlPlane.debugPort}/debug/syncz`);
  lines.push(`  mesh API     ${m.apiUrl}   (rig apply / delete / get find it by themselves)`);
  lines.push('');
  lines.push(table(
    ['workload', 'namespace', 'address', 'app', 'sidecar admin'],
    m.workloads.map((r) => [
      r.workload.name, r.workload.namespace,
      Object.values(r.workload.ports).map((p) => `${r.address}:${p}`).join(','),
      `127.0.0.1:${r.appPort}`, r.adminPort ? `http://127.0.0.1:${r.adminPort}` : '(no sidecar)',
    ]),
  ).replace(/^/gm, '  ').trimEnd());
  const local = m.workloads.flatMap((r) => r.servicePorts.map((b) => [
    r.workload.name, `${b.host}:${b.port}`, b.protocol, `127.0.0.1:${b.localPort}`,
    portEnvVar(b),
  ]));
  if (local.length) {
    lines.push('');
    lines.push('  TCP/gRPC service ports, through each workload\'s own sidecar (HTTP goes through HTTP_PROXY):');
    lines.push(table(['workload', 'service port', 'protocol', 'local', 'env (and <SERVICE>_SERVICE_HOST)'], local).replace(/^/gm, '  ').trimEnd());
  }
  lines.push(`  certificates spiffe://${m.trustDomain}/ns/<namespace>/sa/<service account>`);
  lines.push('');
  const scenario = m.mesh.name === 'bookinfo' ? 'rig apply -f examples/bookinfo/scenarios/3-reviews-80-20.yaml' : 'rig apply -f FILE';
  lines.push(`  ready. Try: rig get vs   |   ${scenario}   |   Ctrl-C stops everything`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program.command('up')
    .description('run a mesh on this machine: control plane, workloads with sidecars, ingress gateway (Ctrl-C stops all)')
    .argument('[dir]', 'directory with rig.yaml and the Istio config', 'examples/bookinfo')
    .option('--ingress-port <n>', 'port of the ingress gateway on 127.0.0.1 (0 = any free port)', '8080')
    .option('--control-plane-port <n>', 'xDS port of the control plane (0 = any free port)', '15010')
    .option('--debug-port <n>', 'control plane debug API port (0 = any free port)', '15014')
    .option('--api-port <n>', 'mesh API port for rig apply/delete/get (0 = any free port)', '0')
    .addHelpText('after', `
The directory holds rig.yaml (the workloads: command, labels, ports, service account) and config/ (Istio YAML,
watched: edits apply live). See examples/bookinfo.

Examples:
  rig up examples/bookinfo
  rig up examples/bookinfo --ingress-port 0 --control-plane-port 0`)
    .action(async (dir: string, opts: { ingressPort: string; controlPlanePort: string; debugPort: string; apiPort: string }) => {
      const num = (flag: string, v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) { process.stderr.write(`error: ${flag} must be a port number 0-65535, got "${v}"\n`); process.exit(2); }
        return n;
      };
      const options = {
        dir, ingressPort: num('--ingress-port', opts.ingressPort), controlPlanePort: num('--control-plane-port', opts.controlPlanePort),
        debugPort: num('--debug-port', opts.debugPort), apiPort: num('--api-port', opts.apiPort),
      };
      let mesh: RunningMesh;
      try {
        mesh = await up(options);
      } catch (e) {
        if (e instanceof RigError) { process.stderr.write(`rig up: ${e.message}\n`); process.exit(1); }
        throw e;
      }
      process.stdout.write(summary(mesh) + '\n');
      let stopping = false;
      const shutdown = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\n${sig}: stopping every process ...\n`);
        await mesh.stop();
        process.stdout.write('stopped.\n');
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
