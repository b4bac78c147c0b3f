// common: every setting read from the environment, declared once with name, default and meaning.
// This is the only module that reads process.env.

interface Setting<T> { env: string; default: T; description: string; parse: (s: string) => T }

const str = (env: string, def: string, description: string): Setting<string> => ({ env, default: def, description, parse: (s) => s });
const num = (env: string, def: number, description: string): Setting<number> => ({ env, default: def, description, parse: (s) => Number(s) });
const bool = (env: string, def: boolean, description: string): Setting<boolean> => ({ env, default: def, description, parse: (s) => s === '1' || s.toLowerCase() === 'true' });

export const settingDefs = {
  logLevel: str('RIG_LOG_LEVEL', 'info', 'pino log level: trace, debug, info, warn, error, silent'),
  debounceMs: num('RIG_DEBOUNCE_MS', 100, 'control plane: quiet period after a config change before a push (ms), like PILOT_DEBOUNCE_AFTER'),
  debounceMaxMs: num('RIG_DEBOUNCE_MAX_MS', 1000, 'control plane: longest a push may be delayed by a stream of changes (ms), like PILOT_DEBOUNCE_MAX'),
  domainSuffix: str('RIG_DOMAIN_SUFFIX', 'cluster.local', 'DNS suffix of in-mesh service names'),
  proxyH2: str('RIG_PROXY_H2', 'native', "proxy: HTTP/2 codec, 'native' (src/proxy/http/h2) or 'node' (node:http2's API, the fallback)"),
  updateGolden: bool('RIG_UPDATE_GOLDEN', false, 'tests: rewrite golden files under test/golden from current output instead of comparing (1/true)'),
} as const;

type Values = { [K in keyof typeof settingDefs]: (typeof settingDefs)[K]['default'] };

function read(): Values {
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(settingDefs)) {
    const raw = process.env[d.env];
    out[k] = raw === undefined || raw === '' ? d.default : (d as Setting<unknown>).parse(raw);
  }
  return out as Values;
}

export const settings: Values = read();

/** The environment a child process of ours should get (used by `rig up`). */
export function processEnv(): NodeJS.ProcessEnv { return process.env; }
