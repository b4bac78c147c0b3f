// test/helpers: seeded mutation for robustness tests — replace (or drop) one random node inside a config spec with a
// value of the wrong shape, as a partly validated store could hold; the same seed gives the same mutation.

/** Replace one random node inside `o` by a copy of a value from `odd`, or (30 %, object keys only) delete it. */
export function mutate(o: unknown, r: () => number, odd: readonly unknown[]): void {
  const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => { paths.push({ parent: v, key: i }); walk(x); });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { paths.push({ parent: v as Record<string, unknown>, key: k }); walk(x); }
  };
  walk(o);
  if (!paths.length) return;
  const p = paths[Math.floor(r() * paths.length)]!;
  const val = structuredClone(odd[Math.floor(r() * odd.length)]);
  if (r() < 0.3 && !Array.isArray(p.parent)) delete (p.parent as Record<string, unknown>)[p.key as string];
  else (p.parent as Record<string | number, unknown>)[p.key] = val;
}
