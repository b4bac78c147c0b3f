// proxy/http/codec: response heads forwarded from a parsed upstream head copy unchanged lines (RawFields) and keep
// every forwarding rule: hop-by-hop and Connection-named headers dropped, edits applied, order and bytes kept;
// names leave in lower case and values as `name: value` (Envoy's HTTP/1.1 codec), copied or rebuilt alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponseHead } from './parser.ts';
import { forwardHeaders, serializeResponseHead } from './serialize.ts';
import type { ResponseHead } from './head.ts';
import { applyHeaderEdits, setHeader } from '../header-edits.ts';

function parsed(head: string): ResponseHead {
  const b = Buffer.from(head, 'latin1');
  const r = parseResponseHead(b, 0, b.length, 'GET');
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { head: ResponseHead }).head;
}

/** Eight plain lines after the status line: short heads are rebuilt (RAW_MIN_LINES), longer ones copy lines. */
const PAD = 'x-p1: 1\r\nx-p2: 2\r\nx-p3: 3\r\nx-p4: 4\r\nx-p5: 5\r\nx-p6: 6\r\nx-p7: 7\r\nx-p8: 8\r\n';
const PAD_FIELDS = ['x-p1', '1', 'x-p2', '2', 'x-p3', '3', 'x-p4', '4', 'x-p5', '5', 'x-p6', '6', 'x-p7', '7', 'x-p8', '8'];
function padded(head: string): string { const e = head.indexOf('\r\n') + 2; return head.slice(0, e) + PAD + head.slice(e); }

/** The exchange's response path: copy end-to-end headers, apply edits, serialize with and without the raw lines. */
function forward(head: string, edit?: (h: string[]) => void): { raw: string; built: string } {
  const p = parsed(padded(head));
  const h: string[] = [];
  forwardHeaders(p.headers, h);
  edit?.(h);
  return {
    raw: serializeResponseHead(p.status, '', h, p.bodyKind, p.contentLength, undefined, p),
    built: serializeResponseHead(p.status, '', h, p.bodyKind, p.contentLength),
  };
}

/** The head's field lines as [lower-case name, trimmed value] pairs, as a receiving parser sees them. */
function fieldsOf(head: string): string[] {
  return parsed(head).headers;
}

