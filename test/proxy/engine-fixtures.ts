// test/proxy: fixtures for engine tests — snapshots built directly from the narrowed config types, a minimal
// prefix router (the real one is src/proxy/router), and a tiny backend.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertificateAuthority } from '../../src/ca/index.ts';
import type {
  DownstreamTlsConfig, ClusterConfig, ClusterLoadAssignment, RetryPolicyConfig, FaultConfig, CorsPolicyConfig, ListenerConfig, ProxyConfigSnapshot, RouteConfig, HttpHandlerConfig, FilterChainConfig, TcpHandlerConfig,
} from '../../src/proxy/config/types.ts';
import type { HttpRouter, RouteDecision, RouteRequest } from '../../src/proxy/http/route-types.ts';

export function httpHandler(routeConfig: RouteConfig, extra: Partial<HttpHandlerConfig> = {}): HttpHandlerConfig {
  return {
    kind: 'http', statPrefix: 'test', routeConfig, httpFilters: [{ name: 'envoy.filters.http.router', type: 'router', disabled: false }],
    accessLog: [], codecType: 'AUTO', streamIdleTimeoutMs: 300_000, requestTimeoutMs: 0, drainTimeoutMs: 5000,
    useRemoteAddress: false, xffNumTrustedHops: 0, generateRequestId: true, upgradeTypes: ['websocket'], normalizePath: false,
    mergeSlashes: false, forwardClientCertDetails: 'SANITIZE_SET', ...extra,
  };
}

export function chain(handler: HttpHandlerConfig | TcpHandlerConfig, name = 'default'): FilterChainConfig {
  return {
    name, handler, networkFilters: [],
    match: { serverNames: [], applicationProtocols: [], prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] },
  };
}

export function listener(name: string, handler: HttpHandlerConfig | TcpHandlerConfig, port = 0): ListenerConfig {
  return {
    name, address: '127.0.0.1', port, bindToPort: true, useOriginalDst: false, listenerFilters: [],
    trafficDirection: 'OUTBOUND', filterChains: [chain(handler)],
  };
}

/** `l` with its only chain terminating TLS with `tls` after the tls_inspector, as Istio's inbound listeners do. */
export function terminatingTls(l: ListenerConfig, tls: DownstreamTlsConfig): ListenerConfig {
  l.listenerFilters = ['envoy.filters.listener.tls_inspector'];
  l.filterChains[0]!.match.transportProtocol = 'tls';
  l.filterChains[0]!.tls = tls;
  return l;
}

/**
 * A fresh CA's server certificate as a listener's TLS (HTTP/1.1 ALPN, no client certificate), and the options a
 * client needs to trust it: workload certificates carry only a SPIFFE URI SAN, so the host name check is skipped.
 */
export async function serverTlsIdentity(): Promise<{ down: DownstreamTlsConfig; client: { ca: string; checkServerIdentity: () => undefined } }> {
  const ca = await CertificateAuthority.generate();
  const { certChain, privateKeyPem } = await ca.issue({ namespace: 'ns', serviceAccount: 'server' });
  return {
    down: { certificates: [{ certChain: { inline: certChain.join('') }, privateKey: { inline: privateKeyPem } }], certificateSdsNames: [], matchSubjectAltNames: [], alpnProtocols: ['http/1.1'], requireClientCertificate: false },
    client: { ca: ca.rootCertPem(), checkServerIdentity: () => undefined },
  };
}

export function retryPolicy(p: Partial<RetryPolicyConfig>): RetryPolicyConfig {
  return {
    retryOn: ['5xx'], numRetries: 2, perTryTimeoutMs: 0, perTryIdleTimeoutMs: 0, retriableStatusCodes: [], retriableHeaders: [],
    retriableRequestHeaders: [], backoff: { baseIntervalMs: 1, maxIntervalMs: 2 }, retryHostPredicates: [], hostSelectionRetryMaxAttempts: 1, ...p,
  };
}

export function routes(name: string, rs: Array<{ prefix: string; cluster?: string; direct?: { status: number; body?: string }; redirect?: string; timeoutMs?: number; domains?: string[]; retry?: RetryPolicyConfig; fault?: FaultConfig; cors?: CorsPolicyConfig; mirror?: string }>): RouteConfig {
  const none = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
  return {
    name, ignorePortInHostMatching: false, ...none,
    virtualHosts: [{
      name: 'vh', domains: rs[0]?.domains ?? ['*'], requireTls: 'NONE', perFilter: { disabledFilters: [] },
      includeAttemptCountInRequest: false, includeAttemptCountInResponse: false, ...none,
      routes: rs.map((r, i) => ({
        name: `r${i}`, ...none, perFilter: { disabledFilters: [], fault: r.fault, cors: r.cors },
        match: { path: { kind: 'prefix' as const, value: r.prefix }, caseSensitive: true, headers: [], queryParams: [], grpc: false },
        action: r.direct ? { kind: 'direct' as const, status: r.direct.status, body: r.direct.body }
          : r.redirect ? { kind: 'redirect' as const, host: r.redirect, responseCode: 301 as const, stripQuery: false, httpsRedirect: false }
          : {
              kind: 'route' as const, cluster: { kind: 'cluster' as const, name: r.cluster ?? 'c' }, timeoutMs: r.timeoutMs ?? 15000,
              hashPolicy: [], mirrors: r.mirror ? [{ cluster: r.mirror, fraction: { numerator: 100, denominator: 100 as const } }] : [],
              upgradeConfigs: [], retryPolicy: r.retry,
            },
      })),
    }],
  };
}

