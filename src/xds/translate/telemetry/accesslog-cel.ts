// xds/translate/telemetry: the common forms of a Telemetry accessLogging filter.expression (CEL in Istio) translated
// into Envoy's native AccessLogFilter, so proxies need no CEL engine. Supported: response.code and response.duration
// compared with a number (duration also with duration('250ms')), response.flags set / unset, request.headers['x']
// ==/!= 'v', &&, ||, parentheses. Anything else yields an error message and no filter. Pure.
import type { EnvoyResource } from '../types.ts';
import { parseGoDuration } from '../../../common/duration.ts';

export type CelResult = { filter: EnvoyResource; error?: undefined } | { filter?: undefined; error: string };

type Tok = { t: 'num' | 'str' | 'id' | 'op' | 'p'; v: string };

const TOKEN_RE = /\s*(?:(\d+(?:\.\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*)|(&&|\|\||==|!=|>=|<=|>|<)|([()[\]]))/y;

function tokenize(src: string): Tok[] | undefined {
  const out: Tok[] = [];
  TOKEN_RE.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(src);
    if (!m) return undefined;
    pos = TOKEN_RE.lastIndex;
    if (m[1] !== undefined) out.push({ t: 'num', v: m[1] });
    else if (m[2] !== undefined) out.push({ t: 'str', v: m[2].replace(/\\(.)/g, '$1') });
    else if (m[3] !== undefined) out.push({ t: 'str', v: m[3].replace(/\\(.)/g, '$1') });
    else if (m[4] !== undefined) out.push({ t: 'id', v: m[4] });
    else if (m[5] !== undefined) out.push({ t: 'op', v: m[5] });
    else out.push({ t: 'p', v: m[6]! });
  }
  return out;
}

class Unsupported extends Error {}

// Envoy's ComparisonFilter value is a RuntimeUInt32: runtime_key must be non-empty; no runtime layer overrides it here.
const cmp = (kind: 'status_code_filter' | 'duration_filter', op: 'EQ' | 'GE' | 'LE', n: number): EnvoyResource => ({
  [kind]: { comparison: { op, value: { default_value: n, runtime_key: kind === 'status_code_filter' ? 'access_log.status_code' : 'access_log.duration' } } },
});

/** Envoy compares with EQ, GE and LE only (integers): the other operators are rewritten in those terms. */
function comparison(kind: 'status_code_filter' | 'duration_filter', op: string, n: number): EnvoyResource {
  const c = (o: 'EQ' | 'GE' | 'LE', v: number) => cmp(kind, o, v);
  const never = { and_filter: { filters: [c('LE', 0), c('GE', 1)] } }; // no value satisfies both
  switch (op) {
    case '>=': return c('GE', Math.ceil(n));
    case '>': return c('GE', Math.floor(n) + 1);
    case '<=': return c('LE', Math.floor(n));
    case '<': return Math.ceil(n) - 1 < 0 ? never : c('LE', Math.ceil(n) - 1);
    case '==': return Number.isInteger(n) ? c('EQ', n) : never;
    case '!=': {
      if (!Number.isInteger(n)) return c('GE', 0);
      return n === 0 ? c('GE', 1) : { or_filter: { filters: [c('LE', n - 1), c('GE', n + 1)] } };
    }
  }
  throw new Unsupported(`operator ${op}`);
}

const FLIP: Record<string, string> = { '>': '<', '<': '>', '>=': '<=', '<=': '>=', '==': '==', '!=': '!=' };

