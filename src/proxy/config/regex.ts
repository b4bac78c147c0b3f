// proxy/config: translates Envoy's RE2 regexes into JavaScript RegExp source at decode time, so every consumer compiles
// the same thing. Handles what differs in practice: (?P<name>...) groups, \A and \z anchors, and a leading (?i).
// Other RE2-only syntax that JS rejects surfaces as a decode error (NACK), never as a silent mismatch.

export interface TranslatedRegex {
  source: string;
  /** The regex began with (?i). */
  ignoreCase: boolean;
}

/** RE2 -> JS source; undefined error when the result compiles. */
export function translateRe2(re: string): { value?: TranslatedRegex; error?: string } {
  let src = re;
  let ignoreCase = false;
  if (src.startsWith('(?i)')) {
    ignoreCase = true;
    src = src.slice(4);
  }
  if (/\(\?[a-zA-Z]*[imsU][a-zA-Z-]*[:)]/.test(src)) return { error: 'inline flags other than a leading (?i) are not supported' };
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length) {
      const n = src[i + 1]!;
      if (!inClass && n === 'A') out += '^';
      else if (!inClass && n === 'z') out += '$';
      else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') inClass = true;
    if (c === '(' && src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    out += c;
  }
  try {
    new RegExp(out, ignoreCase ? 'i' : '');
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { value: { source: out, ignoreCase } };
}
