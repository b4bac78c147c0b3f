// xds/server (serving): public surface of the xDS server stage.
export { XdsServer, type XdsServerOptions, type ProxyGenerator, type WatchedNames, type PushEvent, type ConfigDump } from './server.ts';
export { createDebugServer, resolveProxy, type DebugServer, type DebugOptions } from './debug.ts';
export type { ConnectionStatus, TypeStatus, SyncState } from './connection.ts';
export { RawAdsClient, makeNode, namesOf } from './ads-client.ts';
