// proxy/http: apply route/virtual-host header mutations (Envoy's HeaderValueOption append actions) to flat headers.
import type { HeaderEdits } from './route-types.ts';

/** Remove every `name` entry (lower-case) at or after index `from`, in place. */
export function removeHeader(h: string[], name: string, from = 0): void {
  let w = from;
  const n = h.length;
  for (let r = from; r < n; r += 2) {
    if (h[r] !== name) { if (w !== r) { h[w] = h[r]; h[w + 1] = h[r + 1]; } w += 2; }
  }
  // A store to `length` is a runtime call (~500-700 instructions, even for the same length); dropping one pair
  // (the usual case: the peer metadata header between sidecars) is two inlined pops.
  if (w === n) return;
  if (w === n - 2) { h.pop(); h.pop(); } else h.length = w;
}

function has(h: string[], name: string): boolean {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return true;
  return false;
}

/** Set `name` to exactly one value. */
export function setHeader(h: string[], name: string, value: string): void {
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === name) { h[i + 1] = value; removeHeader(h, name, i + 2); return; }
  }
  h.push(name, value);
}

export function getHeader(h: readonly string[], name: string): string | undefined {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

/** Every value of `name` joined with ',' (Envoy's view of a repeated header for matching); undefined when absent. */
export function joinedHeader(h: readonly string[], name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) out = out === undefined ? h[i + 1] : `${out},${h[i + 1]}`;
  return out;
}

/** Each configured add list without entries whose value could break a message head (computed once per list). */
const safeAdds = new WeakMap<HeaderEdits, HeaderEdits['add']>();

/**
 * Whether a configured value can be written into an HTTP/1.1 head as is: no CR, LF or NUL (which would end the
 * line early and inject another; Envoy refuses such values in its config). The HTTP/1.1 serializer writes values
 * as given, so config values are checked here, where they enter.
 */
export function safeHeaderValue(v: string): boolean {
  return v.indexOf('\n') === -1 && v.indexOf('\r') === -1 && v.indexOf('\0') === -1;
}

function addsOf(e: HeaderEdits): HeaderEdits['add'] {
  let adds = safeAdds.get(e);
  if (adds === undefined) {
    adds = e.add.every((a) => safeHeaderValue(a.value) && safeHeaderValue(a.key)) ? e.add : e.add.filter((a) => safeHeaderValue(a.value) && safeHeaderValue(a.key));
    safeAdds.set(e, adds);
  }
  return adds;
}

/** Removes first, then adds, as Envoy does. Adds whose key or value holds CR, LF or NUL are skipped. */
export function applyHeaderEdits(h: string[], e: HeaderEdits | undefined): void {
  if (!e) return;
  for (const r of e.remove) removeHeader(h, r);
  if (e.add.length === 0) return;
  for (const a of addsOf(e)) {
    if (a.value === '' && !a.keepEmptyValue) continue;
    switch (a.action) {
      case 'APPEND_IF_EXISTS_OR_ADD': h.push(a.key, a.value); break;
      case 'ADD_IF_ABSENT': if (!has(h, a.key)) h.push(a.key, a.value); break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD': setHeader(h, a.key, a.value); break;
      case 'OVERWRITE_IF_EXISTS': if (has(h, a.key)) setHeader(h, a.key, a.value); break;
    }
  }
}
