// xds/translate: what translation emits for one proxy. Resources are plain objects in Envoy's
// canonical (snake_case, config-dump) form; every Any carries "@type" (see envoy/protos.ts).

/** An Envoy resource; its name is `name`, except ClusterLoadAssignment's `cluster_name` (see resourceName). */
export type EnvoyResource = Record<string, unknown>;

export interface GeneratedConfig {
  listeners: EnvoyResource[];
  routes: EnvoyResource[]; // RouteConfiguration
  clusters: EnvoyResource[];
  endpoints: EnvoyResource[]; // ClusterLoadAssignment, named by cluster_name
  secrets: EnvoyResource[];
}

/** A generator is a pure function: everything it reads is an argument. */
export type Generator = (snapshot: import('../../model/types.ts').PushSnapshot, proxy: import('../../model/types.ts').Proxy) => GeneratedConfig;