test('a short head is rebuilt (lower-case names, trimmed values): copying lines does not pay there', () => {
  const p = parsed('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Thing:  a b  \r\nContent-Length: 3\r\n\r\n');
  const h: string[] = [];
  forwardHeaders(p.headers, h);
  assert.equal(serializeResponseHead(200, '', h, p.bodyKind, p.contentLength, undefined, p), 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-thing: a b\r\ncontent-length: 3\r\n\r\n');
});

test('lines described by a stale RawFields (another response head parsed since) are rebuilt, not copied', () => {
  const p = parsed(padded('HTTP/1.1 200 OK\r\nX-Thing:  a  \r\nContent-Length: 3\r\n\r\n'));
  parsed(padded('HTTP/1.1 204 No Content\r\nX-Other: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n\r\n'));
  const h: string[] = [];
  forwardHeaders(p.headers, h);
  const out = serializeResponseHead(200, '', h, p.bodyKind, p.contentLength, undefined, p);
  assert.equal(out, 'HTTP/1.1 200 OK\r\n' + PAD.toLowerCase() + 'x-thing: a\r\ncontent-length: 3\r\n\r\n');
});

test('lines are copied only in canonical form: capitals in a name or other spacing are rebuilt; framing is regenerated', () => {
  const { raw, built } = forward('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nx-thing:  a b  \r\nx-ok: fine\r\nx-tab:\tt\r\nx-none:\r\nx-empty: \r\nContent-Length: 3\r\n\r\n');
  assert.equal(raw, 'HTTP/1.1 200 OK\r\n' + PAD + 'content-type: text/plain\r\nx-thing: a b\r\nx-ok: fine\r\nx-tab: t\r\nx-none: \r\nx-empty: \r\ncontent-length: 3\r\n\r\n');
  assert.equal(raw, built);
});

test('mixed-case names leave in lower case with values byte-exact, on short (rebuilt) and 8+ line (copied) heads', () => {
  const lines = 'Content-Type: text/plain\r\nDATE: Sun, 22 Nov 2026 11:01:58 GMT\r\nX-Custom-Thing: MiXeD Value \xe9\r\nETag: "AbC"\r\n' +
    'set-cookie: k=V\r\nX-Request-Id: ABC-def\r\nContent-Length: 1\r\n\r\n';
  const want = 'content-type: text/plain\r\ndate: Sun, 22 Nov 2026 11:01:58 GMT\r\nx-custom-thing: MiXeD Value \xe9\r\netag: "AbC"\r\n' +
    'set-cookie: k=V\r\nx-request-id: ABC-def\r\ncontent-length: 1\r\n\r\n';
  const short = parsed('HTTP/1.1 200 OK\r\n' + lines);
  const h: string[] = [];
  forwardHeaders(short.headers, h);
  assert.equal(serializeResponseHead(200, '', h, short.bodyKind, short.contentLength, undefined, short), 'HTTP/1.1 200 OK\r\n' + want);
  const mixedPad = PAD.replace(/x-p/g, 'X-P');
  const long = parsed('HTTP/1.1 200 OK\r\n' + PAD + lines.replace('set-cookie', 'Set-Cookie').slice(0, -2) + mixedPad.replace(/: /g, ':  ') + '\r\n');
  const h2: string[] = [];
  forwardHeaders(long.headers, h2);
  const out = serializeResponseHead(200, '', h2, long.bodyKind, long.contentLength, undefined, long);
  assert.equal(out.slice(0, out.indexOf('content-length')), 'HTTP/1.1 200 OK\r\n' + PAD + want.slice(0, want.indexOf('content-length')) + PAD);
  assert.equal(out, serializeResponseHead(200, '', h2, long.bodyKind, long.contentLength));
});

test('a header named in Connection is dropped from a raw-forwarded head, as are hop-by-hop headers', () => {
  const { raw, built } = forward('HTTP/1.1 200 OK\r\na: 1\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nb: 2\r\nContent-Length: 1\r\n\r\n');
  assert.equal(raw, 'HTTP/1.1 200 OK\r\n' + PAD + 'a: 1\r\nb: 2\r\ncontent-length: 1\r\n\r\n');
  assert.equal(raw, built);
  assert.doesNotMatch(raw, /secret|keep-alive/i);
});

test('response_headers_to_remove removes a raw line; changed and added headers are rebuilt in place', () => {
  const head = 'HTTP/1.1 200 OK\r\nx-keep: 1\r\nX-Drop: 2\r\nServer: nginx\r\nx-tail: 3\r\nContent-Length: 1\r\n\r\n';
  const { raw, built } = forward(head, (h) => {
    setHeader(h, 'server', 'envoy');
    applyHeaderEdits(h, { remove: ['x-drop'], add: [{ key: 'x-added', value: 'v', action: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }] });
  });
  assert.equal(raw, 'HTTP/1.1 200 OK\r\n' + PAD + 'x-keep: 1\r\nserver: envoy\r\nx-tail: 3\r\nx-added: v\r\ncontent-length: 1\r\n\r\n');
  assert.equal(raw, built);
});

test('obs-text bytes survive byte-exactly; duplicates keep their order', () => {
  const head = 'HTTP/1.1 200 OK\r\nSet-Cookie: a=\xe9\xff\r\nX-Dup: 1\r\nx-dup: 2\r\nSet-Cookie: b=\x80\r\nX-Dup: 3\r\nContent-Length: 1\r\n\r\n';
  const { raw, built } = forward(head);
  const bytes = Buffer.from(raw, 'latin1');
  assert.ok(bytes.includes(Buffer.from('set-cookie: a=\xe9\xff\r\nx-dup: 1\r\nx-dup: 2\r\nset-cookie: b=\x80\r\nx-dup: 3\r\n', 'latin1')));
  assert.deepEqual(fieldsOf(raw), [...PAD_FIELDS, 'set-cookie', 'a=\xe9\xff', 'x-dup', '1', 'x-dup', '2', 'set-cookie', 'b=\x80', 'x-dup', '3', 'content-length', '1']);
  assert.equal(raw, built);
});

test('a reordered or re-added value is written where the headers list puts it', () => {
  const head = 'HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 1\r\n\r\n';
  // Move A to the end (remove + append the same value): output follows the list, never the received order.
  const { raw, built } = forward(head, (h) => { h.splice(h.indexOf('a'), 2); h.push('a', '1'); });
  assert.deepEqual(fieldsOf(raw), [...PAD_FIELDS, 'b', '2', 'c', '3', 'a', '1', 'content-length', '1']);
  assert.equal(raw, built);
});

test('randomized edits: the raw path and the rebuilt path always write the same bytes', () => {
  let seed = 12345;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const names = ['A', 'b', 'X-Dup', 'x-dup', 'Server', 'Connection', 'Keep-Alive', 'Vary', 'vary', 'x-custom-name'];
  const values = ['1', ' 2 ', 'x\xe9', 'close', 'keep-alive', 'A, Vary', ''];
  for (let round = 0; round < 300; round++) {
    let head = 'HTTP/1.1 200 OK\r\n';
    const lines = 1 + rnd(8);
    for (let k = 0; k < lines; k++) head += `${names[rnd(names.length)]}:${rnd(2) ? ' ' : ''}${values[rnd(values.length)]}\r\n`;
    head += 'Content-Length: 1\r\n\r\n';
    const { raw, built } = forward(head, (h) => {
      const op = rnd(4);
      if (op === 0) setHeader(h, 'server', 'envoy');
      else if (op === 1) applyHeaderEdits(h, { remove: ['x-dup'], add: [] });
      else if (op === 2 && h.length > 2) { const [n, v] = h.splice(0, 2); h.push(n!, v!); }
      h.push('x-envoy-upstream-service-time', String(rnd(10)));
    });
    assert.equal(raw, built, head);
    for (const l of raw.split('\r\n').slice(1, -2)) assert.equal(l.slice(0, l.indexOf(':')), l.slice(0, l.indexOf(':')).toLowerCase());
  }
});
