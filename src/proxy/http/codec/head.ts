// proxy/http/codec: the parsed shapes of HTTP/1.1 message heads, shared by parser, serializer and engine.

/** How a message body is delimited on the wire (RFC 9112 section 6). */
export type BodyKind = 'none' | 'length' | 'chunked' | 'close';

/** Parser limits. Defaults match Envoy's HCM (max_request_headers_kb 60, max_headers_count 100). */
export interface HeadLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}
export const defaultLimits: HeadLimits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

/**
 * A parsed request head. Header names are lower-cased (as Envoy forwards them); values keep their
 * bytes (latin1 strings), trimmed of surrounding whitespace. `headers` is flat: [name, value, name, value...].
 */
export class RequestHead {
  constructor(
    public method: string,
    /** The request-target exactly as received. */
    public target: string,
    /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
    public versionMinor: number,
    public headers: string[],
    /** Host header, or the authority of an absolute-form target (which then overrides Host). */
    public authority: string,
    /** The path (and query) to route on: origin-form target, or the path of an absolute-form one. */
    public path: string,
    /** Scheme of an absolute-form target (local HTTP_PROXY mode), else ''. */
    public scheme: string,
    public bodyKind: BodyKind,
    public contentLength: number,
    public keepAlive: boolean,
    /** Lower-cased Upgrade protocol when the request asks to upgrade (Connection: upgrade), else ''. */
    public upgrade: string,
    public expectContinue: boolean,
  ) {}

  /** -1 chunked (unknown length), 0 none, n exact: the form the protocol-neutral exchange uses. */
  get bodyLength(): number { return this.bodyKind === 'chunked' ? -1 : this.bodyKind === 'length' ? this.contentLength : 0; }

  get(name: string): string | undefined {
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }
}

/**
 * A parsed head's field lines as text, so a serializer can copy the lines it forwards unchanged (one substring per
 * run of lines) instead of rebuilding each as name + ': ' + value + CRLF. `text` starts at least two characters
 * before the first line (the CRLF ending the start line). Line k holds the pair headers[2k],
 * headers[2k + 1] and spans text[lines[k], lines[k + 1]) (CRLF included; the name in its received case, the value
 * with its surrounding whitespace; LINE_REBUILD marks lines not in canonical form). `headers` must not be modified while this is in use. `lines` is the parser's
 * shared scratch: it describes this head only while `stamp` is the parser's latest (rawFieldsCurrent), i.e. until
 * the next response head is parsed; a serializer given a stale one rebuilds every line instead.
 */
export interface RawFields {
  readonly headers: readonly string[];
  readonly text: string;
  readonly lines: ArrayLike<number>;
  readonly stamp: number;
}

/**
 * A RawFields line start with this bit set marks a line a serializer must rebuild rather than copy: its name is not
 * all lower case, or its value is not written as `name: value` (one space, nothing trailing). Envoy's HTTP/1.1
 * codec writes names in lower case and values with exactly that spacing; a copied line must read the same.
 */
export const LINE_REBUILD = 1 << 30;
/** The position bits of a RawFields line start. */
export const LINE_POS = LINE_REBUILD - 1;

const NO_LINES = new Int32Array(0);

export class ResponseHead implements RawFields {
  constructor(
    public status: number,
    public reason: string,
    public versionMinor: number,
    public headers: string[],
    public bodyKind: BodyKind,
    public contentLength: number,
    public keepAlive: boolean,
    /** The field lines as latin1 text from the status line's CRLF on, and where each starts in it (RawFields; stamp 0: none). */
    readonly text = '',
    readonly lines: ArrayLike<number> = NO_LINES,
    readonly stamp = 0,
  ) {}

  get(name: string): string | undefined {
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }
}

/** Result of trying to parse a head from the bytes received so far. */
export type ParseOutcome<T> =
  | { kind: 'ok'; head: T; consumed: number }
  | { kind: 'incomplete' }
  | { kind: 'error'; status: number; reason: string };

export const INCOMPLETE: { kind: 'incomplete' } = Object.freeze({ kind: 'incomplete' as const });

export function parseError(status: number, reason: string): { kind: 'error'; status: number; reason: string } {
  return { kind: 'error', status, reason };
}
