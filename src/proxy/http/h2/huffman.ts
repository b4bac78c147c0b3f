// proxy/http/h2: HPACK's Huffman code (RFC 7541 Appendix B) — decoding by a 4-bit state machine built at load time.
//
// The code is canonical: every symbol's code follows from the code lengths alone (codes assigned in order of length,
// then symbol), so only the 257 lengths are written here (symbol 256 is EOS). The decoder walks the code tree four
// bits at a time: 256 internal nodes x 16 nibbles, each entry giving the next node and the symbol completed on the
// way (at most one: no code is shorter than 5 bits).

/** Code length in bits of each symbol 0..255, then EOS (256). */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Canonical codes from the lengths: [code, length] per symbol. */
function canonicalCodes(): { codes: number[]; lengths: number[] } {
  const order = LENGTHS.map((_, s) => s).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  const codes = new Array<number>(LENGTHS.length).fill(0);
  let code = 0, prev = 0;
  for (const s of order) {
    const len = LENGTHS[s]!;
    code = code * 2 ** (len - prev); // may exceed 2^31 in intermediate steps: no bit operators
    prev = len;
    codes[s] = code;
    code++;
  }
  return { codes, lengths: LENGTHS };
}

/** Symbol codes and lengths (for an encoder and for tests). */
export const HUFFMAN = canonicalCodes();

// Tree: node 0 is the root; children[2n], children[2n+1] hold a child node id (>= 0) or ~symbol (< 0) for a leaf.
function buildTree(): { children: Int32Array; count: number; depth: Uint8Array; ones: Uint8Array } {
  const children = new Int32Array(2 * 512).fill(0x7fffffff);
  const depth = new Uint8Array(512);
  const ones = new Uint8Array(512); // 1: the path from the root to this node is all 1 bits
  ones[0] = 1;
  let count = 1;
  for (let s = 0; s < LENGTHS.length; s++) {
    const len = LENGTHS[s]!, code = HUFFMAN.codes[s]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const slot = 2 * node + bit;
      if (i === 0) { children[slot] = ~s; break; }
      let next = children[slot]!;
      if (next === 0x7fffffff) {
        next = count++;
        children[slot] = next;
        depth[next] = depth[node]! + 1;
        ones[next] = ones[node]! & bit;
      }
      node = next;
    }
  }
  return { children, count, depth, ones };
}

/**
 * Decoder table: entry [node * 16 + nibble] = next node | (symbol + 1) << 9 | FAIL. A node is "accepting" when the
 * bits read since the last symbol are all 1s and fewer than 8: a string may end there (RFC 7541 5.2 padding).
 */
const FAIL = 1 << 20;
const { table: DECODE, accepting: ACCEPTING } = (() => {
  const { children, count, depth, ones } = buildTree();
  const table = new Int32Array(count * 16);
  const accepting = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    accepting[n] = n === 0 || (ones[n] === 1 && depth[n]! < 8) ? 1 : 0;
    for (let v = 0; v < 16; v++) {
      let node = n, sym = -1, fail = 0;
      for (let b = 3; b >= 0; b--) {
        const c = children[2 * node + ((v >> b) & 1)]!;
        if (c < 0) {
          if (~c === EOS) { fail = FAIL; break; } // EOS inside a string is an error
          sym = ~c;
          node = 0;
        } else node = c;
      }
      table[n * 16 + v] = fail ? FAIL : node | ((sym + 1) << 9);
    }
  }
  return { table, accepting };
})();

let scratch = Buffer.allocUnsafe(4096);

/**
 * Decode buf[start, end) as a Huffman-coded string (latin1). undefined: invalid (EOS inside, padding longer than
 * 7 bits or not all 1s) — a COMPRESSION_ERROR.
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string | undefined {
  // at most 8 symbols per 5 bits: a decoded string is shorter than 8/5 of its code
  const max = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  const out = scratch;
  let o = 0, node = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    let e = DECODE[node * 16 + (byte >> 4)]!;
    if (e & FAIL) return undefined;
    if (e >> 9) out[o++] = (e >> 9) - 1;
    node = e & 0x1ff;
    e = DECODE[node * 16 + (byte & 15)]!;
    if (e & FAIL) return undefined;
    if (e >> 9) out[o++] = (e >> 9) - 1;
    node = e & 0x1ff;
  }
  if (!ACCEPTING[node]) return undefined;
  return out.toString('latin1', 0, o);
}

/** Huffman-encode a latin1 string (for tests and for encoders that want the shorter form). */
export function huffmanEncode(s: string): Buffer {
  const bytes: number[] = [];
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    const code = HUFFMAN.codes[c]!, len = HUFFMAN.lengths[c]!;
    for (let b = len - 1; b >= 0; b--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** b) % 2);
      if (++bits === 8) { bytes.push(acc); acc = 0; bits = 0; }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff); // pad with EOS's leading 1s
  return Buffer.from(bytes);
}
