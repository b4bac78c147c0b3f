// local: the per-service local ports of `rig up` — in local mode an app reaches HTTP services through HTTP_PROXY,
// and every other service port (TCP, gRPC/HTTP2, TLS, ...) through a 127.0.0.1 listener of its own sidecar
// (node metadata RIG_TCP_PORTS). The app learns them the way a Kubernetes pod learns services: environment
// variables <SERVICE>_SERVICE_HOST / _SERVICE_PORT / _SERVICE_PORT_<PORTNAME>.
import type { Protocol, Service } from '../model/types.ts';
import { exportedTo } from '../model/visibility.ts';

/** One service port a workload's sidecar serves on 127.0.0.1:localPort. */
export interface ServicePortBinding {
  host: string; // the service's hostname, e.g. echo.default.svc.cluster.local
  port: number; // the service port
  portName: string;
  protocol: Protocol;
  /** Prefix of the environment variables, e.g. ECHO (ECHO_SERVICE_HOST, ECHO_SERVICE_PORT_GRPC). */
  envName: string;
  localPort: number;
}

/** host:port, the key of RIG_TCP_PORTS and of one binding. */
export const bindingKey = (b: { host: string; port: number }) => `${b.host}:${b.port}`;

/** HTTP goes through HTTP_PROXY; UDP is not proxied. Everything else needs a port of its own. */
function needsLocalPort(protocol: Protocol): boolean {
  return protocol !== 'HTTP' && protocol !== 'UDP';
}

/** A name as an environment variable part: upper case, anything but [A-Z0-9_] as '_'. */
export const envSafe = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

/**
 * The variable prefix for a service seen from namespace `ns`: Kubernetes' rule (name upper-cased, '-' -> '_') for
 * a service of the workload's own namespace; NAME_NAMESPACE for another namespace's; the whole host for any other
 * name (api.example.com -> API_EXAMPLE_COM), so two services never share a prefix.
 */
export function serviceEnvName(host: string, ns: string, domainSuffix = 'cluster.local'): string {
  const m = new RegExp(`^([^.]+)\\.([^.]+)\\.svc\\.${domainSuffix.replace(/\./g, '\\.')}$`).exec(host);
  if (m) return envSafe(m[2] === ns ? m[1]! : `${m[1]}_${m[2]}`);
  return envSafe(host);
}

/**
 * The service ports a workload of namespace `ns` gets a local port for: every non-HTTP port of every service
 * visible there (exportTo), wildcard hosts excepted (nothing to dial). Ordered by host, then as declared.
 */
export function wantedServicePorts(services: readonly Service[], ns: string, domainSuffix?: string): Omit<ServicePortBinding, 'localPort'>[] {
  const out: Omit<ServicePortBinding, 'localPort'>[] = [];
  const sorted = [...services].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const seen = new Set<string>();
  for (const s of sorted) {
    if (s.hostname.includes('*') || !exportedTo(s.exportTo, s.namespace, ns)) continue;
    for (const p of s.ports) {
      const key = bindingKey({ host: s.hostname, port: p.port });
      if (!needsLocalPort(p.protocol) || seen.has(key)) continue;
      seen.add(key);
      out.push({ host: s.hostname, port: p.port, portName: p.name, protocol: p.protocol, envName: serviceEnvName(s.hostname, ns, domainSuffix) });
    }
  }
  return out;
}

/** RIG_TCP_PORTS node metadata: {"<host>:<port>": localPort}. */
export function tcpPortsMetadata(bindings: readonly ServicePortBinding[]): string {
  return JSON.stringify(Object.fromEntries(bindings.map((b) => [bindingKey(b), b.localPort])));
}

/** The variable naming one binding's local port: <S>_SERVICE_PORT_<PORTNAME>, or <S>_SERVICE_PORT when unnamed. */
export function portEnvVar(b: Pick<ServicePortBinding, 'envName' | 'portName'>): string {
  return `${b.envName}_SERVICE_PORT${b.portName ? `_${envSafe(b.portName)}` : ''}`;
}

/**
 * The environment telling the app where each binding is: <S>_SERVICE_HOST=127.0.0.1, <S>_SERVICE_PORT (the
 * service's first such port, as Kubernetes' first port) and <S>_SERVICE_PORT_<PORTNAME> for each named port.
 */
export function serviceEnv(bindings: readonly ServicePortBinding[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const b of bindings) {
    env[`${b.envName}_SERVICE_HOST`] = '127.0.0.1';
    env[`${b.envName}_SERVICE_PORT`] ??= String(b.localPort);
    if (b.portName) env[portEnvVar(b)] = String(b.localPort);
  }
  return env;
}
