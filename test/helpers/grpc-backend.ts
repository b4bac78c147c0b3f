// test/helpers: small gRPC test backends on 127.0.0.1 — a generic unary service (JSON over gRPC, no .proto)
// that answers with its version label, counts attempts, and can fail its first N calls.
import * as grpc from '@grpc/grpc-js';

export interface HelloRequest { name?: string }
export interface HelloReply { version: string; port: number; attempt: number }

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown,
};

/** The generic service: /rig.test.Echo/Hello, JSON messages. */
export const echoService: grpc.ServiceDefinition = {
  Hello: {
    path: '/rig.test.Echo/Hello', requestStream: false, responseStream: false,
    requestSerialize: json.serialize, requestDeserialize: json.deserialize,
    responseSerialize: json.serialize, responseDeserialize: json.deserialize,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'rig.test.Echo');

export interface Backend {
  readonly port: number;
  readonly version: string;
  /** Calls received (every attempt, including failed ones). */
  calls: number;
  /** Fail the next N calls with `failCode` (default UNAVAILABLE). */
  failNext(n: number, code?: grpc.status): void;
  /** Metadata of the last call (to check headers). */
  lastMetadata?: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startGrpcBackend(version: string, host = '127.0.0.1'): Promise<Backend> {
  const server = new grpc.Server();
  let failing = 0;
  let failCode = grpc.status.UNAVAILABLE;
  const b: Backend = {
    port: 0, version, calls: 0,
    failNext(n, code = grpc.status.UNAVAILABLE) { failing = n; failCode = code; },
    close: () => new Promise<void>((resolve) => {
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, 500);
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    }),
  };
  server.addService(echoService, {
    Hello: (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) => {
      b.calls++;
      b.lastMetadata = call.metadata.getMap();
      if (failing > 0) {
        failing--;
        cb({ code: failCode, details: `backend ${version} failing on purpose` });
        return;
      }
      cb(null, { version, port: b.port, attempt: b.calls });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  (b as { port: number }).port = port;
  return b;
}

/** One unary call; resolves with the reply or the gRPC error (never rejects). */
export function hello(client: grpc.Client, metadata?: Record<string, string>, deadlineMs = 5000): Promise<{ reply?: HelloReply; error?: grpc.ServiceError }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata ?? {})) md.set(k, v);
  return new Promise((resolve) => {
    (client as unknown as { Hello: (req: HelloRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: HelloReply) => void) => void })
      .Hello({ name: 'rig' }, md, { deadline: Date.now() + deadlineMs }, (error, reply) => resolve(error ? { error } : { reply }));
  });
}
