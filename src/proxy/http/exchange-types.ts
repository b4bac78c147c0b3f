// proxy/http: protocol-neutral shapes an exchange uses to talk to either side (HTTP/1.1 or HTTP/2).
import type { RawFields } from './codec/head.ts';

/** Why an upstream attempt failed; maps to Envoy response flags. */
export type UpstreamFailure =
  | 'connect-failure' // UF: could not connect (refused, timeout)
  | 'reset-before-response' // UC/UR: connection closed or reset before a full response head
  | 'reset-after-response' // the response was cut short after its head was sent downstream
  | 'protocol-error' // UPE: malformed upstream response
  | 'timeout'; // UT

/** What an upstream attempt reports back. Called on the event loop, never re-entrantly from send(). */
export interface ResponseSink {
  /** `raw`: the received HTTP/1.1 head `headers` came from (lets an HTTP/1.1 downstream copy unchanged lines). */
  onHead(status: number, reason: string, headers: string[], bodyLength: number /* -1 unknown, 0 none */, end: boolean, raw?: RawFields): void;
  onData(buf: Buffer, start: number, end: number): void;
  onEnd(trailers: string[] | undefined): void;
  onError(kind: UpstreamFailure, detail: string): void;
  /** Upstream switched protocols (101); from now on raw bytes flow through `tunnel`. */
  onUpgrade?(status: number, headers: string[], tunnel: import('node:net').Socket, head: Buffer | undefined): void;
}

/** An in-flight request to one upstream (HTTP/1.1 connection or HTTP/2 stream). */
export interface UpstreamRequest {
  /** Send more request body. Returns false when the caller should pause until onDrain. */
  write(buf: Buffer, start: number, end: number): boolean;
  end(trailers?: string[]): void;
  abort(): void;
  onDrain(cb: () => void): void;
  pauseResponse(): void;
  resumeResponse(): void;
}

/** Request as the upstream side needs it. Headers flat and lower-cased, hop-by-hop already removed. */
export interface OutgoingRequest {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: string[];
  /** -1: unknown length (streamed, chunked on HTTP/1.1); 0: no body; n: exact length. */
  bodyLength: number;
  /** Upgrade protocol (websocket) to ask for, or ''. */
  upgrade: string;
}

/** The request as parsed from either protocol: the same fields as OutgoingRequest, plus a header lookup. */
export interface IncomingRequest extends OutgoingRequest {
  get(name: string): string | undefined;
}

/** What an exchange needs from the downstream side. */
export interface DownstreamResponder {
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** `raw`: the upstream's received HTTP/1.1 head that `headers` were forwarded from, if any (see RawFields). */
  sendHead(status: number, headers: string[], bodyLength: number, raw?: RawFields): void;
  sendData(buf: Buffer, start: number, end: number): boolean;
  sendEnd(trailers: string[] | undefined): void;
  onDrain(cb: () => void): void;
  pauseRequest(): void;
  resumeRequest(): void;
  /** Reset the stream (HTTP/2) or close the connection (HTTP/1.1). */
  abort(): void;
  /** Switch to a raw tunnel after a 101 from upstream. */
  tunnel?(status: number, headers: string[], upstream: import('node:net').Socket, head: Buffer | undefined): void;
  /** Called once when the exchange is over (response fully sent or aborted). */
  done(ex: import('./exchange.ts').Exchange): void;
}