/** Minimal router for engine tests: first vhost with a matching domain, first route whose prefix matches. */
export function testRouter(rc: RouteConfig): HttpRouter {
  const none = { add: [], remove: [] };
  return {
    route(req: RouteRequest): RouteDecision {
      const host = req.authority.toLowerCase();
      const vh = rc.virtualHosts.find((v) => v.domains.some((d) => d === '*' || d === host || d === host.split(':')[0]));
      if (!vh) return { kind: 'none' };
      for (const r of vh.routes) {
        if (r.match.path.kind !== 'prefix' || !req.path.startsWith(r.match.path.value)) continue;
        const a = r.action;
        if (a.kind === 'direct') return { kind: 'direct', status: a.status, body: a.body, response: none, routeName: r.name };
        if (a.kind === 'redirect') return { kind: 'redirect', status: a.responseCode, location: `http://${a.host}${req.path}`, response: none, routeName: r.name };
        if (a.cluster.kind !== 'cluster') return { kind: 'none' };
        return {
          kind: 'forward', cluster: a.cluster.name, path: req.path, authority: req.authority, timeoutMs: a.timeoutMs,
          hashPolicy: a.hashPolicy, mirrors: a.mirrors, upgradeConfigs: a.upgradeConfigs, routeName: r.name,
          retryPolicy: a.retryPolicy, perFilter: r.perFilter, route: r, virtualHost: vh,
          request: { add: [{ key: 'x-added', value: 'yes', action: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }], remove: [] },
          response: { add: [{ key: 'x-resp-added', value: 'yes', action: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }], remove: [] },
        };
      }
      return { kind: 'none' };
    },
  };
}

export function cluster(name: string, endpoints: Array<{ address: string; port: number }>, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  const loadAssignment: ClusterLoadAssignment = {
    clusterName: name, overprovisioningFactor: 140, dropOverloads: [],
    localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0, weight: 1, endpoints: endpoints.map((e) => ({ ...e, health: 'HEALTHY' as const, weight: 1, metadata: {} })) }],
  };
  return {
    name, type: 'STATIC', loadAssignment, lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000, idleTimeoutMs: 3_600_000,
    circuitBreakers: [], http2: false, useDownstreamProtocol: false, transportSocketMatches: [],
    commonLbConfig: { healthyPanicThresholdPercent: 50, localityWeighted: false, zoneAware: false },
    dnsRefreshRateMs: 5000, dnsLookupFamily: 'V4_ONLY', metadata: {}, ...extra,
  };
}

let gen = 0;
export function snapshot(listeners: ListenerConfig[], clusters: ClusterConfig[]): ProxyConfigSnapshot {
  return {
    generation: ++gen,
    listeners: new Map(listeners.map((l) => [l.name, l])),
    routes: new Map(),
    clusters: new Map(clusters.map((c) => [c.name, c])),
    endpoints: new Map(),
    secrets: new Map(),
    versions: {},
  };
}

export interface Backend { server: Server; port: number; connections: number; close(): Promise<void> }

export async function backend(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Backend> {
  const server = createServer({ keepAliveTimeout: 30_000 }, handler);
  const b: Backend = { server, port: 0, connections: 0, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
  server.on('connection', () => { b.connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  return b;
}

/**
 * A raw HTTP/1.1 upstream: for each request head (bodyless requests) it writes `reply(method, path)` as is, so a test
 * controls the response head byte for byte (case, spacing, obs-text) as node:http would not.
 */
export async function rawUpstream(reply: (method: string, path: string) => string): Promise<{ port: number; close(): Promise<void> }> {
  const net = await import('node:net');
  const up = net.createServer((s) => {
    let buf = '';
    s.on('data', (b: Buffer) => {
      buf += b.toString('latin1');
      for (let e = buf.indexOf('\r\n\r\n'), guard = 0; e >= 0 && guard < 100; e = buf.indexOf('\r\n\r\n'), guard++) {
        const [method, path] = buf.slice(0, buf.indexOf(' ', buf.indexOf(' ') + 1)).split(' ') as [string, string];
        buf = buf.slice(e + 4);
        s.write(Buffer.from(reply(method, path), 'latin1'));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  return { port: (up.address() as AddressInfo).port, close: () => new Promise((r) => up.close(() => r())) };
}

/** Send raw bytes on one connection and collect the reply until `done(text)` says it is complete. */
export async function rawExchange(port: number, payload: string | Buffer, done: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout; got ${JSON.stringify(text)}`)); }, timeoutMs);
    s.on('data', (b) => { text += b.toString('latin1'); if (done(text)) { clearTimeout(t); s.destroy(); resolve(text); } });
    s.on('close', () => { clearTimeout(t); resolve(text); });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.write(payload);
  });
}
