// xds/translate: the workload's own ports as the proxy should receive them — from RIG_INBOUND_PORTS in local
// mode, else the Sidecar's ingress listeners, else the services whose endpoints are this proxy. Both the
// inbound listeners and the inbound|port|| clusters are built from this one list so they always agree.
import type { Proxy, Protocol } from '../../../model/types.ts';
import type { TranslateContext } from './context.ts';
import { localMode } from '../listeners/local-mode.ts';
import { isPortNumber } from './plan.ts';

export interface InboundPort {
  endpointPort: number; // the port peers dial on this workload
  appPort: number; // where the application listens on 127.0.0.1
  protocol: Protocol;
  /** the service port and host it serves, for names/stat prefixes (first one when several) */
  servicePort?: number;
  hostname?: string;
}

const httpish = (p: Protocol): boolean => p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB';

function protocolOf(s: string | undefined): Protocol {
  const u = (s ?? '').toUpperCase();
  const known: Protocol[] = ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTPS', 'TLS', 'TCP', 'MONGO', 'REDIS', 'MYSQL', 'UDP'];
  return (known as string[]).includes(u) ? (u as Protocol) : 'TCP';
}

function portOfEndpoint(defaultEndpoint: string | undefined, fallback: number): number {
  const m = /:(\d+)$/.exec(defaultEndpoint ?? '');
  return m ? Number(m[1]) : fallback;
}

export function inboundPorts(ctx: TranslateContext, proxy: Proxy): InboundPort[] {
  const services = ctx.inboundServicesFor(proxy);
  const byTarget = new Map<number, InboundPort>();
  for (const s of services) {
    if (!isPortNumber(s.targetPort)) continue;
    const prev = byTarget.get(s.targetPort);
    // when several services share a workload port, an HTTP one decides the protocol (HCM can carry it)
    if (!prev || (!httpish(prev.protocol) && httpish(s.port.protocol))) {
      byTarget.set(s.targetPort, { endpointPort: s.targetPort, appPort: s.targetPort, protocol: s.port.protocol, servicePort: s.port.port, hostname: s.service.hostname });
    }
  }
  const lm = localMode(proxy);
  if (lm?.inboundPorts) {
    return [...lm.inboundPorts].sort((a, b) => a[0] - b[0]).map(([endpointPort, appPort]) => {
      const known = byTarget.get(endpointPort);
      return { ...(known ?? { protocol: 'TCP' as Protocol }), endpointPort, appPort };
    });
  }
  const sc = ctx.sidecarFor(proxy);
  if (sc?.spec?.ingress?.length) {
    return sc.spec.ingress.filter((i) => isPortNumber(i?.port?.number)).map((i) => ({
      endpointPort: i.port.number, appPort: portOfEndpoint(i.defaultEndpoint, i.port.number), protocol: protocolOf(i.port.protocol),
    }));
  }
  return [...byTarget.values()].sort((a, b) => a.endpointPort - b.endpointPort);
}

export { httpish };
