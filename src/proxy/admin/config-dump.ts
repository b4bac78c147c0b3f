// proxy/admin: builds /config_dump in Envoy's ConfigDump shape from the xDS client's applied state, plus the last NACK per type.
import type { TypeStatus } from '../xds-client/client.ts';
import type { ListenerError, XdsStatusProvider } from './types.ts';

const T = 'type.googleapis.com/';
const URL = {
  listener: `${T}envoy.config.listener.v3.Listener`,
  route: `${T}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${T}envoy.config.cluster.v3.Cluster`,
  endpoint: `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${T}envoy.extensions.transport_sockets.tls.v3.Secret`,
};

export interface DumpOptions {
  includeEds: boolean;
  /** Envoy's ?resource: a repeated field name (dynamic_active_clusters...) or a dump type suffix (ClustersConfigDump). */
  type?: string;
  /** Convert a clock time (ms, the client's clock) to a wall-clock ISO string. */
  toWall: (clockMs: number) => string;
  /** Listeners accepted over LDS whose socket could not be bound, by name. */
  listenerErrors?: ReadonlyMap<string, ListenerError>;
}

export function configDump(xds: XdsStatusProvider | undefined, bootstrap: Record<string, unknown> | undefined, o: DumpOptions): Record<string, unknown> {
  const configs: Record<string, unknown>[] = [];
  if (bootstrap) configs.push({ '@type': `${T}envoy.admin.v3.BootstrapConfigDump`, bootstrap });
  if (xds) {
    const st = new Map(xds.status().map((s) => [s.typeUrl, s]));
    const snap = xds.snapshot();
    const get = (u: string): TypeStatus => st.get(u) ?? { typeUrl: u, version: '', nonce: '', received: false, subscribed: [], resources: [] };
    const nackFor = (s: TypeStatus, name: string): Record<string, unknown> | undefined => {
      const n = s.lastNack;
      if (!n) return undefined;
      const mine = n.errors.filter((e) => e.resource.endsWith(` ${name}`) || e.resource === name);
      if (!mine.length) return undefined;
      return { details: mine.map((e) => `${e.field}: ${e.message}`).join('; '), version_info: n.version, last_update_attempt: o.toWall(n.at) };
    };

    const c = get(URL.cluster);
    configs.push({
      '@type': `${T}envoy.admin.v3.ClustersConfigDump`,
      version_info: c.version,
      dynamic_active_clusters: c.resources.filter((r) => snap?.clusters.has(r.name)).map((r) => ({ version_info: r.version, cluster: r.raw, last_updated: o.toWall(r.appliedAt), error_state: nackFor(c, r.name) })),
      dynamic_warming_clusters: c.resources.filter((r) => !snap?.clusters.has(r.name)).map((r) => ({ version_info: r.version, cluster: r.raw, last_updated: o.toWall(r.appliedAt) })),
    });
    if (o.includeEds) {
      const e = get(URL.endpoint);
      configs.push({
        '@type': `${T}envoy.admin.v3.EndpointsConfigDump`,
        dynamic_endpoint_configs: e.resources.map((r) => ({ version_info: r.version, endpoint_config: r.raw, last_updated: o.toWall(r.appliedAt) })),
      });
    }
    const l = get(URL.listener);
    configs.push({
      '@type': `${T}envoy.admin.v3.ListenersConfigDump`,
      version_info: l.version,
      dynamic_listeners: l.resources.map((r) => {
        const state = { version_info: r.version, listener: r.raw, last_updated: o.toWall(r.appliedAt) };
        const bindErr = o.listenerErrors?.get(r.name);
        if (bindErr) {
          // Envoy rejects a listener whose socket it cannot create: no active state, an UpdateFailureState carrying
          // the listener it failed to add. The attempt time is the bind's when known, else when that version applied.
          const failed = { failed_configuration: { '@type': URL.listener, ...r.raw }, last_update_attempt: o.toWall(bindErr.at ?? r.appliedAt), details: bindErr.error, version_info: r.version };
          return { name: r.name, error_state: failed };
        }
        const active = snap?.listeners.has(r.name);
        return { name: r.name, ...(active ? { active_state: state } : { warming_state: state }), error_state: nackFor(l, r.name) };
      }),
    });
    const rt = get(URL.route);
    configs.push({
      '@type': `${T}envoy.admin.v3.RoutesConfigDump`,
      dynamic_route_configs: rt.resources.map((r) => ({ version_info: r.version, route_config: r.raw, last_updated: o.toWall(r.appliedAt) })),
    });
    const sec = get(URL.secret);
    configs.push({
      '@type': `${T}envoy.admin.v3.SecretsConfigDump`,
      // Key material is never dumped: names and versions only.
      dynamic_active_secrets: sec.resources.map((r) => ({ name: r.name, version_info: r.version, last_updated: o.toWall(r.appliedAt), secret: { name: r.name, '[redacted]': true } })),
    });
    // Rigging's own section: subscription state and last NACK of every type (why a config did not apply).
    configs.push({
      '@type': 'rigging.admin.XdsStatus',
      connected: xds.isConnected?.() ?? undefined,
      ready: xds.isReady(),
      types: [...st.values()].map((s) => ({
        type_url: s.typeUrl,
        version_info: s.version,
        nonce: s.nonce,
        subscribed: s.subscribed,
        resources: s.resources.length,
        last_nack: s.lastNack ? { version_info: s.lastNack.version, nonce: s.lastNack.nonce, at: o.toWall(s.lastNack.at), errors: s.lastNack.errors } : undefined,
      })),
    });
  }
  if (!o.type) return { configs };
  // Envoy's ?resource=<repeated field> (e.g. dynamic_active_clusters) lists that field's entries; we also accept a
  // dump type suffix (e.g. ClustersConfigDump) to keep one whole dump.
  const field = configs.flatMap((c) => (Array.isArray(c[o.type!]) ? (c[o.type!] as unknown[]) : []));
  if (configs.some((c) => Array.isArray(c[o.type!]))) return { configs: field };
  return { configs: configs.filter((c) => String(c['@type']).endsWith(o.type!)) };
}
