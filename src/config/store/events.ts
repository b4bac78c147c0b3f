// config/store: shared pieces of every store — batched watchers and the diff of two views into ConfigEvents.
import type { ConfigEvent, ConfigObject } from '../types.ts';
import { keyOf } from '../types.ts';
import { logger } from '../../common/logger.ts';

const log = logger('config/store');

/** Subscribers to batches of changes. A throwing handler is logged and does not stop the others. */
export class Watchers {
  private readonly handlers = new Set<(events: ConfigEvent[]) => void>();
  add(handler: (events: ConfigEvent[]) => void): () => void {
    // Wrap so the same function may subscribe twice and unsubscribe each independently.
    const h = (ev: ConfigEvent[]) => handler(ev);
    this.handlers.add(h);
    return () => { this.handlers.delete(h); };
  }
  emit(events: ConfigEvent[]): void {
    if (events.length === 0) return;
    for (const h of [...this.handlers]) {
      try { h(events); } catch (e) { log.error({ err: e }, 'config watch handler threw'); }
    }
  }
  clear(): void { this.handlers.clear(); }
  get size(): number { return this.handlers.size; }
}

/** Content of an object for change detection: where it came from (`source`) does not count. */
function contentOf(o: ConfigObject): string {
  return JSON.stringify({ a: o.apiVersion, k: o.kind, m: o.metadata, s: o.spec, e: o.extra });
}

/** Events turning view `before` into `after` (both keyed by keyOf), sorted by key so batches are deterministic. */
export function diffViews(before: ReadonlyMap<string, ConfigObject>, after: ReadonlyMap<string, ConfigObject>): ConfigEvent[] {
  const out: ConfigEvent[] = [];
  const keys = new Set([...before.keys(), ...after.keys()]);
  for (const k of [...keys].sort()) {
    const a = before.get(k);
    const b = after.get(k);
    if (a && !b) out.push({ type: 'delete', object: a });
    else if (!a && b) out.push({ type: 'add', object: b });
    else if (a && b && a !== b && contentOf(a) !== contentOf(b)) out.push({ type: 'update', object: b });
  }
  return out;
}

/** Objects of a view, filtered by kind/namespace and sorted by key. */
export function listView(view: ReadonlyMap<string, ConfigObject>, kind?: string, namespace?: string): ConfigObject[] {
  const out: ConfigObject[] = [];
  for (const k of [...view.keys()].sort()) {
    const o = view.get(k)!;
    if (kind !== undefined && o.kind !== kind) continue;
    if (namespace !== undefined && o.metadata.namespace !== namespace) continue;
    out.push(o);
  }
  return out;
}

export function viewKey(kind: string, namespace: string, name: string): string {
  return keyOf({ kind, metadata: { namespace, name } });
}
