// proxy/tls: Envoy's tls_inspector — reads the first bytes of a connection to tell TLS from plaintext and, for
// TLS, the ClientHello's SNI and ALPN list (filter chain match inputs). Pure parsing; nothing is consumed here.

export type Inspection =
  | { kind: 'tls'; serverName?: string; alpn: string[] }
  | { kind: 'raw' }
  | { kind: 'more' }; // need more bytes to decide

/** Longest ClientHello we wait for (Envoy's default max_client_hello_size is 16 KiB). */
export const MAX_CLIENT_HELLO = 16 * 1024;

export function inspectClientHello(b: Buffer): Inspection {
  if (b.length < 1) return { kind: 'more' };
  if (b[0] !== 0x16) return { kind: 'raw' }; // not a handshake record
  if (b.length < 3) return { kind: 'more' };
  if (b[1] !== 0x03) return { kind: 'raw' };
  if (b.length < 5) return { kind: 'more' };
  const recLen = b.readUInt16BE(3);
  const need = Math.min(5 + recLen, MAX_CLIENT_HELLO);
  if (b.length < need) return { kind: 'more' };
  try {
    return parseHello(b.subarray(5, 5 + recLen));
  } catch {
    return { kind: 'tls', alpn: [] }; // a TLS record we cannot read: still TLS (a fragmented hello)
  }
}

function parseHello(h: Buffer): Inspection {
  if (h[0] !== 0x01) return { kind: 'tls', alpn: [] }; // not a ClientHello
  let p = 4 + 2 + 32; // handshake header, client_version, random
  p += 1 + h[p]!; // session id
  p += 2 + h.readUInt16BE(p); // cipher suites
  p += 1 + h[p]!; // compression methods
  if (p + 2 > h.length) return { kind: 'tls', alpn: [] };
  const end = Math.min(h.length, p + 2 + h.readUInt16BE(p));
  p += 2;
  let serverName: string | undefined;
  const alpn: string[] = [];
  while (p + 4 <= end) {
    const type = h.readUInt16BE(p);
    const len = h.readUInt16BE(p + 2);
    const body = h.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (type === 0 && body.length >= 5) {
      // server_name list: first host_name entry
      if (body[2] === 0) serverName = body.subarray(5, 5 + body.readUInt16BE(3)).toString('latin1').toLowerCase();
    } else if (type === 16 && body.length >= 2) {
      let q = 2;
      const listEnd = Math.min(body.length, 2 + body.readUInt16BE(0));
      while (q < listEnd) {
        const n = body[q]!;
        alpn.push(body.subarray(q + 1, q + 1 + n).toString('latin1'));
        q += 1 + n;
      }
    }
  }
  return serverName ? { kind: 'tls', serverName, alpn } : { kind: 'tls', alpn };
}
