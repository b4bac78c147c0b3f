// common: one error family with stable codes; every error carries context naming what failed.
// A retired code is never reused: add new codes at the end of the table.

export const ErrorCodes = {
  // config (RIG1xx)
  CONFIG_PARSE: 'RIG101', // a file is not valid YAML/JSON
  CONFIG_UNKNOWN_KIND: 'RIG102', // apiVersion/kind not known to Rigging
  CONFIG_INVALID: 'RIG103', // a document failed validation
  CONFIG_READ: 'RIG104', // a file or directory could not be read
  CONFIG_CONFLICT: 'RIG105', // two files define the same object (the first keeps it)
  CONFIG_WRITE: 'RIG106', // a store could not write (rig apply / delete), or is closed
  // registry / model (RIG2xx)
  REGISTRY_CONFLICT: 'RIG201',
  // xds (RIG3xx)
  XDS_UNKNOWN_TYPE: 'RIG301', // a client subscribed to a type URL we do not serve
  XDS_NACK: 'RIG302', // a client rejected a response
  XDS_BAD_NODE: 'RIG303', // node id not in Istio's form
  XDS_ENCODE: 'RIG304', // a generated resource could not be encoded
  XDS_AUTHZ_UNSUPPORTED: 'RIG305', // a security policy feature translated differently than written (CUSTOM, targetRef, unknown condition)
  XDS_JWKS_FETCH: 'RIG306', // a RequestAuthentication jwksUri could not be fetched (every token fails until it is)
  XDS_TRACING_PROVIDER: 'RIG307', // a tracing provider named by a Telemetry / MeshConfig cannot be used (unknown, not zipkin, no such service): no spans
  XDS_ACCESSLOG: 'RIG308', // a Telemetry accessLogging provider or filter.expression cannot be applied as written (unknown / unsupported provider, CEL outside the translated subset)
  // proxy (RIG4xx)
  PROXY_CONFIG_REJECTED: 'RIG401',
  PROXY_UPSTREAM: 'RIG402',
  PROXY_BOOTSTRAP: 'RIG403',
  // cli / local mesh (RIG5xx)
  CLI_USAGE: 'RIG501',
  CLI_UNREACHABLE: 'RIG502',
  UP_WORKLOAD: 'RIG503',
  UP_PORT_IN_USE: 'RIG504',
  // ca (RIG6xx)
  CA_SIGN: 'RIG601',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class RigError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RigError';
    this.code = code;
    this.context = context;
  }
  /** Wrap with more context: `endpoint 10.0.0.7:80: <message>`. */
  wrap(prefix: string, extra: Record<string, unknown> = {}): RigError {
    return new RigError(this.code, `${prefix}: ${this.message}`, { ...this.context, ...extra }, { cause: this });
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.context };
  }
}

export function isRigError(e: unknown): e is RigError {
  return e instanceof RigError;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
