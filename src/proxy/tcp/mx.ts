// proxy/tcp: Istio's TCP metadata exchange (ALPN "istio-peer-exchange") — the frame each sidecar sends first on an
// mTLS TCP connection: 4-byte magic 0x3D230467 and a 4-byte length (both big-endian), then a serialized
// google.protobuf.Any holding a Struct {"x-envoy-peer-metadata": <node metadata>, "x-envoy-peer-metadata-id": <node id>}.
// Encoded and decoded here by hand (a few protobuf wire rules), so the exchange costs no proto loading.

export const MX_ALPN = 'istio-peer-exchange';
export const MX_MAGIC = 0x3d230467;
const STRUCT_URL = 'type.googleapis.com/google.protobuf.Struct';
const KEY_METADATA = 'x-envoy-peer-metadata';
const KEY_ID = 'x-envoy-peer-metadata-id';
/** A peer's frame larger than this is not metadata: the exchange fails (and the connection is closed). */
const MX_MAX_BYTES = 64 * 1024;

/** Node metadata keys worth telling a peer (Istio exchanges the workload's identity fields, not its proxy config). */
const EXCHANGED = ['NAME', 'NAMESPACE', 'LABELS', 'WORKLOAD_NAME', 'CLUSTER_ID', 'OWNER', 'MESH_ID', 'SERVICE_ACCOUNT', 'APP_CONTAINERS', 'INSTANCE_IPS', 'PLATFORM_METADATA', 'ISTIO_VERSION'];

export interface MxPeer { id: string; metadata: Record<string, unknown> }

// ---------------------------------------------------------------------------------------------------------------
// protobuf wire encoding of Struct / Value / ListValue / Any

function varint(out: number[], n: number): void {
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
}

function bytesField(out: number[], field: number, b: Uint8Array): void {
  varint(out, (field << 3) | 2);
  varint(out, b.length);
  for (let i = 0; i < b.length; i++) out.push(b[i]!);
}

function encodeValue(v: unknown): Uint8Array {
  const out: number[] = [];
  if (v === null || v === undefined) { varint(out, (1 << 3) | 0); varint(out, 0); }
  else if (typeof v === 'number') { varint(out, (2 << 3) | 1); const b = Buffer.alloc(8); b.writeDoubleLE(v); for (const x of b) out.push(x); }
  else if (typeof v === 'string') bytesField(out, 3, Buffer.from(v, 'utf8'));
  else if (typeof v === 'boolean') { varint(out, (4 << 3) | 0); varint(out, v ? 1 : 0); }
  else if (Array.isArray(v)) {
    const list: number[] = [];
    for (const e of v) bytesField(list, 1, encodeValue(e));
    bytesField(out, 6, Uint8Array.from(list));
  } else bytesField(out, 5, encodeStruct(v as Record<string, unknown>));
  return Uint8Array.from(out);
}

function encodeStruct(o: Record<string, unknown>): Uint8Array {
  const out: number[] = [];
  // Sorted keys: deterministic bytes, as Envoy serializes them.
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    const entry: number[] = [];
    bytesField(entry, 1, Buffer.from(k, 'utf8'));
    bytesField(entry, 2, encodeValue(o[k]));
    bytesField(out, 1, Uint8Array.from(entry));
  }
  return Uint8Array.from(out);
}

/** This proxy's exchange frame (built once per proxy: the node does not change). */
export function encodeMxFrame(node: MxPeer): Buffer {
  const md: Record<string, unknown> = {};
  for (const k of EXCHANGED) if (node.metadata[k] !== undefined) md[k] = node.metadata[k];
  const any: number[] = [];
  bytesField(any, 1, Buffer.from(STRUCT_URL, 'utf8'));
  bytesField(any, 2, encodeStruct({ [KEY_METADATA]: md, [KEY_ID]: node.id }));
  const frame = Buffer.allocUnsafe(8 + any.length);
  frame.writeUInt32BE(MX_MAGIC, 0);
  frame.writeUInt32BE(any.length, 4);
  Buffer.from(any).copy(frame, 8);
  return frame;
}

// ---------------------------------------------------------------------------------------------------------------
// decoding

