// proxy/admin: public surface of the admin API server and its provider types.
export { AdminServer, type AdminServerOptions, clustersText, clustersJson, healthFlags } from './server.ts';
export type { AdminProviders, ClusterStatus, EndpointStatus, OutlierState, Stat, XdsStatusProvider } from './types.ts';
