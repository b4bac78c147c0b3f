// proxy/xds-client: public surface of the proxy's xDS client (what src/proxy/main.ts wires to the engine and admin).
export { XdsClient, type XdsClientOptions, type XdsClientEvents, type NodeInfo, type NackEvent, type TypeStatus } from './client.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