class Wire {
  pos: number;
  constructor(readonly b: Buffer, start: number, readonly end: number) { this.pos = start; }
  varint(): number {
    let n = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const x = this.b[this.pos++]!;
      n += (x & 0x7f) * mul;
      if (x < 0x80) return n;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  /** [field, wireType, start, end] of the next field; length-delimited fields give their payload range. */
  next(): [number, number, number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8), wt = tag & 7;
    const start = this.pos;
    if (wt === 0) { this.varint(); return [field, wt, start, this.pos]; }
    if (wt === 1) { this.pos += 8; } else if (wt === 5) { this.pos += 4; } else if (wt === 2) {
      const n = this.varint();
      const s = this.pos;
      this.pos += n;
      if (this.pos > this.end) throw new Error('truncated field');
      return [field, wt, s, this.pos];
    } else throw new Error(`unsupported wire type ${wt}`);
    if (this.pos > this.end) throw new Error('truncated field');
    return [field, wt, start, this.pos];
  }
}

function decodeValue(b: Buffer, s: number, e: number, depth: number): unknown {
  if (depth > 32) throw new Error('metadata nested too deeply');
  const w = new Wire(b, s, e);
  let v: unknown = null;
  while (w.pos < e) {
    const [f, wt, fs, fe] = w.next();
    if (f === 1 && wt === 0) v = null;
    else if (f === 2 && wt === 1) v = b.readDoubleLE(fs);
    else if (f === 3 && wt === 2) v = b.toString('utf8', fs, fe);
    else if (f === 4 && wt === 0) v = b[fs] !== 0;
    else if (f === 5 && wt === 2) v = decodeStruct(b, fs, fe, depth + 1);
    else if (f === 6 && wt === 2) {
      const list: unknown[] = [];
      const lw = new Wire(b, fs, fe);
      while (lw.pos < fe) { const [lf, lwt, ls, le] = lw.next(); if (lf === 1 && lwt === 2) list.push(decodeValue(b, ls, le, depth + 1)); }
      v = list;
    }
  }
  return v;
}

function decodeStruct(b: Buffer, s: number, e: number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const w = new Wire(b, s, e);
  while (w.pos < e) {
    const [f, wt, fs, fe] = w.next();
    if (f !== 1 || wt !== 2) continue;
    let key: string | undefined, value: unknown = null;
    const ew = new Wire(b, fs, fe);
    while (ew.pos < fe) {
      const [ef, ewt, es, ee] = ew.next();
      if (ef === 1 && ewt === 2) key = b.toString('utf8', es, ee);
      else if (ef === 2 && ewt === 2) value = decodeValue(b, es, ee, depth);
    }
    if (key !== undefined && key !== '__proto__') out[key] = value;
  }
  return out;
}

/** The peer in a frame's payload (the Any); throws on anything that is not Istio's exchange. */
export function decodeMxPayload(b: Buffer): MxPeer {
  const w = new Wire(b, 0, b.length);
  let url = '', vs = -1, ve = -1;
  while (w.pos < b.length) {
    const [f, wt, s, e] = w.next();
    if (f === 1 && wt === 2) url = b.toString('utf8', s, e);
    else if (f === 2 && wt === 2) { vs = s; ve = e; }
  }
  if (url !== STRUCT_URL) throw new Error(`metadata exchange carries ${url || 'no type'}, not a Struct`);
  const st = vs < 0 ? {} : decodeStruct(b, vs, ve);
  const md = st[KEY_METADATA];
  const id = st[KEY_ID];
  return { id: typeof id === 'string' ? id : '', metadata: md && typeof md === 'object' && !Array.isArray(md) ? md as Record<string, unknown> : {} };
}

/**
 * Reads the peer's frame off the start of a stream, chunk by chunk. `push` answers undefined while it needs more
 * bytes, else the outcome: the peer (or why not) and the bytes after the frame. Bytes that do not start with the
 * magic are not an exchange: they all come back as `rest` (the peer did not speak it; Istio then marks it unknown).
 */
export class MxReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { peer?: MxPeer; error?: string; rest: Buffer; /** the frame's size when one was read */ bytes?: number } | undefined {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const b = this.buf;
    if (b.length < 4) return b.subarray(0, b.length).equals(MAGIC_BYTES.subarray(0, b.length)) ? undefined : { error: 'no exchange header', rest: b };
    if (b.readUInt32BE(0) !== MX_MAGIC) return { error: 'no exchange header', rest: b };
    if (b.length < 8) return undefined;
    const size = b.readUInt32BE(4);
    if (size > MX_MAX_BYTES) return { error: `exchange frame of ${size} bytes`, rest: Buffer.alloc(0) };
    if (b.length < 8 + size) return undefined;
    const rest = b.subarray(8 + size);
    try {
      return { peer: decodeMxPayload(b.subarray(8, 8 + size)), rest, bytes: 8 + size };
    } catch (e) {
      return { error: (e as Error).message, rest, bytes: 8 + size };
    }
  }
}

const MAGIC_BYTES = Buffer.from([0x3d, 0x23, 0x04, 0x67]);
