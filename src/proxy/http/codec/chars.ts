// proxy/http/codec: byte classification tables for strict HTTP/1.1 parsing (RFC 9110 token, field-value, target chars).

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;

/** field-value bytes: HTAB, SP, VCHAR, obs-text. Excludes every other CTL and DEL. */
export const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

/** request-target bytes: visible ASCII only (no SP, CTL, DEL, or obs-text); like llhttp's strict URL chars. */
export const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
export const COLON = 58;

/** Find a LF that is not preceded by CR in buf[from, to): the sign of a bare-LF line ending. */
export function hasBareLf(buf: Uint8Array, from: number, to: number): boolean {
  let i = buf.indexOf(LF, from);
  while (i !== -1 && i < to) {
    if (i === 0 || buf[i - 1] !== CR) return true;
    i = buf.indexOf(LF, i + 1);
  }
  return false;
}