class Parser {
  i = 0;
  constructor(private readonly toks: Tok[]) {}
  peek(): Tok | undefined { return this.toks[this.i]; }
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new Unsupported('unexpected end');
    return t;
  }
  expect(v: string): void {
    const t = this.next();
    if (t.v !== v || (t.t !== 'p' && t.t !== 'op')) throw new Unsupported(`expected ${v}`);
  }
  done(): boolean { return this.i >= this.toks.length; }

  or(): EnvoyResource {
    const parts = [this.and()];
    while (this.peek()?.v === '||' && this.peek()?.t === 'op') { this.i++; parts.push(this.and()); }
    return parts.length === 1 ? parts[0]! : { or_filter: { filters: parts } };
  }
  and(): EnvoyResource {
    const parts = [this.primary()];
    while (this.peek()?.v === '&&' && this.peek()?.t === 'op') { this.i++; parts.push(this.primary()); }
    return parts.length === 1 ? parts[0]! : { and_filter: { filters: parts } };
  }
  primary(): EnvoyResource {
    const t = this.peek();
    if (t?.t === 'p' && t.v === '(') {
      this.i++;
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (t?.t === 'id' && t.v === 'has') {
      this.i++;
      this.expect('(');
      const a = this.next();
      this.expect(')');
      if (a.t === 'id' && a.v === 'response.flags') return { response_flag_filter: {} };
      throw new Unsupported(`has(${a.v})`);
    }
    // operand op operand, either order (a literal may be on the left)
    const left = this.operand();
    const opTok = this.next();
    if (opTok.t !== 'op' || !FLIP[opTok.v]) throw new Unsupported(`operator ${opTok.v}`);
    const right = this.operand();
    if (left.kind === 'attr' && right.kind !== 'attr') return this.compare(left, opTok.v, right);
    if (right.kind === 'attr' && left.kind !== 'attr') return this.compare(right, FLIP[opTok.v]!, left);
    throw new Unsupported('comparison needs one attribute and one literal');
  }
  operand(): { kind: 'attr'; name: string; header?: string } | { kind: 'num'; v: number } | { kind: 'str'; v: string } {
    const t = this.next();
    if (t.t === 'num') return { kind: 'num', v: Number(t.v) };
    if (t.t === 'str') return { kind: 'str', v: t.v };
    if (t.t !== 'id') throw new Unsupported(`unexpected ${t.v}`);
    if (t.v === 'duration' && this.peek()?.v === '(') {
      this.i++;
      const s = this.next();
      this.expect(')');
      const ns = s.t === 'str' ? parseGoDuration(s.v) : undefined; // CEL's duration() takes Go's syntax
      if (ns === undefined) throw new Unsupported(`duration(${s.v})`);
      return { kind: 'num', v: ns / 1e6 };
    }
    if (t.v === 'request.headers' && this.peek()?.v === '[') {
      this.i++;
      const h = this.next();
      this.expect(']');
      if (h.t !== 'str' || !h.v) throw new Unsupported('header name must be a string');
      return { kind: 'attr', name: t.v, header: h.v.toLowerCase() };
    }
    if (['response.code', 'response.duration', 'response.flags'].includes(t.v)) return { kind: 'attr', name: t.v };
    throw new Unsupported(`attribute ${t.v}`);
  }
  compare(a: { name: string; header?: string }, op: string, lit: { kind: 'num'; v: number } | { kind: 'str'; v: string }): EnvoyResource {
    if (a.name === 'response.code' && lit.kind === 'num') return comparison('status_code_filter', op, lit.v);
    if (a.name === 'response.duration' && lit.kind === 'num') return comparison('duration_filter', op, lit.v);
    if (a.name === 'response.flags') {
      // response.flags is Envoy's bitmask (0 = none); Istio's docs also show the text form ('-' = none)
      const none = (lit.kind === 'num' && lit.v === 0) || (lit.kind === 'str' && lit.v === '-');
      if (none && op === '!=') return { response_flag_filter: {} };
      throw new Unsupported(`response.flags ${op} ${lit.v}`);
    }
    if (a.name === 'request.headers' && lit.kind === 'str' && (op === '==' || op === '!=')) {
      return { header_filter: { header: { name: a.header, string_match: { exact: lit.v }, ...(op === '!=' ? { invert_match: true } : {}) } } };
    }
    throw new Unsupported(`${a.name} ${op} ${lit.kind === 'str' ? `'${lit.v}'` : lit.v}`);
  }
}

/** The AccessLogFilter for a CEL expression, or why it cannot be translated. */
export function celToAccessLogFilter(expression: string): CelResult {
  const toks = tokenize(expression);
  if (!toks || toks.length === 0) return { error: `filter expression not supported: ${JSON.stringify(expression)}` };
  try {
    const p = new Parser(toks);
    const filter = p.or();
    if (!p.done()) throw new Unsupported('trailing input');
    return { filter };
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return { error: `filter expression not supported: ${JSON.stringify(expression)} (${e.message})` };
  }
}
