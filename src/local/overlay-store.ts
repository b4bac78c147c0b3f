// local: the config store `rig up` serves from — the watched config directory underneath, and on top the objects
// `rig up` generates (WorkloadEntries for its workloads) and those `rig apply` / `rig delete` change while it runs.
// Applied objects live as long as the mesh does; to keep a change, put the file in the config directory.
import type { ConfigEvent, ConfigKey, ConfigObject, ConfigStore, ValidationIssue } from '../config/types.ts';
import { keyOf } from '../config/types.ts';
import { validateObject } from '../config/load.ts';

export class OverlayStore implements ConfigStore {
  private readonly top = new Map<string, ConfigObject>();
  private readonly hidden = new Set<string>(); // keys deleted with `rig delete` that the directory still defines
  private readonly handlers = new Set<(events: ConfigEvent[]) => void>();
  private readonly unwatchBase: () => void;

  constructor(private readonly base: ConfigStore) {
    this.unwatchBase = base.watch((events) => {
      const visible = events.filter((e) => !this.top.has(keyOf(e.object)) && !this.hidden.has(keyOf(e.object)));
      if (visible.length) this.emit(visible);
    });
  }

  list(kind?: string, namespace?: string): ConfigObject[] {
    const out = new Map<string, ConfigObject>();
    for (const o of this.base.list(kind, namespace)) {
      const k = keyOf(o);
      if (!this.hidden.has(k)) out.set(k, o);
    }
    for (const [k, o] of this.top) {
      if ((kind === undefined || o.kind === kind) && (namespace === undefined || o.metadata.namespace === namespace)) out.set(k, o);
    }
    return [...out.values()];
  }

  get(kind: string, namespace: string, name: string): ConfigObject | undefined {
    const k = `${kind}/${namespace}/${name}`;
    if (this.top.has(k)) return this.top.get(k);
    if (this.hidden.has(k)) return undefined;
    return this.base.get(kind, namespace, name);
  }

  watch(handler: (events: ConfigEvent[]) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  issues(): ValidationIssue[] { return this.base.issues(); }

  /** Issues change without object events when a file stops parsing (its last good objects keep serving). */
  onIssues(handler: (issues: ValidationIssue[]) => void): () => void {
    return this.base.onIssues?.(handler) ?? (() => {});
  }

  /** Validates every object first; applies none if any has an error (all or nothing, like kubectl apply of one file). */
  async apply(objects: ConfigObject[]): Promise<ValidationIssue[]> {
    const problems = objects.flatMap((o) => validateObject(o)).filter((i) => i.severity === 'error');
    if (problems.length) return problems;
    const events: ConfigEvent[] = [];
    for (const o of objects) {
      const k = keyOf(o);
      const existed = this.get(o.kind, o.metadata.namespace, o.metadata.name) !== undefined;
      this.hidden.delete(k);
      this.top.set(k, o);
      events.push({ type: existed ? 'update' : 'add', object: o });
    }
    if (events.length) this.emit(events);
    return [];
  }

  async delete(keys: ConfigKey[]): Promise<void> {
    const events: ConfigEvent[] = [];
    for (const key of keys) {
      const k = `${key.kind}/${key.namespace}/${key.name}`;
      const current = this.get(key.kind, key.namespace, key.name);
      if (!current) continue;
      this.top.delete(k);
      if (this.base.get(key.kind, key.namespace, key.name)) this.hidden.add(k);
      events.push({ type: 'delete', object: current });
    }
    if (events.length) this.emit(events);
  }

  /** Whether an object is currently visible (used by `rig delete` to report what it did not find). */
  has(key: ConfigKey): boolean { return this.get(key.kind, key.namespace, key.name) !== undefined; }

  async close(): Promise<void> {
    this.unwatchBase();
    await this.base.close();
  }

  private emit(events: ConfigEvent[]): void {
    for (const h of this.handlers) h(events);
  }
}
