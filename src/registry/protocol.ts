// registry: choose a port's protocol as Istio does — explicit protocol, Kubernetes appProtocol, or the port-name prefix.
import type { Protocol } from '../model/types.ts';

const BY_NAME: Record<string, Protocol> = {
  http: 'HTTP', http2: 'HTTP2', grpc: 'GRPC', 'grpc-web': 'GRPC-WEB', https: 'HTTPS', tls: 'TLS', tcp: 'TCP',
  mongo: 'MONGO', redis: 'REDIS', mysql: 'MYSQL', udp: 'UDP',
  // Kubernetes' standard appProtocol values
  h2c: 'HTTP2', 'kubernetes.io/h2c': 'HTTP2', 'kubernetes.io/ws': 'HTTP', 'kubernetes.io/wss': 'HTTPS',
};

/** A protocol name ("HTTP", "grpc", "kubernetes.io/h2c"), case-insensitive; UNKNOWN when not one Istio knows. */
export function parseProtocol(name: string | undefined | null): Protocol {
  if (!name) return 'UNKNOWN';
  return BY_NAME[name.toLowerCase()] ?? 'UNKNOWN';
}

/**
 * Protocol from a port name, Istio's convention: the whole name or the part before the first "-"
 * ("http-web" -> HTTP, "grpc-web" and "grpc-web-x" -> GRPC-WEB, "tcp" -> TCP, "web" -> UNKNOWN).
 */
export function protocolFromPortName(portName: string | undefined | null): Protocol {
  if (!portName) return 'UNKNOWN';
  const n = portName.toLowerCase();
  if (n === 'grpc-web' || n.startsWith('grpc-web-')) return 'GRPC-WEB';
  const dash = n.indexOf('-');
  return parseProtocol(dash >= 0 ? n.slice(0, dash) : n);
}

/** First known of: explicit protocol, appProtocol, port-name prefix. */
export function resolveProtocol(opts: { protocol?: string | null; appProtocol?: string | null; name?: string | null }): Protocol {
  const explicit = parseProtocol(opts.protocol);
  if (explicit !== 'UNKNOWN') return explicit;
  const app = parseProtocol(opts.appProtocol);
  if (app !== 'UNKNOWN') return app;
  return protocolFromPortName(opts.name);
}
